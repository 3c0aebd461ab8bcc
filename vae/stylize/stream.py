"""Stylising a clip as a stream: decode -> batch -> stylize -> encode, and a clip's mean code.

The three stages run at the same time (a decoder thread, the model on the calling thread, an
encoder thread, joined by small bounded queues), so a run takes about as long as its slowest
stage rather than the sum of all three, and memory holds a few batches, never the clip.
"""
import queue
import threading

import numpy as np

from vae import InputError
from vae.media import video

_DONE = object()
MEAN_BATCH = 32  # frames per encoder call when computing a mean code


def mean_code(bundle, frames):
    """The mean z_mean of uint8 frames (an iterable), None when there are none; frames not at
    the model's size are scaled to it first (antialiased, as paintings are)."""
    import tensorflow as tf

    def encode(batch):
        images = np.stack(batch) / np.float32(255)
        if images.shape[1:3] != (bundle.height, bundle.width):
            images = tf.image.resize(images, (bundle.height, bundle.width), antialias=True)
        return bundle.encode(images)["z_mean"].numpy()

    batch, codes = [], []
    for frame in frames:
        batch.append(frame)
        if len(batch) == MEAN_BATCH:
            codes.append(encode(batch))
            batch = []
    if batch:
        codes.append(encode(batch))
    return np.concatenate(codes).mean(axis=0) if codes else None


def clip_mean_code(bundle, info, crop, start, duration, samples=64):
    """The mean z_mean of up to `samples` frames spread over the clip's range: the 'source mean'
    of a clip the model never saw."""
    seconds = duration if duration is not None else max(info.duration - (start or 0), 0)
    estimate = max(1, int(seconds * info.fps))
    step = max(1, estimate // samples)
    code = mean_code(bundle, (frame for _, frame in video.video_frames(
        info, crop, (bundle.width, bundle.height), step=step, start=start, duration=duration)))
    if code is None:
        raise InputError(f"no frames in the selected range of {info.path}")
    return code


def _produce(items, out_queue, stop):
    """Put items into out_queue (then _DONE), or an exception if iterating fails."""
    try:
        for item in items:
            while not stop.is_set():
                try:
                    out_queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                return
        out_queue.put(_DONE)
    except BaseException as err:  # hand any failure to the consumer
        out_queue.put(err)


def _batches(frame_iter, size):
    batch = []
    for _, frame in frame_iter:
        batch.append(frame)
        if len(batch) == size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def stylize_stream(frame_iter, transform, writer, batch_size, progress=None):
    """Run decode (frame_iter), the model (transform: uint8 batch -> uint8 batch, for example
    a FrameStylizer) and the encoder (writer.write) concurrently. Returns the number of frames
    written."""
    decoded, encoded = queue.Queue(maxsize=3), queue.Queue(maxsize=3)
    stop = threading.Event()
    reader = threading.Thread(target=_produce, args=(_batches(frame_iter, batch_size), decoded,
                                                     stop), daemon=True)
    written = [0]
    failure = []

    def write_all():
        while True:
            item = encoded.get()
            if item is _DONE:
                return
            try:
                for frame in item:
                    writer.write(frame)
                    written[0] += 1
                if progress:
                    progress(len(item))
            except BaseException as err:
                failure.append(err)
                stop.set()
                return

    encoder = threading.Thread(target=write_all, daemon=True)
    reader.start()
    encoder.start()
    try:
        while True:
            item = decoded.get()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            if failure:
                break
            encoded.put(transform(item))
    finally:
        stop.set()
        if encoder.is_alive():
            encoded.put(_DONE)
        encoder.join()
        reader.join(timeout=5)
    if failure:
        raise failure[0]
    return written[0]
