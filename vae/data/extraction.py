"""Extracting a data folder (extract_frames.py): painting folders and video files checked,
then turned into shuffled, gzipped TFRecord shards and manifest.json.
"""
import math
import os
import sys
import time

import numpy as np

from vae import InputError
from vae.console import format_table
from vae.data import datafolder, holdout
from vae.media import frames, storage, video


def load_existing(args):
    """The manifest to extend (with --append) or a new one; refuses to clobber existing data."""
    from vae.media.targets import check_target

    # new shards go into a new folder, or with --append into a data folder beside its records
    check_target(args.out, "--out", folder=True, inputs=(*args.paintings, *args.video),
                 replaceable=datafolder.is_data_folder, what="data folder")
    manifest_path = os.path.join(args.out, datafolder.MANIFEST)
    exists = storage.exists(manifest_path)
    if exists and not args.append:
        raise InputError(f"{manifest_path} already exists: pass --append to add sources to it, "
                         "or choose another --out")
    if not exists:
        width, height = args.size or frames.parse_size(datafolder.FRAME_SIZE)
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
