"""The TFRecord schema, the shuffling shard writer, and the tf.data reader.

A record is a tf.train.Example holding one uint8 RGB frame and where it came from; shards are
GZIP-compressed and listed, with counts and checksums, in manifest.json (vae/datafolder.py,
docs/design.md).
"""
import hashlib
import os
import re
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from vae import InputError
from vae.data import datafolder
from vae.media import atomic, storage
from vae.signals import signals_deferred

COMPRESSION = "GZIP"

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "source": tf.io.FixedLenFeature([], tf.int64),
    "origin": tf.io.FixedLenFeature([], tf.string),
}


def encode_example(image, source_id, origin):
    """Serialise one uint8 (H, W, 3) frame as a tf.train.Example."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width, _ = image.shape

    def int64(value):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))

    def raw(value):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))

    example = tf.train.Example(features=tf.train.Features(feature={
        "image": raw(image.tobytes()),
        "height": int64(height),
        "width": int64(width),
        "source": int64(source_id),
        "origin": raw(origin.encode("utf-8")),
    }))
    return example.SerializeToString()


def parse_example(serialized):
    """The features of one serialised record (usable inside tf.data)."""
    return tf.io.parse_single_example(serialized, FEATURES)


def shard_name(index, count, prefix="records"):
    return f"{prefix}-{index:05d}-of-{count:05d}.tfrecord.gz"


def file_sha256(path):
    digest = hashlib.sha256()
    with storage.open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_shards(data_dir, manifest, key="shards"):
    """InputError naming the first shard listed under `key` that is missing or whose sha256
    differs from the manifest's: training or exporting on a changed shard would go on
    silently, or fail halfway with a DataLossError."""
    for shard in manifest.get(key, []):
        path = os.path.join(data_dir, shard["file"])
        try:
            digest = file_sha256(path)
        except OSError as err:
            raise InputError(f"damaged data folder: cannot read shard {path}: "
                             f"{str(err).splitlines()[0]}") from None
        if digest != shard["sha256"]:
            raise InputError(f"damaged data folder: shard {path} differs from its sha256 in "
                             "manifest.json (changed or truncated); run validate_records.py, "
                             "or extract the frames again")


def damaged_data(data_dir, manifest, err):
    """An InputError for a DataLossError met while reading data_dir's records (a record
    damaged before its shard's checksum was taken): the first shard that does not read whole,
    with the record where it breaks, and what to do next."""
    for shard in manifest.get("shards", []):
        path = os.path.join(data_dir, shard["file"])
        _, problems = check_shard(path, *datafolder.frame_size(manifest),
                                  {s["id"] for s in manifest["sources"]})
        if problems:
            return InputError(f"damaged data folder: shard {path}, {problems[0]}; run "
                              f"validate_records.py --data {data_dir}, or extract the frames "
                              "again")
    return InputError(f"damaged data folder {data_dir}: {_op_error_text(err)}; run "
                      f"validate_records.py --data {data_dir}")


class ShuffledShardWriter:
    """Writes records as shards shuffled across all sources, with bounded memory.

    Two passes: add() scatters each record into a random temporary bucket on disk; finish()
    loads one bucket at a time, shuffles it in memory and writes it as a GZIP shard. Every
    record thus lands at a uniformly random place, yet memory holds only one shard. Nothing
    appears in out_dir until finish() has written every shard; close() without finish()
    (an error, Ctrl-C) leaves out_dir as it was. Used as a `with` block, which makes the
    scratch folder as it begins and removes it as it ends.
    """

    def __init__(self, out_dir, num_shards, seed=0, prefix="records"):
        if num_shards < 1:
            raise ValueError("num_shards must be at least 1")
        self.out_dir = out_dir
        self.prefix = prefix
        self.rng = np.random.default_rng(seed)
        self.num_shards = num_shards
        self.created_out_dir = self.finished = False
        self.tmp_dir, self.buckets, self.count = None, [], 0

    def __enter__(self):
        """Make out_dir and the scratch folder of buckets beside it; a signal waits until
        both are recorded, so that close() removes them whenever it comes."""
        try:
            with signals_deferred():
                self.created_out_dir = not storage.isdir(self.out_dir)
                storage.makedirs(self.out_dir)
                # beside the shards for an atomic rename; local when out_dir is on another
                # file system
                self.tmp_dir = atomic.scratch_folder(self.out_dir, "extract") \
                    if storage.is_local(self.out_dir) else tempfile.mkdtemp(prefix=".extract-")
            self.bucket_paths = [os.path.join(self.tmp_dir, f"bucket-{i}.tfrecord")
                                 for i in range(self.num_shards)]
            for path in self.bucket_paths:
                self.buckets.append(tf.io.TFRecordWriter(path))
        except BaseException:
            self.close()
            raise
        return self

    def add(self, serialized):
        self.buckets[self.rng.integers(len(self.buckets))].write(serialized)
        self.count += 1

    def finish(self):
        """Shuffle and compress every bucket, move the shards into place; return their entries."""
        for bucket in self.buckets:
            bucket.close()
        filled = []
        for path in self.bucket_paths:
            records = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
            os.remove(path)
            if records:
                filled.append(records)
        options = tf.io.TFRecordOptions(compression_type=COMPRESSION)
        shards = []
        for index, records in enumerate(filled):
            name = shard_name(index, len(filled), self.prefix)
            tmp_path = os.path.join(self.tmp_dir, name)
            with tf.io.TFRecordWriter(tmp_path, options) as writer:
                for i in self.rng.permutation(len(records)):
                    writer.write(records[i])
            shards.append({"file": name, "count": len(records), "sha256": file_sha256(tmp_path)})
        for shard in shards:
            atomic.publish(os.path.join(self.tmp_dir, shard["file"]),
                           os.path.join(self.out_dir, shard["file"]))
        self.finished = True
        self.close()
        return shards

    def close(self):
        for bucket in self.buckets:
            bucket.close()
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
        if self.created_out_dir and not self.finished:
            storage.remove(self.out_dir)

    def __exit__(self, *exc):
        self.close()


def check_shard(path, width, height, source_ids, visit=None):
    """Read every record of a shard and check it against the manifest's frame size and sources.

    Returns (records read, problems), problems being readable sentences that name the record
    index. A truncated or corrupt file ends the scan with one problem instead of an exception.
    visit(source_id, origin, image) is called for every good record.
    """
    problems = []
    index = 0
    try:
        for serialized in tf.data.TFRecordDataset(path, compression_type=COMPRESSION):
            problem = _check_record(serialized.numpy(), width, height, source_ids, visit)
            if problem:
                problems.append(f"record {index}: {problem}")
            index += 1
    except (tf.errors.OpError, OSError) as err:
        problems.append(f"unreadable from record {index} on ({_op_error_text(err)})")
    return index, problems


def _op_error_text(err):
    """The useful part of a TensorFlow op error: no function-node prefix, no [Op:...] suffix."""
    message = (getattr(err, "message", None) or str(err)).splitlines()[0]
    message = re.sub(r"\{\{[^}]*\}\}\s*", "", message)
    return re.sub(r"\s*\[Op:.*$", "", message).strip(" '")


def _check_record(serialized, width, height, source_ids, visit):
    try:
        features = tf.train.Example.FromString(serialized).features.feature
        image = features["image"].bytes_list.value[0]
        h = features["height"].int64_list.value[0]
        w = features["width"].int64_list.value[0]
        source = features["source"].int64_list.value[0]
        origin = features["origin"].bytes_list.value[0].decode("utf-8", "replace")
    except Exception as err:  # a malformed protobuf can fail in many ways; report, don't crash
        return f"not a valid frame record ({type(err).__name__}: {err})"
    if (w, h) != (width, height):
        return f"frame is {w}x{h}, manifest says {width}x{height}"
    if len(image) != width * height * 3:
        return f"image holds {len(image)} bytes, expected {width * height * 3} (uint8 RGB)"
    if source not in source_ids:
        return f"unknown source id {source}"
    if visit:
        visit(source, origin, np.frombuffer(image, np.uint8).reshape(height, width, 3))
    return None


def shard_paths(data_dir, manifest, split="train"):
    return [os.path.join(data_dir, s["file"]) for s in datafolder.shard_list(manifest, split)]


def decode_frame(serialized, width, height):
    """A serialised record -> {"image": uint8 (H, W, 3), "source": int64} inside tf.data."""
    features = parse_example(serialized)
    image = tf.reshape(tf.io.decode_raw(features["image"], tf.uint8), (height, width, 3))
    return {"image": image, "source": features["source"]}


# Decoded frames are cached in memory when the whole data set is at most this large; with a
# cache, gzip decompression runs once instead of once per epoch on the training machine's cores.
CACHE_LIMIT_BYTES = 2 << 30


def make_dataset(data_dir, manifest, batch_size, *, shuffle=True, repeat=True, seed=None,
                 shuffle_buffer=1000, input_context=None, cache="auto", split="train"):
    """Batches of {"image": float32 (B, H, W, 3) in [0, 1], "source": int64 (B,)} of one split
    (the trainers read "train" only: held-out frames never reach a training batch).
    Shards are read in parallel (interleave) and records decoded in parallel; with an
    input_context (tf.distribute) each input pipeline reads its own part of the data.
    """
    width, height = datafolder.frame_size(manifest)
    files = shard_paths(data_dir, manifest, split)
    ds = tf.data.Dataset.from_tensor_slices(files)
    shard_records = False
    if input_context and input_context.num_input_pipelines > 1:
        if len(files) >= input_context.num_input_pipelines:
            ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        else:
            shard_records = True
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    ds = ds.interleave(lambda f: tf.data.TFRecordDataset(f, COMPRESSION),
                       cycle_length=min(len(files), 4), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=not shuffle)
    if shard_records:
        ds = ds.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    ds = ds.map(lambda r: decode_frame(r, width, height), num_parallel_calls=tf.data.AUTOTUNE)
    total_bytes = datafolder.record_count(manifest, split) * width * height * 3
    if cache is True or (cache == "auto" and total_bytes <= CACHE_LIMIT_BYTES):
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=repeat)  # convert after batching: one op per batch
    ds = ds.map(lambda b: {"image": tf.cast(b["image"], tf.float32) / 255.0,
                           "source": b["source"]}, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def sample_by_source(data_dir, manifest, per_source, split="train"):
    """{source id: up to per_source frames (float32 [0, 1]) in shard order}, read until every
    source has its share; sources without frames in the split are left out."""
    wanted = {s["id"]: min(per_source, datafolder.source_count(s, split))
              for s in manifest["sources"]}
    frames = {i: [] for i in wanted}
    if not datafolder.shard_list(manifest, split):
        return {}
    for batch in make_dataset(data_dir, manifest, 64, shuffle=False, repeat=False, cache=False,
                              split=split):
        for image, source in zip(batch["image"].numpy(), batch["source"].numpy()):
            if len(frames[int(source)]) < wanted[int(source)]:
                frames[int(source)].append(image)
        if all(len(frames[i]) >= wanted[i] for i in wanted):
            break
    return {i: np.stack(f) for i, f in frames.items() if f}


def load_frames(data_dir, manifest, count):
    """count frames taken in turn from every source (so rare sources, like a few paintings
    among thousands of video frames, still show up), float32 [0, 1]."""
    by_source = sample_by_source(data_dir, manifest, count)
    picked = []
    for i in range(count):
        for frames in by_source.values():
            if i < len(frames) and len(picked) < count:
                picked.append(frames[i])
    return np.stack(picked)
