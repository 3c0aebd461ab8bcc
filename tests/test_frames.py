"""Library functions of vae.frames: parsing, border detection, fill-resizing, streaming."""
import numpy as np
import pytest

from vae import InputError
from vae.media import frames, video


def test_parse_size_and_crop():
    assert frames.parse_size("320x180") == (320, 180)
    assert frames.parse_size("64X36") == (64, 36)
    for bad in ("320", "x180", "320x", "-3x4", "1x1", "axb"):
        with pytest.raises(ValueError):
            frames.parse_size(bad)
    assert frames.parse_crop("auto") == "auto"
    assert frames.parse_crop("none") == frames.Crop()
    assert frames.parse_crop("60,0,60,0") == frames.Crop(60, 0, 60, 0)
    for bad in ("1,2,3", "a,b,c,d", "-1,0,0,0", "big"):
        with pytest.raises(ValueError):
            frames.parse_crop(bad)


def picture(height, width, value=128):
    rng = np.random.default_rng(0)
    return rng.integers(value - 60, value + 60, (height, width, 3)).astype(np.uint8)


def test_detect_borders_letterbox_pillarbox_and_none():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[12:90, 30:170] = picture(78, 140)
    assert frames.detect_borders([frame]) == frames.Crop(12, 30, 10, 30)
    assert frames.detect_borders([picture(100, 200)]) == frames.Crop()
    assert frames.detect_borders([np.zeros((10, 10, 3), np.uint8)]) == frames.Crop()


def test_detect_borders_uses_all_samples():
    """A dark scene must not be taken for a border when other frames show those rows."""
    dark_top = picture(100, 200)
    dark_top[:40] = 5
    assert frames.detect_borders([dark_top]) == frames.Crop(40, 0, 0, 0)
    assert frames.detect_borders([dark_top, picture(100, 200)]) == frames.Crop()


def test_fill_region_and_fill_resize_never_stretch():
    assert frames.fill_region(400, 100, 32, 18) == (111, 0, 178, 100)
    assert frames.fill_region(100, 300, 32, 18) == (0, 122, 100, 56)
    # a tall image striped red / green / blue: filling a wide frame keeps only the green middle
    tall = np.zeros((300, 100, 3), np.uint8)
    tall[:100, :, 0] = 255
    tall[100:200, :, 1] = 255
    tall[200:, :, 2] = 255
    out = frames.fill_resize(tall, (32, 18))
    assert out.shape == (18, 32, 3) and out.dtype == np.uint8
    assert out[..., 1].min() == 255 and out[..., 0].max() == 0 and out[..., 2].max() == 0


@pytest.mark.parametrize("mode,colour,suffix,expected", [
    ("RGB", (200, 30, 10), ".png", (200, 30, 10)),
    ("CMYK", (0, 255, 255, 0), ".jpg", (255, 0, 0)),  # pure red in CMYK, not cyan
    ("L", 200, ".png", (200, 200, 200)),
    ("LA", (100, 255), ".png", (100, 100, 100)),  # opaque grey
    ("LA", (100, 0), ".png", (255, 255, 255)),  # transparent: the white background
    ("RGBA", (0, 0, 200, 128), ".png", (127, 127, 227)),  # half blue over white
    ("P", None, ".png", (10, 200, 30)),
    ("I;16", 51400, ".png", (200, 200, 200)),  # 16-bit grey: the high byte
    ("1", 1, ".bmp", (255, 255, 255)),
])
def test_load_image_converts_every_mode_to_rgb(tmp_path, mode, colour, suffix, expected):
    from PIL import Image

    if mode == "P":
        image = Image.new("RGB", (8, 6), (10, 200, 30)).quantize(colors=4)
    else:
        image = Image.new(mode, (8, 6), colour)
    path = tmp_path / f"image{suffix}"
    image.save(path, quality=95) if suffix == ".jpg" else image.save(path)
    loaded = frames.load_image(path)
    assert loaded.shape == (6, 8, 3) and loaded.dtype == np.uint8
    tolerance = 6 if suffix == ".jpg" else 1
    assert np.abs(loaded.astype(int) - expected).max() <= tolerance, (mode, loaded[0, 0])


