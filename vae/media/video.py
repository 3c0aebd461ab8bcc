"""Video in and out through the ffmpeg binary bundled with imageio-ffmpeg.

Reading streams one frame at a time, so a clip never has to fit in memory; cropping, frame
skipping and resizing run inside ffmpeg's filter graph, so Python only sees the frames it keeps.
Writing pipes frames to one ffmpeg process that can also scale them to the output size, put a
small copy of another video in a corner, and mux that video's audio (one pass, one encoder),
to a file that appears only when complete.
"""
import errno
import logging
import os
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass

import imageio_ffmpeg
import numpy as np

from vae import InputError
from vae.media import atomic
from vae.media.frames import Crop, check_crop, detect_borders, fill_region
from vae.signals import signals_deferred

BORDER_SAMPLES = 12  # frames sampled over a clip to find its black borders
# Sources that deliver frames as they happen; any other URL (a file over HTTP, HLS) is read at
# its own frame rate (ffmpeg -re) so that it plays rather than being read as fast as possible.
LIVE_PROTOCOLS = ("rtsp", "rtsps", "rtmp", "rtmps", "udp", "rtp", "srt", "tcp")

# imageio-ffmpeg gives ffmpeg this long to print its header, then gives up with "Could not load
# meta information"; on a machine busy with training a good clip can take longer to start.
HEADER_WAIT = 10.0
START_TRIES = 3
# imageio-ffmpeg warns whenever the output size differs from the source, which is our intent.
logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    fps: float
    duration: float
    has_audio: bool

    @property
    def estimated_frames(self):
        return max(1, int(round(self.fps * self.duration)))


def local_file(path):
    """A local file's name as ffmpeg reads it: `file:` and the absolute path, so that a name
    with a colon is never taken for a protocol (`a:b.mp4`) nor one with a dash for an option."""
    return "file:" + os.path.abspath(path)


def start_reading(path, input_params=(), output_params=()):
    """An ffmpeg reader (imageio_ffmpeg.read_frames) and its metadata: (reader, meta). A start
    that failed only by waiting out imageio-ffmpeg's HEADER_WAIT is tried again, up to
    START_TRIES times; one that failed sooner (ffmpeg exited: not a video) raises at once."""
    for attempt in range(1, START_TRIES + 1):
        reader = imageio_ffmpeg.read_frames(path, input_params=list(input_params),
                                            output_params=list(output_params))
        began = time.monotonic()
        try:
            return reader, next(reader)
        except BaseException as err:
            reader.close()  # stops ffmpeg
            timed_out = isinstance(err, OSError) and time.monotonic() - began >= 0.9 * HEADER_WAIT
            if attempt == START_TRIES or not timed_out:
                raise


