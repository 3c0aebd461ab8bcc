"""The live preview behind `process_video.py --live`: the input played frame by frame, and each
frame stylised with the settings of that moment.

This is plain Python (a thread, numpy, the bundle), testable without a browser or an event
loop; vae/live/server.py only carries it over HTTP. The preview runs at a small size
(PREVIEW_SCALE times the model's height) so that it keeps pace on a CPU; Render writes the
whole clip at full size through vae.stylize.render, the plain command's own code.
"""
import contextlib
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from vae import InputError
from vae.media import video

PREVIEW_SCALE = 2  # preview height = this x the model's height (at most the input's)
STREAM_MEAN_FRAMES = 16  # a camera's or stream's own mean code: from its first frames
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Frame:
    """One preview step: the input and stylised frames as JPEG, and what produced them."""
    serial: int  # counts every frame shown since the start
    index: int  # the input frame's number in the clip (it restarts when a file loops)
    version: int  # the settings version used
    width: int
    height: int
    input_jpeg: bytes
    output_jpeg: bytes


def preview_size(width, height, model_height):
    """(w, h), both even: PREVIEW_SCALE x the model's height, never above the input's, with
    the input's aspect ratio."""
    target = min(height, PREVIEW_SCALE * model_height)
    target -= target % 2
    return max(2, round(width * target / height / 2) * 2), max(2, target)


class FileInput:
    """A video file's frames (its --start/--duration excerpt), at preview size, looped, and
    played at most at the clip's frame rate (frame_interval seconds apart)."""
    renderable = True

    def __init__(self, path, crop, start, duration, model_height):
        self.path = path
        self.info = video.probe_video(path)
        self.crop = video.clip_crop(self.info, crop)
        self.size = preview_size(*self.crop.cropped_size(self.info.width, self.info.height),
                                 model_height)
        self.frame_interval = 1.0 / (self.info.fps or 25.0)
        self.start, self.duration = start, duration

    def frames(self):
        """(index, frame) forever, restarting the excerpt when it ends."""
        while True:
            count = 0
            for count, (index, frame) in enumerate(video.video_frames(  # noqa: B007 (read after)
                    self.info, self.crop, self.size, start=self.start, duration=self.duration),
                    start=1):
                yield index, frame
            if count == 0:
                raise InputError(f"no frames in the selected range of {self.path}")

    def close(self):
        pass