def test_load_image_animated_gives_the_first_frame(tmp_path):
    from PIL import Image

    first, second = Image.new("RGB", (4, 4), (250, 0, 0)), Image.new("RGB", (4, 4), (0, 0, 250))
    first.save(tmp_path / "anim.webp", save_all=True, append_images=[second], lossless=True)
    assert tuple(frames.load_image(tmp_path / "anim.webp")[0, 0]) == (250, 0, 0)


def test_video_frames_streams_every_nth_frame_cropped_and_resized(media):
    info = video.probe_video(media["letterbox"])
    assert (info.width, info.height) == (160, 120)
    got = list(video.video_frames(info, frames.Crop(16, 0, 16, 0), (40, 22), step=4))
    assert [i for i, _ in got] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert all(f.shape == (22, 40, 3) for _, f in got)
    full = list(video.video_frames(info))
    assert len(full) == 30 and full[0][1].shape == (120, 160, 3)


def test_probe_rejects_missing_and_non_video(tmp_path):
    with pytest.raises(InputError, match="not found"):
        video.probe_video(str(tmp_path / "missing.mp4"))
    (tmp_path / "text.mp4").write_text("hello")
    with pytest.raises(InputError, match="cannot decode"):
        video.probe_video(str(tmp_path / "text.mp4"))


class SlowStarts:
    """imageio_ffmpeg.read_frames as a machine busy with training sees it: the first `slow`
    starts wait out imageio-ffmpeg's header wait (the clock jumps by it) and fail; `fail_fast`
    makes every start fail at once, as ffmpeg does on a file that is not a video."""

    def __init__(self, monkeypatch, slow=0, fail_fast=False):
        self.now, self.calls, self.closed = 0.0, 0, 0
        self.slow, self.fail_fast = slow, fail_fast
        real = video.imageio_ffmpeg.read_frames
        monkeypatch.setattr(video.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(video.imageio_ffmpeg, "read_frames",
                            lambda path, **kw: self.reader(real, path, **kw))

    def reader(self, real, path, **kwargs):
        self.calls += 1
        if self.fail_fast or self.calls <= self.slow:
            return self.failing()
        return real(path, **kwargs)

    def failing(self):
        try:
            if not self.fail_fast:
                self.now += video.HEADER_WAIT
            raise OSError("Could not load meta information\n=== stderr ===\n")
            yield
        finally:
            self.closed += 1


def test_a_start_that_timed_out_is_tried_again(media, monkeypatch):
    """A good clip whose ffmpeg was slow to start (a loaded machine) is read after all; the
    failed readers are closed."""
    starts = SlowStarts(monkeypatch, slow=video.START_TRIES - 1)
    info = video.probe_video(media["letterbox"])
    assert (info.width, info.height) == (160, 120)
    assert starts.calls == video.START_TRIES and starts.closed == video.START_TRIES - 1
    starts.calls, starts.slow = 0, 1
    assert video.read_frame_at(media["letterbox"], 0.5).shape == (120, 160, 3)
    assert starts.calls == 2


def test_a_start_that_failed_at_once_or_timed_out_every_time_is_an_error(media, monkeypatch,
                                                                         tmp_path):
    starts = SlowStarts(monkeypatch, fail_fast=True)
    with pytest.raises(InputError, match="cannot decode video .*Could not load meta"):
        video.probe_video(media["letterbox"])
    assert starts.calls == 1  # not a timeout: not tried again
    starts = SlowStarts(monkeypatch, slow=video.START_TRIES)
    with pytest.raises(InputError, match="cannot decode video"):
        video.probe_video(media["letterbox"])
    assert starts.calls == video.START_TRIES and starts.closed == video.START_TRIES
