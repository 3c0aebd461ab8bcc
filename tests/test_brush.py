"""The brush (Magenta's network in the paintings' style) and what keeps it to the clip: its
styles in the bundle, the detail it gets back, the strokes carried along the flow, and
process_video.py painting with it by default."""
import json
import os
import re
import shutil

import cv2
import imageio.v3 as iio
import numpy as np
import pytest

from helpers import probe, read_all, run_script
from vae.bundle.format import BRUSH_STYLES
from vae.models.brush import STYLE_LENGTH, Brush, BrushStyles, style_vectors, working_size
from vae.stylize import brush_painter
from vae.stylize.brush_painter import BrushPainter


def test_working_size_keeps_the_aspect_in_multiples_of_four():
    assert working_size(1280, 720) == (384, 216)
    assert working_size(720, 1280, 200) == (112, 200)
    for width, height in [(64, 36), (33, 17), (5, 400)]:
        size = working_size(width, height, 96)
        assert all(side % 4 == 0 and side >= 4 for side in size)
        assert max(size) in (96, 92, 100)


def test_the_brush_paints_in_its_style_at_any_multiple_of_four(media):
    image = iio.imread(os.path.join(media["paintings"], "landscape.png"))
    image = cv2.resize(image, (64, 36))
    style = style_vectors([os.path.join(media["paintings"], "landscape.png")])
    assert style.shape == (1, STYLE_LENGTH)
    painted = Brush(style[0])(image)
    assert painted.shape == (36, 64, 3) and painted.dtype == np.float32
    assert 0 <= painted.min() and painted.max() <= 1
    assert np.abs(painted - image / 255.0).mean() > 0.05  # repainted, not the image
    other = Brush(-style[0])(image)
    assert np.abs(other - painted).mean() > 0.01  # the style vector steers it


def test_brush_styles_per_source_and_for_the_collection(media, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.png").write_bytes(b"no image")
    assert BrushStyles.of_folders({"none": str(empty)}) is None
    styles = BrushStyles.of_folders({"paintings": media["paintings"], "none": str(empty)})
    assert styles.names == ["paintings"]  # a source without a readable painting has none
    every = style_vectors([os.path.join(media["paintings"], "landscape.png"),
                           os.path.join(media["paintings"], "nested", "portrait.jpg")])
    np.testing.assert_allclose(styles.style(), every.mean(0), rtol=1e-5)
    np.testing.assert_allclose(styles.style("paintings"), every.mean(0), rtol=1e-5)
    with pytest.raises(KeyError, match="no brush style for the painting source 'x'"):
        styles.style("x")
    back = BrushStyles.from_arrays(styles.to_arrays())
    assert back.names == styles.names
    np.testing.assert_array_equal(back.vectors, styles.vectors)
    with pytest.raises(ValueError, match="not \\(1, 100\\)"):
        BrushStyles.from_arrays({**styles.to_arrays(), "vectors": np.zeros((1, 7))})


class FlatBrush:
    """A stand-in Brush: every call paints the next of `colours` all over."""
    side = 32

    def __init__(self, *colours):
        self.colours = list(colours)

    def __call__(self, image):
        return np.full(image.shape, self.colours.pop(0), np.float32)


def scene(seed, size=(36, 64)):
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (*size, 3), dtype=np.uint8), (0, 0), 2)


def test_the_frame_s_fine_detail_comes_back_at_the_output_size():
    frame = scene(0)
    out = BrushPainter(FlatBrush(0.5), steadiness=0)(frame[None], frame[None])[0]
    own = frame.astype(np.float64) / 255
    fine = own - cv2.GaussianBlur(own, (0, 0), brush_painter.DETAIL_SIGMA)
    expected = np.clip(0.5 + fine, 0, 1) * 255
    assert np.abs(out - expected).max() <= 1.5  # the blur taken in whole levels
    assert np.abs(out - 127.5).mean() > 3  # the detail is there
    plain = BrushPainter(FlatBrush(0.5), detail=0, steadiness=0)(frame[None], frame[None])
    assert np.abs(plain.astype(int) - 128).max() <= 1 and plain.dtype == np.uint8


def test_paint_blends_the_strokes_with_the_frame_they_repaint():
    frame, styled = scene(0), np.full((36, 64, 3), 40, np.uint8)
    out = BrushPainter(FlatBrush(0.8), detail=0, steadiness=0)(styled[None], frame[None], 0.25)
    assert np.abs(out.astype(float) - (40 + 0.25 * (0.8 * 255 - 40))).max() <= 1


def test_strokes_are_carried_along_the_flow_where_it_holds_and_not_across_a_cut():
    still = np.stack([scene(0)] * 2)
    out = BrushPainter(FlatBrush(0.2, 0.8), detail=0)(still, still)
    held = brush_painter.STEADINESS
    assert np.abs(out[1] - 255 * (0.8 + held * (0.2 - 0.8))).max() <= 1.5

    cut = np.stack([np.zeros((36, 64, 3), np.uint8), np.full((36, 64, 3), 255, np.uint8)])
    out = BrushPainter(FlatBrush(0.2, 0.8), detail=0)(cut, cut)
    np.testing.assert_array_equal(out[1], 204)  # 0.8: nothing of the last shot carried over


def test_a_clip_painted_in_batches_is_the_clip_painted_at_once():
    frames = np.stack([scene(0), np.roll(scene(0), 2, axis=1), np.roll(scene(0), 4, axis=1)])
    colours = (0.1, 0.5, 0.9)
    whole = BrushPainter(FlatBrush(*colours))(frames, frames)
    painter = BrushPainter(FlatBrush(*colours))
    parts = np.concatenate([painter(frames[:1], frames[:1]), painter(frames[1:], frames[1:])])
    np.testing.assert_array_equal(parts, whole)


