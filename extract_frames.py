#!/usr/bin/env python3
"""Turn painting folders and video files into shuffled, gzipped TFRecord shards + manifest.json.

Example:
  python extract_frames.py --paintings paintings/ --video clip.mp4
  python extract_frames.py --append --video second_clip.mp4      # add a source later
"""
import math
import os
import sys
import time

import numpy as np

from vae import InputError
from vae.argtypes import non_negative_int, parse_finite, positive_int, random_seed, value_type
from vae.cli import parser_for, report_input_errors
from vae.console import format_table
from vae.data import datafolder, holdout
from vae.media import frames, storage, video

DEFAULT_SIZE = "320x180"


def holdout_fraction(text):
    return holdout.check_fraction(parse_finite(text))


def parse_args(argv):
    parser = parser_for(__doc__)
    parser.add_argument("--paintings", action="append", default=[], metavar="DIR",
                        help="folder of paintings, searched recursively for jpg/jpeg/png/webp/bmp; "
                             "one source named after the folder (repeatable)")
    parser.add_argument("--video", action="append", default=[], metavar="FILE",
                        help="video file; one source named after the file's stem (repeatable)")
    parser.add_argument("--out", default="data", metavar="DIR",
                        help="data folder for shards and manifest.json (default: data)")
    parser.add_argument("--size", type=value_type(frames.parse_size), default=None, metavar="WxH",
                        help=f"frame size of the records (default: {DEFAULT_SIZE}, or the "
                             "existing manifest's with --append)")
    parser.add_argument("--frame-step", type=positive_int, default=10, metavar="N",
                        help="keep every Nth video frame (default: 10)")
    parser.add_argument("--painting-crops", type=non_negative_int, default=0, metavar="N",
                        help="also store N random crops of each painting, each "
                             f"{frames.CROP_SCALE[0]:g} to {frames.CROP_SCALE[1]:g} of its width, "
                             "resized to the frame size: brush strokes as large as they are "
                             "on the canvas at that size, and more painting records to learn "
                             "from (default: 0, the whole painting only)")
    parser.add_argument("--crop", type=value_type(frames.parse_crop), default="auto",
                        metavar="auto|none|T,R,B,L",
                        help="black borders to remove from videos: auto-detect them (default), "
                             "none, or pixels from the top,right,bottom,left edges")
    parser.add_argument("--shards", type=positive_int, default=None, metavar="N",
                        help=f"number of shards to write (default: one per "
                             f"{datafolder.RECORDS_PER_SHARD} frames)")
    parser.add_argument("--append", action="store_true",
                        help="add these sources to the existing data folder, keeping its records "
                             "and source ids")
    parser.add_argument("--holdout", type=value_type(holdout_fraction),
                        default=holdout.DEFAULT_FRACTION, metavar="FRACTION",
                        help="share of every source kept out of training, in its own shards, "
                             "to measure quality on: whole stretches of a few seconds of each "
                             "video (with a short unused gap either side) and whole paintings "
                             f"(default: {holdout.DEFAULT_FRACTION:g}; 0 keeps none out)")
    parser.add_argument("--seed", type=random_seed, default=0,
                        help="shuffle seed, and which paintings are held out (default: 0)")
    args = parser.parse_args(argv)
    if not args.paintings and not args.video:
        parser.error("nothing to extract: give at least one --paintings DIR or --video FILE")
    return args


def load_existing(args):
    """The manifest to extend (with --append) or a new one; refuses to clobber existing data."""
    from vae.media.atomic import check_target

    # new shards go into a new folder, or with --append into a data folder beside its records
    check_target(args.out, "--out", folder=True, inputs=(*args.paintings, *args.video),
                 replaceable=datafolder.is_data_folder, what="data folder")
    manifest_path = os.path.join(args.out, datafolder.MANIFEST)
    exists = storage.exists(manifest_path)
    if exists and not args.append:
        raise InputError(f"{manifest_path} already exists: pass --append to add sources to it, "
                         "or choose another --out")
    if not exists:
        width, height = args.size or frames.parse_size(DEFAULT_SIZE)
        return datafolder.new_manifest(width, height)
    try:
        manifest = datafolder.read_manifest(args.out)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {manifest_path}: {err}") from None
    if args.size and args.size != datafolder.frame_size(manifest):
        raise InputError("--size {}x{} differs from the existing records' {}x{}".format(
            *args.size, *datafolder.frame_size(manifest)))
    return manifest


