"""What the scripts other than the trainers are told, one options dataclass apiece, and the
paths every script shares (the data folder, the run folders, the bundle), each default said
once. Fields made with vae.flags.flag are the scripts' flags. No TensorFlow here: --help answers
at once. The trainers' options are in vae/train/options.py and use the same paths."""
from dataclasses import dataclass

from vae.argtypes import (
    finite_float,
    non_negative_int,
    parse_finite,
    port_number,
    positive_int,
    random_seed,
    unit_float,
    value_type,
)
from vae.data import datafolder, holdout
from vae.flags import flag, nested
from vae.media import frames
from vae.models.precision import PRECISIONS
from vae.stylize.settings import RenderOptions, StyleSettings, border_crop

DATA = "data"
BUNDLE = "exported"
VAE_RUN = "runs/vae"
REFINER_RUN = "runs/refiner"
PAINTER_RUN = "runs/painter"
PRECISION_HELP = ("arithmetic of {what}: auto picks what the hardware runs natively: bfloat16 on "
                  "CPUs with AVX512_BF16 or AMX and on GPUs of compute capability 8.0+, float16 "
                  "on 7.x GPUs, float32 otherwise; {stays} stay float32")


def data_folder(help="data folder written by extract_frames.py"):
    return flag(DATA, help, metavar="DIR")


def bundle_folder(help="model bundle written by export_graph.py"):
    return flag(BUNDLE, help, metavar="DIR")


def run_folder(default, help):
    return flag(default, help, metavar="DIR")


def precision(what, stays, resumable=False):
    return flag("auto", PRECISION_HELP.format(what=what, stays=stays), choices=PRECISIONS,
                resumable=resumable)


def _holdout_fraction(text):
    return holdout.check_fraction(parse_finite(text))


@dataclass(frozen=True)
class ExtractOptions:
    """extract_frames.py's options."""
    paintings: tuple = flag((), "folder of paintings, searched recursively for "
                            "jpg/jpeg/png/webp/bmp; one source named after the folder "
                            "(repeatable)", metavar="DIR", repeat=True)
    video: tuple = flag((), "video file; one source named after the file's stem (repeatable)",
                        metavar="FILE", repeat=True)
    out: str = flag(DATA, "data folder for shards and manifest.json", metavar="DIR")
    size: tuple | None = flag(None, "frame size of the records (default: "
                              f"{datafolder.FRAME_SIZE}, or the existing manifest's with "
                              "--append)",
                              type=value_type(frames.parse_size), metavar="WxH")
    frame_step: int = flag(10, "keep every Nth video frame", type=positive_int, metavar="N")
    painting_crops: int = flag(0, "also store N random crops of each painting, each "
                               f"{frames.CROP_SCALE[0]:g} to {frames.CROP_SCALE[1]:g} of its "
                               "width, resized to the frame size: brush strokes as large as "
                               "they are on the canvas at that size, and more painting records "
                               "to learn from (default: {default}, the whole painting only)",
                               type=non_negative_int, metavar="N")
    crop: object = border_crop(" from videos")
    shards: int | None = flag(None, "number of shards to write (default: one per "
                              f"{datafolder.RECORDS_PER_SHARD} frames)", type=positive_int,
                              metavar="N")
    append: bool = flag(False, "add these sources to the existing data folder, keeping its "
                        "records and source ids")
    holdout: float = flag(holdout.DEFAULT_FRACTION, "share of every source kept out of "
                          "training, in its own shards, to measure quality on: whole stretches "
                          "of a few seconds of each video (with a short unused gap either "
                          "side) and whole paintings (default: {default}; 0 keeps none out)",
                          type=value_type(_holdout_fraction), metavar="FRACTION")
    seed: int = flag(0, "shuffle seed, and which paintings are held out", type=random_seed)


@dataclass(frozen=True)
class ValidateOptions:
    """validate_records.py's options."""
    data: str = data_folder()
    previews: str | None = flag(None, "where to write contact-<source>.png (default: the data "
                                "folder)", metavar="DIR")
    seed: int = flag(0, "which frames the contact sheets sample", type=random_seed)


@dataclass(frozen=True)
class ExportOptions:
    """export_graph.py's options."""
    vae: str = run_folder(VAE_RUN, "VAE run folder (its latest checkpoint)")
    refiner: str = run_folder(REFINER_RUN, "refiner run folder; when it does not exist the VAE "
                              "is exported alone")
    no_refiner: bool = flag(False, "export the VAE alone even if a refiner run exists")
    painter: str | None = flag(None, "painter run folder (train_painter.py) to add to the "
                               "bundle as its paint signature (default: none); it must have "
                               "been trained on a bundle of the same VAE checkpoint",
                               metavar="DIR")
    data: str = data_folder("data folder whose sources get a mean latent code")
    out: str = flag(BUNDLE, "bundle folder to write (default: {default}); an existing bundle "
                    "there is replaced, any other folder is refused", metavar="DIR")
    batch_size: int = flag(50, "batch size for computing the latent means", type=positive_int,
                           metavar="N")


@dataclass(frozen=True)
class EvaluationOptions:
    """evaluate_embeddings.py's options."""
    model: str = bundle_folder()
    data: str = data_folder("data folder to take frames from")
    out: str | None = flag(None, "report folder to write (default: <model>-evaluation beside "
                           "the bundle); an earlier report there is replaced, any other folder "
                           "is refused", metavar="DIR")
    alpha: float = flag(0.25, "style shift: weight of the source mean removed; the grid's rows "
                        "go from 0 to twice it. Lower than process_video.py's "
                        f"{StyleSettings().alpha:g} so that the grid shows mostly what the "
                        "paintings' mean does", type=finite_float)
    beta: float = flag(1.0, "style shift: weight of the paintings' mean added; the grid's "
                       "columns go from 0 to twice it, the sliders' whole range [0, 2] "
                       f"(process_video.py's default: {StyleSettings().beta:g})",
                       type=finite_float)
    detail: float = flag(StyleSettings().detail, "detail transfer of the style-shift grid's "
                         "last row (process_video.py's default)", type=unit_float, metavar="D")
    samples: int = flag(64, "frames per source for the metrics", type=positive_int,
                        metavar="N")
    seed: int = flag(0, "random seed", type=random_seed)


@dataclass(frozen=True)
class ProcessOptions:
    """process_video.py's options: the clip, the bundle, the settings, how the clip is
    written, and the live page."""
    input: str = flag(None, "video file to stylise (with --live also a camera such as "
                      "/dev/video0, or a stream URL)", positional=True, metavar="INPUT")
    output: str | None = flag(None, "output MP4 (default: <input stem>-stylized.mp4 in this "
                              "folder)", short="-o", metavar="OUTPUT")
    model: str = bundle_folder()
    settings: StyleSettings = nested(StyleSettings())
    render: RenderOptions = nested(RenderOptions())
    precision: str = precision("the model", "the bundle on disk and its outputs")
    live: bool = flag(False, "serve a page that plays INPUT stylised while sliders change the "
                      "settings (the flags above set their first values), and renders the "
                      "whole clip to OUTPUT on request", group="live tuning page")
    port: int = flag(8000, "the page's port", type=port_number, group="live tuning page")
    host: str = flag("127.0.0.1", "the address to listen on (default: {default}, this machine "
                     "only; another one is reachable from elsewhere and prints a warning)",
                     group="live tuning page")