def not_a_video_file(path):
    """Why path is not a video file to read (None when it is a regular file): missing, a
    folder, or another kind of file (a FIFO, a device, a socket), said as what it is."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return f"video not found: {path}"
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"{path} is {kind}, not a video file"


def check_video_file(path):
    """InputError unless path is a regular file, saying what it is instead."""
    why = not_a_video_file(path)
    if why:
        raise InputError(why)


def probe_video(path):
    """Open a video, read its metadata and its first frame; InputError when that is impossible,
    or when ffmpeg cannot tell its frame rate (a still, such as an audio file's cover art)."""
    check_video_file(path)
    reader = None
    try:
        reader, meta = start_reading(local_file(path))
        first = next(reader, None)
    except (OSError, RuntimeError, IndexError, AttributeError, StopIteration) as err:
        raise InputError(f"cannot decode video {path}: {first_line(err)}") from None
    finally:
        if reader is not None:
            reader.close()
    if first is None:
        raise InputError(f"cannot decode video {path}: it has no video frames")
    width, height = meta["size"]
    fps = float(meta.get("fps") or 0.0)
    if not 0 < fps < float("inf"):
        raise InputError(f"cannot read {path} as a video: ffmpeg reports a frame rate of "
                         f"{fps:g} (a still picture, or a rate it cannot read)")
    return VideoInfo(path=path, width=width, height=height, fps=fps,
                     duration=float(meta.get("duration") or 0.0),
                     has_audio="audio_codec" in meta)


def first_line(err):
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def read_frame_at(path, seconds):
    """One full-size RGB frame at (or just after) the given time, or None past the end."""
    reader, meta = start_reading(local_file(path), input_params=["-ss", f"{seconds:.3f}"],
                                 output_params=["-frames:v", "1"])
    try:
        data = next(reader, None)
    finally:
        reader.close()
    if data is None:
        return None
    width, height = meta["size"]
    return np.frombuffer(data, np.uint8).reshape(height, width, 3)


def detect_video_borders(info, samples=BORDER_SAMPLES):
    """Sample frames spread over the clip (by seeking, not decoding it all) and detect borders."""
    duration = info.duration if info.duration > 0 else 0.0
    times = [duration * (i + 0.5) / samples for i in range(samples)] if duration else [0.0]
    frames = [f for f in (read_frame_at(info.path, t) for t in times) if f is not None]
    if not frames:
        return Crop()
    return detect_borders(frames)


def clip_crop(info, crop):
    """A --crop value ("auto" or a frames.Crop) for this clip: auto-detected borders, or the
    given crop; InputError when it leaves no picture."""
    if crop == "auto":
        crop = detect_video_borders(info)
    check_crop(crop, info.width, info.height, info.path)
    return crop


def crop_filter(crop):
    """ffmpeg's crop filter removing these borders; in_w/in_h keep it valid for any input."""
    return (f"crop=in_w-{crop.left + crop.right}:in_h-{crop.top + crop.bottom}:"
            f"{crop.left}:{crop.top}")


def video_frames(info, crop=Crop(), size=None, fill=False, step=1, start=None, duration=None):
    """Yield (frame_index, uint8 RGB array) for every step-th frame of a probed video, streamed.

    crop removes borders first; size=(w, h) then resizes in ffmpeg (high-quality scaler, which
    antialiases when shrinking); fill=True centre-crops to the target aspect instead of
    stretching. start/duration (seconds) select an excerpt; frame indices count from its start.
    """
    filters = []
    if step > 1:
        filters.append(f"select=not(mod(n\\,{step}))")
    if crop != Crop() or (size and fill):
        if size is None and any(side % 2 for side in crop.as_list()):
            # on subsampled chroma (yuv420p) ffmpeg crops to an even width or height: an odd
            # crop at the clip's own size is made in RGB, or it would come a pixel short
            filters.append("format=rgb24")
        filters.append(_crop_filter(info, crop, size if fill else None))
    if size:
        filters.append(f"scale={size[0]}:{size[1]}:flags=lanczos+accurate_rnd+full_chroma_int")
    # Every frame (step 1) comes at the clip's own average rate, the rate the writer uses, so
    # that a variable-rate clip keeps its length and its audio stays in sync.
    if step > 1:
        output = ["-fps_mode", "passthrough"]
    else:
        output = ["-r", f"{info.fps:.6g}"] if info.fps else []
    if filters:
        output += ["-vf", ",".join(filters)]
    if duration is not None:
        output += ["-t", f"{duration:.3f}"]
    inputs = ["-ss", f"{start:.3f}"] if start else []
    reader, meta = start_reading(local_file(info.path), input_params=inputs,
                                 output_params=output)
    try:
        width, height = meta["size"]
        for i, data in enumerate(reader):
            yield i * step, np.frombuffer(data, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def _crop_filter(info, crop, fill_size):
    # ffmpeg's crop filter takes w:h:x:y.
    if fill_size is None:
        return crop_filter(crop)
    width, height = crop.cropped_size(info.width, info.height)
    x, y, w, h = fill_region(width, height, *fill_size)
    return f"crop={w}:{h}:{crop.left + x}:{crop.top + y}"


def open_stream(path, crop, max_height):
    """A camera (/dev/video*) or a stream URL, cropped ("auto" crops nothing: a stream cannot
    be sampled ahead) and scaled to at most max_height: (raw RGB frames, (width, height))."""
    if path.startswith("/dev/video"):
        params = ["-f", "v4l2"]
    else:
        params = [] if path.split("://")[0].lower() in LIVE_PROTOCOLS else ["-re"]
    filters = []
    if crop != "auto" and any(crop.as_list()):
        filters.append(crop_filter(crop))
    filters.append(f"scale=-2:'min({max_height},ih)':flags=lanczos")
    try:
        reader, meta = start_reading(path, input_params=params,
                                     output_params=["-vf", ",".join(filters)])
    except (OSError, RuntimeError, StopIteration) as err:
        raise InputError(f"cannot open {path}: {first_line(err)}") from None
    return reader, tuple(meta["size"])


def inset_width(output_width):
    """The width of the inset original (--inset): a quarter of the output's, even."""
    return max(2, (output_width // 4) // 2 * 2)


def check_inset(output_width, picture_width, picture_height):
    """InputError when the clip's picture is too flat to show as an inset at its width."""
    # ffmpeg's scale=W:-2 rounds half away from zero, to an even height
    height = int(inset_width(output_width) * picture_height / (picture_width * 2) + 0.5) * 2
    if height < 2:
        raise InputError(f"--inset: the {picture_width}x{picture_height} picture would be "
                         f"{height} pixels tall at {inset_width(output_width)} wide; leave "
                         "out --inset or crop less")


class VideoWriter:
    """Write uint8 RGB frames to an MP4 (H.264, yuv420p) that appears only when complete.

    width x height: the frames written. output_size: the video's size (frames are scaled with
    a lanczos filter; default: unchanged, padded to even). companion: another video file, read
    from companion_start for companion_duration seconds, whose audio is muxed in (audio=True)
    and/or which is shown small in the bottom-right corner (inset_crop, a frames.Crop).
    The default x264 preset is veryfast: on a 2-core machine the encoder shares the CPU with
    the model, and slower presets cost more frames/s than the smaller file is worth.
    Used as a `with` block: entering it starts ffmpeg on a scratch file beside path
    (atomic.temporary_name); leaving it moves the finished file to its name, or on an
    exception deletes it (abort()).
    """

    def __init__(self, path, width, height, fps, output_size=None, crf=18, preset="veryfast",
                 companion=None, companion_start=None, companion_duration=None, audio=False,
                 inset_crop=None):
        self.path = path
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
            cmd += ["-i", local_file(companion)]
        if use_companion and inset_crop is not None:
            inset_w = inset_width(out_w)
            margin = max(2, out_w // 64)
            graph.append(f"[1:v]{crop_filter(inset_crop)},scale={inset_w}:-2:flags=area[inset]")
            graph.append(f"[main][inset]overlay=W-w-{margin}:H-h-{margin}:eof_action=pass[video]")
        else:
            graph[0] = graph[0].replace("[main]", "[video]")
        cmd += ["-filter_complex", ";".join(graph), "-map", "[video]"]
        if use_companion and audio:
            cmd += ["-map", "1:a:0?", "-c:a", "aac", "-b:a", "192k"]
        cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "-f", "mp4"]
        self._command = cmd
        self._log = self.tmp_path = self._process = None
        self.frames = 0

    def __enter__(self):
        """Start ffmpeg on a scratch file; a signal waits until both are recorded, so that
        abort() removes both whenever it comes."""
        try:
            with signals_deferred():
                self._log = tempfile.TemporaryFile()
                self.tmp_path = atomic.temporary_name(self.path, ".mp4")
                self._process = subprocess.Popen(
                    self._command + [local_file(self.tmp_path)], stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, stderr=self._log)
        except BaseException:
            self.abort()
            raise
        return self

    def write(self, frame):
        frame = np.asarray(frame, dtype=np.uint8)
        if frame.shape[1::-1] != self.frame_size:
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, the writer takes "
                             f"{self.frame_size[0]}x{self.frame_size[1]}")
        try:
            self._process.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError:
            raise self._failure("stopped writing") from None
        self.frames += 1

    def _failure(self, what):
        """The OSError for ffmpeg's failure, with its last line (a full disk, a file-size
        limit, a missing permission): the scripts print it as one `error:` line."""
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._log.seek(0)
        text = self._log.read().decode("utf-8", "replace").strip().splitlines()
        code = self._process.returncode
        if text:
            reason = text[-1]
        elif code == -signal.SIGXFSZ:
            reason = "file too large: the file-size limit (ulimit -f) is reached"
        elif code is not None and code < 0:
            reason = f"killed by {signal.Signals(-code).name}"
        else:
            reason = f"exit code {code}"
        return OSError(errno.EIO, f"ffmpeg {what} it ({reason})", self.path)

    def close(self):
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        if self._process.wait() != 0:
            failure = self._failure("failed to write")
            self.abort()
            raise failure
        try:
            atomic.publish(self.tmp_path, self.path)
        finally:
            atomic.discard(self.tmp_path)
            self._log.close()

    def abort(self):
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self.tmp_path is not None:
            atomic.discard(self.tmp_path)
        if self._log is not None:
            self._log.close()

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
