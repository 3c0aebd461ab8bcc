#!/usr/bin/env python3
"""Stylise a video clip with a model bundle, keeping its audio.

Every frame is cropped of black borders, encoded, moved in latent space away from the clip's
own mean code and toward the paintings' mean (z' = z - alpha * mean_source + beta * mean_style),
decoded, refined, smoothed over time, scaled back to the cropped input size and written as an
H.264 MP4 with the input's audio. With --detail D, the frame's own detail that the model
cannot encode is added back at full resolution: y = up(S(z')) + D * (x - up(S(z))), so the
clip keeps its content while it takes the paintings' palette. Re-run it on any new clip.

With --live, the clip plays stylised in a local web page instead, with sliders for the
settings; its Render button then writes the whole clip as this command would (README, "Live").

Example:
  python process_video.py clip.mp4                       # -> clip-stylized.mp4
  python process_video.py clip.mp4 -o out.mp4 --detail 0 --inset --start 10 --duration 5
  python process_video.py clip.mp4 --live                # then open http://127.0.0.1:8000/
"""
import os
import shlex
import sys
import time

from vae.cli import (finite_float, non_negative_float, parser_for, positive_int,
                 report_input_errors, unit_float, value_type)
from vae import InputError
from vae.media import frames
from vae.media import video
from vae.bundle.latent import DEFAULT_ALPHA, DEFAULT_BETA, DEFAULT_DETAIL, DEFAULT_SMOOTHING
from vae.models.precision import PRECISIONS


@value_type
def smoothing_value(text):
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {text!r}")
    return value


@value_type
def port_number(text):
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"expected a port number in [1, 65535], got {text!r}")
    return int(text)


def parse_args(argv):
    parser = parser_for(__doc__)
    parser.add_argument("input", metavar="INPUT",
                        help="video file to stylise (with --live also a camera such as "
                             "/dev/video0, or a stream URL)")
    parser.add_argument("-o", "--output", default=None, metavar="OUTPUT",
                        help="output MP4 (default: <input stem>-stylized.mp4 in this folder)")
    parser.add_argument("--model", default="exported", metavar="DIR",
                        help="model bundle from export_graph.py (default: exported)")
    parser.add_argument("--style", default=None, metavar="NAME",
                        help="painting source whose mean code is the target (default: the "
                             "bundle's painting source, or the mean of all of them)")
    parser.add_argument("--source", default="auto", metavar="NAME|auto",
                        help="whose mean code to move away from: a training source's name, or "
                             "auto (default): the clip's own mean, from a sample of its frames")
    parser.add_argument("--alpha", type=finite_float, default=DEFAULT_ALPHA,
                        help=f"weight of the source mean removed (default: {DEFAULT_ALPHA:g})")
    parser.add_argument("--beta", type=finite_float, default=DEFAULT_BETA,
                        help=f"weight of the style mean added (default: {DEFAULT_BETA:g})")
    parser.add_argument("--detail", type=unit_float, default=DEFAULT_DETAIL, metavar="D",
                        help="how much of the frame's own detail, the part the model cannot "
                             "encode, is added back at full resolution, in [0, 1]: 0 is the "
                             "model's output alone, 1 keeps all of it (default: "
                             f"{DEFAULT_DETAIL:g})")
    parser.add_argument("--smoothing", type=smoothing_value, default=DEFAULT_SMOOTHING,
                        metavar="S",
                        help="temporal smoothing of the model's output: out_t = S * out_(t-1) "
                             "+ (1 - S) * frame_t; 0 turns it off "
                             f"(default: {DEFAULT_SMOOTHING:g})")
    parser.add_argument("--crop", type=value_type(frames.parse_crop), default="auto",
                        metavar="auto|none|T,R,B,L",
                        help="black borders to remove: auto-detect (default), none, or pixels "
                             "from the top,right,bottom,left edges")
    parser.add_argument("--inset", action="store_true",
                        help="show the original frame small in the bottom-right corner")
    parser.add_argument("--no-audio", dest="audio", action="store_false",
                        help="drop the input's audio track")
    parser.add_argument("--no-refine", dest="refine", action="store_false",
                        help="skip the refiner (decoder output only)")
    parser.add_argument("--start", type=non_negative_float, default=0.0, metavar="SECONDS",
                        help="start of the excerpt to process (default: 0)")
    parser.add_argument("--duration", type=non_negative_float, default=None, metavar="SECONDS",
                        help="length of the excerpt (default: to the end)")
    parser.add_argument("--batch-size", type=positive_int, default=16, metavar="N",
                        help="frames per model call (default: 16)")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="arithmetic of the model: auto (default) picks bfloat16 where the "
                             "CPU or GPU runs it natively (AVX512_BF16 or AMX; compute "
                             "capability 8.0+), float16 on 7.x GPUs, float32 otherwise; the "
                             "bundle on disk stays float32")
    live = parser.add_argument_group("live tuning page")
    live.add_argument("--live", action="store_true",
                      help="serve a page that plays INPUT stylised while sliders change the "
                           "settings (the flags above set their first values), and renders "
                           "the whole clip to OUTPUT on request")
    live.add_argument("--port", type=port_number, default=8000,
                      help="the page's port (default: 8000)")
    live.add_argument("--host", default="127.0.0.1",
                      help="the address to listen on (default: 127.0.0.1, this machine only; "
                           "another one is reachable from elsewhere and prints a warning)")
    args = parser.parse_args(argv)
    if not args.live and (args.port, args.host) != (parser.get_default("port"),
                                                     parser.get_default("host")):
        parser.error("--port and --host go with --live")
    if args.duration == 0:
        parser.error("--duration must be more than 0")
    return args