class StreamInput:
    """A camera (/dev/video*) or a stream URL, at preview size. A reader thread keeps only the
    newest frame, so a slow model drops frames instead of falling behind the live picture."""
    renderable = False
    frame_interval = 0.0  # frames come at the source's own pace

    def __init__(self, path, crop, model_height):
        self.path = path
        self._reader, self.size = video.open_stream(path, crop, PREVIEW_SCALE * model_height)
        self._latest, self._count, self._error = None, 0, None
        self._changed = threading.Condition()
        self._closed = False
        threading.Thread(target=self._read, daemon=True, name="stream-reader").start()

    def _read(self):
        width, height = self.size
        try:
            for data in self._reader:
                with self._changed:
                    if self._closed:
                        break
                    self._latest = np.frombuffer(data, np.uint8).reshape(height, width, 3)
                    self._count += 1
                    self._changed.notify_all()
        except Exception as err:  # reported to the consumer
            self._error = err
        finally:
            self._reader.close()  # ends ffmpeg; only this thread may close the generator
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def frames(self):
        seen = 0
        while True:
            with self._changed:
                # the condition runs now, inside this iteration
                self._changed.wait_for(lambda: self._count > seen or self._closed)  # noqa: B023
                if self._count == seen:
                    raise InputError(f"{self.path} ended" + (
                        f": {video.first_line(self._error)}" if self._error else ""))
                seen, frame = self._count, self._latest
            yield seen - 1, frame

    def close(self):
        """Stop reading: the reader thread ends ffmpeg after its next frame (a camera that
        sends none keeps it, a daemon thread, until the program exits)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()


def is_file(path):
    """True for a video file, False for a camera (/dev/...) or a URL; InputError otherwise."""
    from vae.media.video import not_a_video_file

    if os.path.isfile(path):
        return True
    if "://" not in path and not path.startswith("/dev/"):
        raise InputError(not_a_video_file(path))
    return False


def open_input(path, crop, start, duration, model_height):
    """A FileInput for a file (played in a loop, can be rendered), else a StreamInput."""
    if is_file(path):
        return FileInput(path, crop, start, duration, model_height)
    return StreamInput(path, crop, model_height)


def encode_jpeg(frame):
    import tensorflow as tf

    return tf.io.encode_jpeg(frame, quality=JPEG_QUALITY).numpy()


class Preview:
    """Plays `source` through the model on a thread, one frame at a time, with the settings of
    that moment, and calls on_frame() after each new Frame (in `latest`).

    paused: the current input frame is
    held and stylised again (without smoothing) whenever the settings change. hold(): no
    frames while a render uses the CPU.
    """

    def __init__(self, bundle, source, settings, source_mean, on_frame=lambda: None):
        from vae.stylize.frame_stylizer import FrameStylizer

        self.bundle, self.source, self.source_mean = bundle, source, source_mean
        self.on_frame = on_frame
        self.styles = bundle.means.names_of("painting")
        self.settings, self.version = settings, 0
        self.stylizer = FrameStylizer(bundle, *self._plan(settings))
        # fps: frames shown a second; frame_ms: the model's and JPEG's time for one of them
        self.latest, self.fps, self.frame_ms, self.error = None, 0.0, 0.0, None
        self.paused, self._held, self._stopped = False, 0, False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True, name="live-preview")

    def _plan(self, settings):
        """(the StylePlan, the shift): frames at the output's size, whatever the settings."""
        plan = settings.resolve(self.bundle, full_size=True)
        return plan, plan.shift(self.bundle, self.source_mean)

    def start(self):
        self._thread.start()

    def update(self, changes):
        """Apply a page's changes (validated: ValueError leaves everything as it was); returns
        (settings, version)."""
        with self._changed:
            settings = self.settings.changed(changes, self.styles)
            try:  # what the bundle cannot do (paint without a painter, a style the brush lacks)
                settings.resolve(self.bundle, full_size=True)
            except InputError as err:
                raise ValueError(str(err)) from None
            if settings != self.settings:
                self.settings, self.version = settings, self.version + 1
                self._changed.notify_all()
            return self.settings, self.version

    def set_paused(self, paused):
        with self._changed:
            self.paused = bool(paused)
            self._changed.notify_all()

    @contextlib.contextmanager
    def hold(self):
        """No preview frames inside this block (a render has the CPU)."""
        with self._changed:
            self._held += 1
        try:
            yield
        finally:
            with self._changed:
                self._held -= 1
                self._changed.notify_all()

    def stop(self):
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        self.source.close()  # wakes a thread waiting for a camera's next frame
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self):
        try:
            self._play()
        except Exception as err:  # shown on the page and printed by the server
            self.error = f"{type(err).__name__}: {err}" if not isinstance(err, InputError) \
                else str(err)
            self.on_frame()

    def _play(self):
        frames = self.source.frames()
        index, frame = next(frames)
        applied, serial, shown_at = None, 0, []
        next_due = time.monotonic()
        while True:
            with self._changed:
                # Paused: wait for a change of settings; held: wait for the render to end.
                self._changed.wait_for(lambda: self._stopped or (not self._held and not (
                    self.paused and applied == self.version)))  # noqa: B023 (runs now)
                if self._stopped:
                    return
                settings, version, paused = self.settings, self.version, self.paused
            if not paused and applied is not None:
                index, frame = next(frames)
            if applied != version:
                self.stylizer.configure(*self._plan(settings))
            if paused:
                self.stylizer.forget()  # a held frame shows its steady state
            began = time.monotonic()
            output = self.stylizer(frame[np.newaxis])[0]
            self.latest = Frame(serial + 1, index, version, frame.shape[1], frame.shape[0],
                                encode_jpeg(frame), encode_jpeg(output))
            applied, serial = version, serial + 1
            now = time.monotonic()
            shown_at = [(t, d) for t, d in shown_at if t > now - 2.0] + [(now, now - began)]
            self.fps = (len(shown_at) - 1) / max(now - shown_at[0][0], 1e-6)
            self.frame_ms = 1000 * sum(d for _, d in shown_at) / len(shown_at)
            self.on_frame()
            next_due = max(next_due + self.source.frame_interval, now)
            if next_due > now:
                time.sleep(next_due - now)
