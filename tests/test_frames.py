"""Library functions of vae.frames: parsing, border detection, fill-resizing, streaming."""
import numpy as np
import pytest

from vae import InputError
from vae.media import frames
from vae.media import video


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


def test_load_image_converts_grey_and_alpha(tmp_path):
    import imageio.v3 as iio
    iio.imwrite(tmp_path / "grey.png", np.full((5, 7), 200, np.uint8))
    iio.imwrite(tmp_path / "rgba.png", np.full((5, 7, 4), 100, np.uint8))
    for name in ("grey.png", "rgba.png"):
        image = frames.load_image(tmp_path / name)
        assert image.shape == (5, 7, 3) and image.dtype == np.uint8


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
