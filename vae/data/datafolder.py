"""A data folder's manifest.json: its frame size, sources, and the shards of each split.

Plain JSON, no TensorFlow: scripts read it before (or without) loading any model.
"""
import json
import os

from vae import InputError
from vae.media import atomic
from vae.media import storage

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
# Default shard size; also what the shuffle holds in memory at once (about 170 MB at 320x180).
RECORDS_PER_SHARD = 1000
HOLDOUT_SHARDS = "holdout_shards"  # manifest key of the held-out shards (absent in old folders)


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
    """The manifest of a data folder as a dict; OSError/ValueError when missing or invalid."""
    manifest = json.loads(storage.read_text(os.path.join(data_dir, MANIFEST)))
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{MANIFEST} is not of format {MANIFEST_FORMAT}: extract the frames "
                         "again with extract_frames.py into a new folder")
    for key in ("frame_size", "sources", "shards"):
        if key not in manifest:
            raise ValueError(f"{MANIFEST} has no '{key}'")
    return manifest


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