def test_forgetting_the_past_gives_a_frame_its_steady_state(runs, media):
    from vae.bundle.loader import Bundle
    from vae.stylize.frame_stylizer import FrameStylizer
    from vae.stylize.settings import StyleSettings

    bundle = Bundle(runs["bundle"])
    plan = StyleSettings().resolve(bundle)
    assert (plan.painter, plan.settings.paint, plan.full_size) == ("brush", 1.0, True)
    shift = plan.shift(bundle, bundle.means.mean("letterbox"))
    frames = np.stack([scene(1, (54, 96)), scene(2, (54, 96))])
    played = FrameStylizer(bundle, plan, shift)
    after_history = played(frames)[1]
    alone = FrameStylizer(bundle, plan, shift)(frames[1:])[0]
    assert np.abs(after_history.astype(int) - alone).mean() > 1  # strokes were carried
    played.forget()  # the live page holding a frame
    np.testing.assert_array_equal(played(frames[1:])[0], alone)


def summary(result):
    """process_video.py's summary row as {column: value}, read by the columns' positions."""
    lines = result.stdout.strip().splitlines()
    header, rule, row = lines[-3:]
    spans = [(m.start(), m.end()) for m in re.finditer("-+", rule)]
    return {header[a:b].strip(): row[a:b + 1].strip() for a, b in spans}


def test_the_exported_bundle_has_the_paintings_brush_styles(runs, media):
    assert "brush styles: paintings" in runs["export"].stdout
    with np.load(os.path.join(runs["bundle"], BRUSH_STYLES)) as arrays:
        styles = BrushStyles.from_arrays(arrays)
    np.testing.assert_allclose(styles.style(), BrushStyles.of_folders(
        {"paintings": media["paintings"]}).style(), rtol=1e-5)


def test_process_video_paints_with_the_brush_by_default(runs, media, tmp_path):
    default, plain = str(tmp_path / "default.mp4"), str(tmp_path / "plain.mp4")
    result = run_script("process_video.py", media["plain"], "-o", default,
                        "--model", runs["bundle"])
    assert result.returncode == 0, result.stderr
    row = summary(result)
    assert (row["paint"], row["painter"]) == ("1", "brush")
    result = run_script("process_video.py", media["plain"], "-o", plain, "--model",
                        runs["bundle"], "--paint", "0")
    assert result.returncode == 0, result.stderr
    assert summary(result)["painter"] == "none"
    assert probe(default)[:4] == probe(plain)[:4]  # frames, size, audio
    assert np.abs(read_all(default).astype(float) - read_all(plain)).mean() > 5


def test_a_bundle_without_brush_styles_paints_nothing_by_default(runs, media, tmp_path):
    bundle = str(tmp_path / "bundle")
    shutil.copytree(runs["bundle"], bundle)
    os.remove(os.path.join(bundle, BRUSH_STYLES))
    out = str(tmp_path / "out.mp4")
    result = run_script("process_video.py", media["plain"], "-o", out, "--model", bundle)
    assert result.returncode == 0, result.stderr
    assert (summary(result)["paint"], summary(result)["painter"]) == ("0", "none")
    for flags, message in [
            (["--painter", "brush"], "with the brush needs a bundle with the paintings' brush "
                                     "styles"),
            (["--paint", "0.5"], "paint 0.5 needs a bundle with a painter"),
            (["--painter", "trained"], "paint 1 needs a bundle with a painter")]:
        result = run_script("process_video.py", media["plain"], "-o", out, "--model", bundle,
                            *flags)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert os.path.getsize(out) > 0  # the earlier output is left as it was


def test_a_style_the_brush_has_no_vector_for_is_refused(runs, media, tmp_path):
    bundle = str(tmp_path / "bundle")
    shutil.copytree(runs["bundle"], bundle)
    other = BrushStyles(["others"], np.zeros((1, STYLE_LENGTH), np.float32),
                        np.zeros(STYLE_LENGTH, np.float32))
    np.savez(os.path.join(bundle, BRUSH_STYLES), **other.to_arrays())
    out = str(tmp_path / "out.mp4")
    result = run_script("process_video.py", media["plain"], "-o", out, "--model", bundle,
                        "--style", "paintings")
    assert result.returncode == 2, result.stderr
    assert "no brush style for the painting source 'paintings'" in result.stderr
    assert not os.path.exists(out)
    result = run_script("process_video.py", media["plain"], "-o", out, "--model", bundle,
                        "--style", "paintings", "--painter", "trained", "--paint", "0")
    assert result.returncode == 0, result.stderr  # without the brush the style is the VAE's


def test_export_says_when_the_paintings_files_are_gone(runs, tmp_path, capsys):
    from vae.train.to_bundle import brush_styles

    manifest = json.load(open(os.path.join(runs["data"], "manifest.json")))
    for source in manifest["sources"]:
        source["path"] = str(tmp_path / "moved")
    assert brush_styles(manifest) is None
    out = capsys.readouterr().out
    assert f"the paintings at {tmp_path / 'moved'} are gone" in out
    assert "the bundle has no brush" in out


def test_painter_flag_is_checked_by_argparse(runs, media, tmp_path):
    result = run_script("process_video.py", media["plain"], "-o", str(tmp_path / "x.mp4"),
                        "--model", runs["bundle"], "--painter", "oils")
    assert result.returncode == 2
    assert "argument --painter: invalid choice: 'oils'" in result.stderr
