"""Checking a data folder (validate_records.py): every record read back and checked against
manifest.json, damaged shards named, contact sheets of each source written.
"""
import os
import re
import sys
import time

import numpy as np

from vae import InputError
from vae.console import format_table
from vae.data import datafolder
from vae.media import storage
from vae.media.gallery import make_grid, write_png

SHEET_FRAMES = 24
SHEET_COLUMNS = 6


class SourceSampler:
    """A fixed-size uniform sample of each source's frames (reservoir sampling: bounded memory)."""

    def __init__(self, size, seed):
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.seen = {}
        self.samples = {}

    def __call__(self, source, origin, image):
        seen = self.seen[source] = self.seen.get(source, 0) + 1
        sample = self.samples.setdefault(source, [])
        if len(sample) < self.size:
            sample.append((origin, image.copy()))
        else:
            slot = self.rng.integers(seen)
            if slot < self.size:
                sample[slot] = (origin, image.copy())

    def frames(self, source):
        """The sampled frames in natural order of their origin (file name, frame number)."""
        def natural(item):
            return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", item[0])]
        return [image for _, image in sorted(self.samples.get(source, []), key=natural)]


def check_shard_file(data_dir, shard, width, height, source_ids, visit):
    """The problems of one shard listed in the manifest: missing, checksum, records, count."""
    from vae.data import records

    path = os.path.join(data_dir, shard["file"])
    if not storage.exists(path) or storage.isdir(path):
        return ["file is missing"]
    problems = []
    if records.file_sha256(path) != shard["sha256"]:
        problems.append("sha256 differs from the manifest (file changed or truncated)")
    count, record_problems = records.check_shard(path, width, height, source_ids, visit)
    problems += record_problems
    if count != shard["count"]:
        problems.append(f"holds {count} records, manifest says {shard['count']}")
    return problems


def validate(args):
    from vae.console import progress_bar

    started = time.time()
    if not storage.isdir(args.data):
        raise InputError(f"data folder not found: {args.data}")
    manifest = datafolder.load_manifest(args.data)
    width, height = datafolder.frame_size(manifest)
    sources = {s["id"]: s for s in manifest["sources"]}
    sampler = SourceSampler(SHEET_FRAMES, args.seed)
    damaged = {}  # shard file -> problems
    splits = ("train", "holdout")
    expected_total = sum(datafolder.record_count(manifest, split) for split in splits)
    origins = {split: set() for split in splits}  # (source, origin) per split

    with progress_bar(total=expected_total, unit="record", desc="reading") as bar:
        for split in splits:
            def visit(source, origin, image, seen=origins[split]):
                sampler(source, origin, image)
                seen.add((source, origin))
                bar.update()

            for shard in datafolder.shard_list(manifest, split):
                problems = check_shard_file(args.data, shard, width, height, set(sources), visit)
                if problems:
                    damaged[shard["file"]] = problems

    found = dict(sampler.seen)
    expected = {i: datafolder.source_count(s) + datafolder.source_count(s, "holdout")
                for i, s in sources.items()}
    source_problems = [f"source {s['name']} (id {i}): {found.get(i, 0)} records found, "
                       f"manifest says {expected[i]}"
                       for i, s in sources.items() if found.get(i, 0) != expected[i]]
    leaked = origins["train"] & origins["holdout"]
    if leaked:
        source_problems.append(f"{len(leaked)} held-out frame(s) also in the training shards, "
                               f"for example {sorted(leaked)[0][1]}")

    previews = args.previews or args.data
    rows = []
    for source_id, source in sources.items():
        sheet = "-"
        frames = sampler.frames(source_id)
        if frames:
            sheet = os.path.join(previews, f"contact-{source['name']}.png")
            write_png(sheet, make_grid(frames, SHEET_COLUMNS))
        status = "ok" if found.get(source_id, 0) == expected[source_id] else "MISMATCH"
        rows.append((source_id, source["name"], source["kind"], datafolder.source_count(source),
                     datafolder.source_count(source, "holdout"), found.get(source_id, 0), status,
                     sheet))
    print(format_table(["id", "source", "kind", "train", "held out", "found", "status",
                        "contact sheet"], rows))

    for name, problems in damaged.items():
        for problem in problems:
            print(f"damaged: {name}: {problem}", file=sys.stderr)
    for problem in source_problems:
        print(f"mismatch: {problem}", file=sys.stderr)
    verdict = "FAILED" if damaged or source_problems else "ok"
    shard_count = sum(len(datafolder.shard_list(manifest, split)) for split in splits)
    print(f"{verdict}: {sum(found.values())} of {expected_total} records good in "
          f"{shard_count} shard(s) ({datafolder.record_count(manifest, 'holdout')} records held "
          f"out of training), {len(damaged)} damaged; {width}x{height} frames; "
          f"{time.time() - started:.1f} s")
    return 1 if damaged or source_problems else 0