def check_output(args):
    """The output path: -o, or <input stem>-stylized.mp4 here; InputError when unusable."""
    output = args.output or f"{os.path.splitext(os.path.basename(args.input))[0]}-stylized.mp4"
    if os.path.abspath(output) == os.path.abspath(args.input):
        raise InputError("the output would overwrite the input; choose another -o")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise InputError(f"output folder does not exist: {os.path.dirname(output)}")
    return output


def render(args, bundle=None, progress=None, report=print):
    """Stylise args.input into the output file; the live page's Render runs this too, so both
    write the same frames. bundle: a loaded Bundle (default: load args.model).
    progress(n, total) is called as n more frames are written, with the expected total (None
    when the clip's rate is unknown); an exception it raises stops the run and leaves no file.
    Returns the summary row of the table process() prints."""
    from vae.bundle import latent
    from vae.models import precision
    from vae.stylize import pipeline
    from vae.bundle.loader import Bundle

    started = time.time()
    info = video.probe_video(args.input)
    if info.duration and args.start >= info.duration:
        raise InputError(f"--start {args.start:g} s is past the end of {args.input} "
                         f"({info.duration:.2f} s)")
    if info.duration and args.duration and args.start + args.duration > info.duration + 0.5:
        raise InputError(f"--start {args.start:g} + --duration {args.duration:g} s runs past the "
                         f"end of {args.input} ({info.duration:.2f} s)")
    output = check_output(args)
    if bundle is None:
        arithmetic, line = precision.resolve(args.precision)
        report(line)
        bundle = Bundle(args.model, arithmetic)
    style_mean = bundle.means.style_mean(args.style)
    if args.source != "auto":
        source_mean = bundle.means.mean(args.source)

    crop = video.clip_crop(info, args.crop)
    width, height = crop.cropped_size(info.width, info.height)
    report(f"{args.input}: {info.width}x{info.height}, {info.fps:g} fps, {info.duration:.1f} s, "
           f"{'audio' if info.has_audio else 'no audio'}; crop top,right,bottom,left = {crop}")
    if args.source == "auto":
        source_mean = pipeline.clip_mean_code(bundle, info, crop, args.start, args.duration)
    shift = latent.style_shift(source_mean, style_mean, args.alpha, args.beta)
    refine = args.refine and bundle.has_refiner
    if args.refine and not bundle.has_refiner:
        report("the bundle has no refiner: frames are decoded without refining")
    transform = pipeline.FrameStylizer(bundle, shift, refine, args.detail, args.smoothing)
    # Detail transfer works at the output size; without it frames go through at the model's
    # size and the writer scales them up.
    frame_size = (width, height) if args.detail > 0 else (bundle.width, bundle.height)

    audio = args.audio and info.has_audio
    seconds = args.duration or max(info.duration - args.start, 0)
    total = max(1, round(seconds * info.fps)) if info.fps else None
    writer = video.VideoWriter(output, *frame_size, info.fps, (width, height),
                               companion=args.input, companion_start=args.start,
                               companion_duration=args.duration, audio=audio,
                               inset_crop=crop if args.inset else None)
    with writer:
        stream = video.video_frames(info, crop, None if args.detail > 0 else frame_size,
                                    start=args.start, duration=args.duration)
        count = pipeline.stylize_stream(stream, transform, writer, args.batch_size,
                                       progress=progress and (lambda n: progress(n, total)))
        if count == 0:
            raise InputError(f"no frames in the selected range of {args.input}")
    elapsed = time.time() - started
    return {"output": output, "frames": count,
            "size": f"{writer.output_size[0]}x{writer.output_size[1]}", "fps": f"{info.fps:g}",
            "audio": "yes" if audio else "no", "refined": "yes" if refine else "no",
            "alpha": f"{args.alpha:g}", "beta": f"{args.beta:g}", "detail": f"{args.detail:g}",
            "time": f"{elapsed:.1f} s", "frames/s": f"{count / elapsed:.1f}"}


def process(args):
    from tqdm import tqdm

    from vae.console import format_table

    bars = []  # the progress bar appears when the first frames are written

    def progress(count, total):
        if not bars:
            bars.append(tqdm(total=total, unit="frame", desc="stylizing", dynamic_ncols=True))
        bars[0].update(count)

    try:
        row = render(args, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    print(format_table(list(row), [tuple(row.values())]))
    return 0


def command_line(args):
    """The plain command that renders what args describe: the live page shows it to copy."""
    words = ["python", "process_video.py", args.input, "-o", args.output, "--model", args.model,
             "--alpha", repr(args.alpha), "--beta", repr(args.beta), "--detail",
             repr(args.detail), "--smoothing", repr(args.smoothing)]
    if args.style is not None:
        words += ["--style", args.style]
    if not args.refine:
        words.append("--no-refine")
    if args.source != "auto":
        words += ["--source", args.source]
    if args.crop != "auto":
        words += ["--crop", "none" if not any(args.crop.as_list()) else str(args.crop)]
    if args.inset:
        words.append("--inset")
    if not args.audio:
        words.append("--no-audio")
    if args.start:
        words += ["--start", repr(args.start)]
    if args.duration is not None:
        words += ["--duration", repr(args.duration)]
    if args.batch_size != 16:
        words += ["--batch-size", str(args.batch_size)]
    if args.precision != "auto":
        words += ["--precision", args.precision]
    return shlex.join(words)


def live(args):
    from vae.live import session
    from vae.live import server

    if session.is_file(args.input):  # a missing input is an error before the bundle loads
        args.output = check_output(args)
    return server.serve(args, render, command_line)


def main(argv=None):
    try:
        args = parse_args(argv)
        return report_input_errors(live if args.live else process, args)
    except KeyboardInterrupt:
        print("interrupted: no output written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
