"""Streaming H.264 video output through the ffmpeg of imageio-ffmpeg, written atomically.

Frames are piped to one ffmpeg process that can also scale them to the output size, put a
small copy of another video in a corner, and mux that video's audio: one pass, one encoder.
"""
import subprocess
import tempfile

import imageio_ffmpeg
import numpy as np

from vae import atomic


class VideoWriter:
    """Write uint8 RGB frames to an MP4 (H.264, yuv420p) that appears only when complete.

    width x height: the frames written. output_size: the video's size (frames are scaled with
    a lanczos filter; default: unchanged, padded to even). companion: another video file, read
    from companion_start for companion_duration seconds, whose audio is muxed in (audio=True)
    and/or which is shown small in the bottom-right corner (inset_crop, a frames.Crop).
    The default x264 preset is veryfast: on a 2-core machine the encoder shares the CPU with
    the model, and slower presets cost more frames/s than the smaller file is worth.
    Frames go to `<path>.partial.mp4`; close() moves the finished file to its name, abort()
    (or leaving a `with` block by an exception) deletes it.
    """

    def __init__(self, path, width, height, fps, output_size=None, crf=18, preset="veryfast",
                 companion=None, companion_start=None, companion_duration=None, audio=False,
                 inset_crop=None):
        self.path = path
        self.tmp_path = atomic.partial_name(path, ".mp4")
        self.frame_size = (width, height)
        out_w, out_h = output_size or (width + width % 2, height + height % 2)
        out_w, out_h = out_w - out_w % 2, out_h - out_h % 2
        self.output_size = (out_w, out_h)
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", f"{fps:.6g}", "-i", "-"]
        graph = [f"[0:v]scale={out_w}:{out_h}:flags=lanczos,setsar=1[main]"]
        use_companion = companion is not None and (audio or inset_crop is not None)
        if use_companion:
            if companion_start:
                cmd += ["-ss", f"{companion_start:.3f}"]
            if companion_duration is not None:
                cmd += ["-t", f"{companion_duration:.3f}"]
            cmd += ["-i", companion]
        if use_companion and inset_crop is not None:
            c = inset_crop
            inset_w = max(2, (out_w // 4) // 2 * 2)
            margin = max(2, out_w // 64)
            graph.append(f"[1:v]crop=in_w-{c.left + c.right}:in_h-{c.top + c.bottom}:"
                         f"{c.left}:{c.top},scale={inset_w}:-2:flags=area[inset]")
            graph.append(f"[main][inset]overlay=W-w-{margin}:H-h-{margin}:eof_action=pass[video]")
        else:
            graph[0] = graph[0].replace("[main]", "[video]")
        cmd += ["-filter_complex", ";".join(graph), "-map", "[video]"]
        if use_companion and audio:
            cmd += ["-map", "1:a:0?", "-c:a", "aac", "-b:a", "192k"]
        cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "-f", "mp4", self.tmp_path]
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._log)
        self.frames = 0

    def write(self, frame):
        frame = np.asarray(frame, dtype=np.uint8)
        if frame.shape[1::-1] != self.frame_size:
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, the writer takes "
                             f"{self.frame_size[0]}x{self.frame_size[1]}")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError:
            raise RuntimeError(f"ffmpeg stopped writing {self.path}: {self._error()}") from None
        self.frames += 1

    def _error(self):
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return text[-1] if text else f"exit code {self._process.returncode}"

    def close(self):
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        if self._process.wait() != 0:
            error = self._error()
            self.abort()
            raise RuntimeError(f"ffmpeg failed to write {self.path}: {error}")
        atomic.publish(self.tmp_path, self.path)
        self._log.close()

    def abort(self):
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        atomic.discard(self.tmp_path)
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path, frames, fps):
    """Write a list of equally sized uint8 frames as an MP4 atomically."""
    first = np.asarray(frames[0])
    with VideoWriter(path, first.shape[1], first.shape[0], fps) as writer:
        for frame in frames:
            writer.write(frame)