def plan_sources(args, manifest):
    """Check every input before anything is written; return the new sources to extract."""
    taken = {s["name"] for s in manifest["sources"]}
    # one source, whichever link or path names it
    known_paths = {os.path.realpath(s["path"]) for s in manifest["sources"]}
    next_id = max((s["id"] for s in manifest["sources"]), default=-1) + 1
    plans = []

    def add(kind, path, stem, **extra):
        nonlocal next_id
        path = os.path.abspath(path)
        if os.path.realpath(path) in known_paths:
            raise InputError(f"{path} is already a source in {args.out}")
        known_paths.add(os.path.realpath(path))
        name, n = stem or kind, 2
        while name in taken:
            name, n = f"{stem}-{n}", n + 1
        taken.add(name)
        plans.append(dict(id=next_id, name=name, kind=kind, path=path, **extra))
        next_id += 1

    for folder in args.paintings:
        if not os.path.isdir(folder):
            raise InputError(f"painting folder not found: {folder}")
        files = frames.find_images(folder)
        if not files:
            raise InputError(f"no images ({', '.join(frames.IMAGE_EXTENSIONS)}) in {folder}")
        add("painting", folder, os.path.basename(os.path.normpath(os.path.abspath(folder))),
            files=files, estimate=len(files) * (1 + args.painting_crops),
            crops=args.painting_crops)

    for path in args.video:
        info = video.probe_video(path)
        crop = video.clip_crop(info, args.crop)
        add("video", path, os.path.splitext(os.path.basename(path))[0], info=info, crop=crop,
            estimate=math.ceil(info.estimated_frames / args.frame_step))
        print(f"{path}: {info.width}x{info.height}, {info.fps:g} fps, {info.duration:.1f} s; "
              f"crop ({'auto-detected' if args.crop == 'auto' else 'given'}) "
              f"top,right,bottom,left = {crop}")
    return plans


def source_frames(plan, size, frame_step, fraction, seed, warn):
    """Yield (split, origin, frame) for one planned source, resized to fill size; split is
    holdout.TRAIN, HOLDOUT or GUARD (a video frame next to a held-out stretch: used by neither)."""
    if plan["kind"] == "painting":
        held_out = holdout.held_out_paintings(len(plan["files"]), fraction, seed + plan["id"])
        for number, path in enumerate(plan["files"]):
            try:
                image = frames.load_image(path)
            except Exception as err:  # any undecodable file is skipped, whatever the codec says
                warn(f"warning: skipping unreadable image {path}: {video.first_line(err)}")
                plan["skipped"] = plan.get("skipped", 0) + 1
                continue
            split = holdout.HOLDOUT if number in held_out else holdout.TRAIN
            origin = os.path.relpath(path, plan["path"])
            yield split, origin, frames.fill_resize(image, size)
            crops = frames.random_crops(image, size, plan["crops"],
                                        np.random.default_rng([seed, plan["id"], number]))
            for k, crop in enumerate(crops):
                yield split, f"{origin}#crop{k}", crop
    else:
        name = os.path.basename(plan["path"])
        info = plan["info"]
        stretches = holdout.VideoHoldout(info.duration, fraction)
        plan["holdout_seconds"] = stretches.as_list()
        for index, frame in video.video_frames(info, plan["crop"], size, fill=True,
                                                step=frame_step):
            yield stretches.split(index / info.fps), f"{name}#{index}", frame


