"""Streaming H.264 video output through imageio-ffmpeg, written atomically."""
import os

import imageio_ffmpeg
import numpy as np


def even_size(image):
    """Pad an (H, W, 3) uint8 frame with black to even dimensions, which yuv420p requires."""
    height, width = image.shape[:2]
    pad_h, pad_w = height % 2, width % 2
    if not (pad_h or pad_w):
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)))


class VideoWriter:
    """Write uint8 RGB frames to an MP4 (H.264, yuv420p) that appears only when complete.

    Frames go to `<path>.partial.mp4` through an ffmpeg pipe; close() moves the finished file to
    its name, abort() (or leaving a `with` block by an exception) deletes it.
    """

    def __init__(self, path, width, height, fps, quality=None, extra_output=None):
        self.path = path
        self.tmp_path = f"{path}.partial.mp4"
        self.size = (width + width % 2, height + height % 2)
        params = ["-preset", "medium", "-crf", str(quality or 18)] + list(extra_output or [])
        self._gen = imageio_ffmpeg.write_frames(
            self.tmp_path, self.size, fps=fps, codec="libx264", pix_fmt_out="yuv420p",
            macro_block_size=1, output_params=params, ffmpeg_log_level="error")
        self._gen.send(None)
        self.frames = 0

    def write(self, frame):
        frame = even_size(np.asarray(frame, dtype=np.uint8))
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, "
                             f"video is {self.size[0]}x{self.size[1]}")
        self._gen.send(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self):
        self._gen.close()
        os.replace(self.tmp_path, self.path)

    def abort(self):
        try:
            self._gen.close()
        finally:
            if os.path.exists(self.tmp_path):
                os.remove(self.tmp_path)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path, frames, fps):
    """Write a list of equally sized uint8 frames as an MP4 atomically."""
    first = even_size(np.asarray(frames[0]))
    with VideoWriter(path, first.shape[1], first.shape[0], fps) as writer:
        for frame in frames:
            writer.write(frame)
