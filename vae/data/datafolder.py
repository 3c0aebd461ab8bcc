"""A data folder's manifest.json: its frame size, sources, and the shards of each split.

Plain JSON, no TensorFlow: scripts read it before (or without) loading any model.
"""
import json
import os

from vae import InputError
from vae.media import atomic, storage

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
# Default shard size; also what the shuffle holds in memory at once (about 170 MB at 320x180).
RECORDS_PER_SHARD = 1000
HOLDOUT_SHARDS = "holdout_shards"  # manifest key of the held-out shards (absent in old folders)

FRAME_SIZE = "320x180"  # the records' frame size unless extract_frames.py --size says otherwise


def shard_list(manifest, split="train"):
    """The manifest's shard entries of one split: "train" (what the trainers read) or
    "holdout" (frames kept out of training; an empty list in folders made without them)."""
    if split == "train":
        return manifest["shards"]
    if split == "holdout":
        return manifest.get(HOLDOUT_SHARDS, [])
    raise ValueError(f"unknown split {split!r}")


def record_count(manifest, split="train"):
    """How many records the shards of one split hold."""
    return sum(s["count"] for s in shard_list(manifest, split))


def source_count(source, split="train"):
    """How many of one source's frames are in a split."""
    return source["count"] if split == "train" else source.get("holdout_count", 0)


def read_manifest(data_dir):
    """The manifest of a data folder as a dict; OSError/ValueError when missing or invalid.
    A manifest is untrusted input (data folders are shared and downloaded): every field the
    scripts use is checked, and every name that becomes a path is a plain file name."""
    try:
        manifest = json.loads(storage.read_text(os.path.join(data_dir, MANIFEST)))
    except RecursionError:
        raise ValueError(f"{MANIFEST} is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError(f"{MANIFEST} is not UTF-8 text") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{MANIFEST} is not of format {MANIFEST_FORMAT}: extract the frames "
                         "again with extract_frames.py into a new folder")
    for key in ("frame_size", "sources", "shards"):
        if key not in manifest:
            raise ValueError(f"{MANIFEST} has no '{key}'")
    _check_fields(manifest)
    return manifest


MAX_SIDE = 16384  # the largest frame side a manifest may name


def _check_fields(manifest):
    """ValueError naming the first field that is not of the type and range the scripts use."""
    def need(ok, where, what):
        if not ok:
            raise ValueError(f"{MANIFEST}: {where} must be {what}")

    def count(value):
        return type(value) is int and value >= 0

    size = manifest["frame_size"]
    need(isinstance(size, dict), "frame_size", "an object")
    for side in ("width", "height"):
        need(type(size.get(side)) is int and 1 <= size[side] <= MAX_SIDE, f"frame_size.{side}",
             f"an integer from 1 to {MAX_SIDE}")
    need(isinstance(manifest["sources"], list), "sources", "a list")
    ids = set()
    for n, source in enumerate(manifest["sources"]):
        where = f"sources[{n}]"
        need(isinstance(source, dict), where, "an object")
        need(count(source.get("id")) and source["id"] not in ids, f"{where}.id",
             "an integer >= 0 that no other source has")
        ids.add(source["id"])
        need(is_plain_name(source.get("name")), f"{where}.name",
             "a plain file name (no folder, no '..')")
        need(source.get("kind") in SOURCE_KINDS, f"{where}.kind", " or ".join(SOURCE_KINDS))
        need(isinstance(source.get("path"), str), f"{where}.path", "a string")
        need(count(source.get("count")), f"{where}.count", "an integer >= 0")
        need(count(source.get("holdout_count", 0)), f"{where}.holdout_count", "an integer >= 0")
    for key in ("shards", HOLDOUT_SHARDS):
        need(isinstance(manifest.get(key, []), list), key, "a list")
        for n, shard in enumerate(manifest.get(key, [])):
            where = f"{key}[{n}]"
            need(isinstance(shard, dict), where, "an object")
            need(is_plain_name(shard.get("file")), f"{where}.file",
                 "a plain file name (no folder, no '..')")
            need(count(shard.get("count")), f"{where}.count", "an integer >= 0")
            need(isinstance(shard.get("sha256", ""), str), f"{where}.sha256", "a string")


SOURCE_KINDS = ("painting", "video")


def is_plain_name(name):
    """True for a name that, joined to a folder, stays a file directly inside it."""
    return isinstance(name, str) and 0 < len(name) <= 200 and name not in (".", "..") and \
        not any(c in name for c in "/\\\0")


def is_data_folder(folder):
    """True for a folder extract_frames.py wrote (it holds a manifest.json)."""
    return storage.exists(os.path.join(folder, MANIFEST))


def load_manifest(data_dir):
    """read_manifest for the scripts: InputError, with what to do, when there are no records."""
    try:
        manifest = read_manifest(data_dir)
    except FileNotFoundError:
        raise InputError(f"no {MANIFEST} in {data_dir}: run extract_frames.py first") from None
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {os.path.join(data_dir, MANIFEST)}: {err}") from None
    if not manifest["shards"]:
        raise InputError(f"{data_dir} holds no records")
    return manifest


def check_frame_size(manifest, data_dir, size, what):
    """InputError unless the data's frames are size=(width, height), what a model expects."""
    if frame_size(manifest) != tuple(size):
        raise InputError("{} works on {}x{} frames but {} holds {}x{}".format(
            what, *size, data_dir, *frame_size(manifest)))


def write_manifest(data_dir, manifest):
    atomic.write_json(os.path.join(data_dir, MANIFEST), manifest)


def new_manifest(width, height):
    return {"format": MANIFEST_FORMAT, "frame_size": {"width": width, "height": height},
            "sources": [], "shards": [], HOLDOUT_SHARDS: []}


def frame_size(manifest):
    """(width, height) of the frames in a data folder."""
    size = manifest["frame_size"]
    return int(size["width"]), int(size["height"])