def extract(args):
    from vae.console import progress_bar
    from vae.data import records

    started = time.time()
    manifest = load_existing(args)
    size = datafolder.frame_size(manifest)
    plans = plan_sources(args, manifest)
    estimate = sum(p["estimate"] for p in plans)
    num_shards = args.shards or max(1, math.ceil(estimate / datafolder.RECORDS_PER_SHARD))
    prefix, holdout_prefix = "records", "holdout"
    if manifest["shards"]:  # appended shards get their own names; old shards stay untouched
        number = len(manifest.get("appends", [])) + 1
        prefix, holdout_prefix = f"records-append{number}", f"holdout-append{number}"
    holdout_shards = max(1, math.ceil(num_shards * args.holdout))

    with records.ShuffledShardWriter(args.out, num_shards, seed=args.seed,
                                     prefix=prefix) as writer, \
            records.ShuffledShardWriter(args.out, holdout_shards, seed=args.seed + 1,
                                        prefix=holdout_prefix) as held_writer:
        writers = {holdout.TRAIN: writer, holdout.HOLDOUT: held_writer}
        with progress_bar(total=estimate, unit="frame", desc="decoding") as bar:
            def warn(message):
                bar.write(message, file=sys.stderr)

            for plan in plans:
                bar.set_postfix_str(plan["name"])
                counts = plan["counts"] = {holdout.TRAIN: 0, holdout.HOLDOUT: 0, holdout.GUARD: 0}
                for split, origin, frame in source_frames(plan, size, args.frame_step,
                                                          args.holdout, args.seed, warn):
                    if split in writers:
                        writers[split].add(records.encode_example(frame, plan["id"], origin))
                    counts[split] += 1
                    bar.update()
                if counts[holdout.TRAIN] == 0:
                    raise InputError(f"no readable frames to train on in {plan['path']}")
            bar.total = bar.n
        print(f"shuffling {writer.count} + {held_writer.count} held-out records into shards ...",
              flush=True)
        held_shards = held_writer.finish()
        shards = writer.finish()

    for plan in plans:
        manifest["sources"].append({
            "id": plan["id"], "name": plan["name"], "kind": plan["kind"], "path": plan["path"],
            "frame_step": args.frame_step if plan["kind"] == "video" else None,
            "crop": plan["crop"].as_list() if plan["kind"] == "video" else None,
            "painting_crops": plan["crops"] if plan["kind"] == "painting" else None,
            "count": plan["counts"][holdout.TRAIN], "skipped": plan.get("skipped", 0),
            "holdout_count": plan["counts"][holdout.HOLDOUT],
            "guard_dropped": plan["counts"][holdout.GUARD],
            "holdout_seconds": plan.get("holdout_seconds"),
        })
    if prefix != "records":
        manifest.setdefault("appends", []).append(
            {"prefix": prefix, "holdout_prefix": holdout_prefix,
             "sources": [p["id"] for p in plans]})
    manifest["shards"].extend(shards)
    manifest.setdefault(datafolder.HOLDOUT_SHARDS, []).extend(held_shards)
    manifest.setdefault("holdout", []).append(
        {"fraction": args.holdout, "sources": [p["id"] for p in plans],
         "stretch_seconds": holdout.STRETCH_SECONDS, "guard_seconds": holdout.GUARD_SECONDS})
    datafolder.write_manifest(args.out, manifest)

    rows = [(p["id"], p["name"], p["kind"], p["counts"][holdout.TRAIN],
             p["counts"][holdout.HOLDOUT], p["counts"][holdout.GUARD], p.get("skipped", 0),
             str(p["crop"]) if p["kind"] == "video" else "-") for p in plans]
    print(format_table(["id", "source", "kind", "train", "held out", "gap", "skipped",
                        "crop t,r,b,l"], rows))
    print(f"wrote {sum(s['count'] for s in shards)} training + "
          f"{sum(s['count'] for s in held_shards)} held-out frames ({size[0]}x{size[1]}) in "
          f"{len(shards) + len(held_shards)} shard(s) to {args.out} in "
          f"{time.time() - started:.1f} s; the folder now holds "
          f"{datafolder.record_count(manifest)} "
          f"training and {datafolder.record_count(manifest, 'holdout')} held-out frames from "
          f"{len(manifest['sources'])} source(s)")
    return 0


def main(argv=None):
    return report_input_errors(extract, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
