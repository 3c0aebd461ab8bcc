"""vae.quality's figures on constructed cases, where the right answer is known."""
import numpy as np
import pytest

from helpers import brush_strokes
from vae.metrics import quality


@pytest.fixture(scope="module")
def clip():
    """24 frames of textured shapes drifting right by 1 px a frame: real edges and motion."""
    rng = np.random.default_rng(0)
    height, width = 48, 64
    texture = rng.uniform(0, 1, (height, width + 40, 3)).astype(np.float32)
    texture = (texture + np.roll(texture, 1, 0) + np.roll(texture, 1, 1)) / 3  # a little smooth
    scene = np.where(np.arange(width + 40)[None, :, None] % 20 < 10, texture, 1 - texture)
    return np.stack([scene[:, 40 - t:40 - t + width] for t in range(24)]).astype(np.float32)


def test_output_equal_to_input(clip):
    assert quality.edge_correlation(clip, clip) == pytest.approx(1.0)
    assert quality.ssim_luma(clip, clip) == pytest.approx(1.0, abs=1e-5)
    target = quality.style_statistics(clip[:4] * 0.5 + 0.4)  # some other look
    stats = quality.style_statistics(clip)
    assert all(v == pytest.approx(0.0) for v in quality.gap_closed(stats, stats, target).values())


def test_sharpness_of_known_images():
    # a one-pixel grey checkerboard: the Laplacian is +-4 everywhere inside, variance 16
    board = (np.indices((16, 16)).sum(0) % 2)[None, :, :, None] * np.ones(3, np.float32)
    assert quality.sharpness(board) == pytest.approx(16.0, rel=1e-4)
    assert quality.sharpness(np.full_like(board, 0.5)) == pytest.approx(0.0, abs=1e-10)


def test_warping_error_with_known_warps(clip):
    height, width = clip.shape[1:3]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    everywhere = np.ones((height, width), bool)
    # no warp: the mean squared change between consecutive frames, computed here
    identity = [(xs, ys, everywhere)] * (len(clip) - 1)
    expected = np.mean([((clip[t] - clip[t - 1]) ** 2).mean() for t in range(1, len(clip))])
    assert expected > 0.01
    assert quality.warping_error(clip, identity) == pytest.approx(expected, rel=1e-4)
    # the scene drifts right by 1 px a frame: pixel x of frame t is pixel x - 1 of frame t - 1
    inside = everywhere.copy()
    inside[:, 0] = False
    drift = [(xs - 1, ys, inside)] * (len(clip) - 1)
    assert quality.warping_error(clip, drift) == pytest.approx(0.0, abs=1e-8)
    # the optical flow finds that drift: far less error than without a warp
    assert quality.warping_error(clip, quality.input_flows(clip)) < 0.2 * expected


def test_constant_grey_output_keeps_no_structure(clip):
    grey = np.full_like(clip, 0.5)
    assert quality.edge_correlation(clip, grey) == pytest.approx(0.0, abs=1e-6)
    assert quality.ssim_luma(clip, grey) < 0.1
    assert quality.sharpness(grey) == 0.0
    assert quality.mean_frame_change(grey) == 0.0


def test_style_gap_closed_moves_the_right_way(clip):
    paintings = np.clip(clip[:8] * [0.8, 0.5, 0.3] + [0.2, 0.1, 0.0], 0, 1)  # warm browns
    target = quality.style_statistics(paintings)
    before = quality.style_statistics(clip)
    halfway = quality.style_statistics((clip + np.clip(clip * [0.8, 0.5, 0.3] + [0.2, 0.1, 0.0],
                                                       0, 1)) / 2)
    closed = quality.gap_closed(before, halfway, target)
    assert 0.3 < closed["colour_moments"] < 0.7
    assert closed["colour_histogram"] > 0.1
    reached = quality.gap_closed(before, target, target)
    assert all(v == pytest.approx(1.0) for v in reached.values())
    # blurring the clip changes its texture statistics away from the sharp paintings
    blurred = (clip + np.roll(clip, 1, 1) + np.roll(clip, 1, 2) + np.roll(clip, -1, 1)) / 4
    assert quality.gap_closed(before, quality.style_statistics(blurred),
                              quality.style_statistics(clip[:8]))["texture_gram"] < 0


def test_warping_error_grows_with_flicker(clip):
    warps = quality.input_flows(clip)
    rng = np.random.default_rng(1)
    flicker = np.clip(clip + rng.uniform(-0.2, 0.2, (len(clip), 1, 1, 3)), 0, 1)
    assert quality.warping_error(flicker, warps) > 3 * quality.warping_error(clip, warps)
    assert quality.mean_frame_change(flicker) > quality.mean_frame_change(clip)


def test_blur_lowers_sharpness_and_edges_stay_where_they_were():
    x = np.arange(64)[None, None, :, None]
    y = np.arange(48)[None, :, None, None]
    shapes = np.broadcast_to(((x // 8 + y // 12) % 2).astype(np.float32), (4, 48, 64, 3))
    blurred = (shapes + np.roll(shapes, 1, 1) + np.roll(shapes, 1, 2)
               + np.roll(shapes, 1, (1, 2))) / 4
    assert quality.sharpness(blurred) < 0.5 * quality.sharpness(shapes)
    assert quality.edge_correlation(shapes, blurred) > 0.6
    shifted = np.roll(shapes, 4, 2)  # the same edges, in the wrong places
    assert quality.edge_correlation(shapes, shifted) < 0.2


def test_pasted_painting_patches_are_near_their_bank(clip):
    """A clip made of the paintings' own pixels is at distance 0 from their patches (the bank
    holds every patch of this small painting); a clip that only shares their colours is not."""
    paintings = clip[:1, :12, :12]
    bank = quality.patches(paintings)
    assert bank.shape == (quality.PATCHES, quality.PATCH_SIZE ** 2 * 3)
    assert quality.nearest_patch_distance(paintings, bank) == pytest.approx(0.0, abs=1e-3)
    flat = np.broadcast_to(paintings.mean(axis=(1, 2), keepdims=True), paintings.shape)
    assert quality.nearest_patch_distance(flat, bank) > 0.1


def test_the_two_texture_banks_differ_and_agree_on_identity(clip):
    stats = quality.style_statistics(clip)
    assert not np.allclose(stats["texture_gram"], stats["texture_gram_second"])
    blurred = (clip + np.roll(clip, 1, 1) + np.roll(clip, 1, 2)) / 3
    closed = quality.gap_closed(quality.style_statistics(blurred), stats, stats)
    assert closed["texture_gram"] == pytest.approx(1.0)
    assert closed["texture_gram_second"] == pytest.approx(1.0)


def flat_shapes(rng, count, height, width):
    """Frames of flat discs over a gradient: edges, and no texture."""
    ys, xs = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    frames = []
    for _ in range(count):
        image = rng.uniform(0, 1, 3) * xs[..., None] + rng.uniform(0, 1, 3) * ys[..., None]
        for _ in range(4):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.2)
            inside = (((xs - cx) ** 2 + (ys - cy) ** 2) < r ** 2)[..., None]
            image = np.where(inside, rng.uniform(0, 1, 3), image)
        frames.append(image / max(image.max(), 1))
    return np.clip(np.stack(frames), 0, 1).astype(np.float32)


def test_texture_as_seen_tells_brushwork_from_blur_better_than_at_the_model_size(tmp_path):
    """Painting files with fine strokes, seen as tall as a 320x180 frame: views of them close
    the texture gap from flat frames, the frames blurred open it wide; with the paintings and
    frames shrunk whole to 128x72 (the model's size) the strokes are mostly gone, and the
    blurred frames seem far less wrong."""
    import imageio.v3 as iio
    import tensorflow as tf

    from vae.media import frames as pictures
    from vae.metrics.painting_probe import blurred

    rng = np.random.default_rng(0)
    for number in range(2):
        iio.imwrite(tmp_path / f"p{number}.png",
                    (brush_strokes(rng, 540, 720, 6000, 8, 1.5, (0.3, 0.7)) * 255).astype(np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not a picture")  # skipped
    views = quality.paintings_as_seen(str(tmp_path), (320, 180))
    assert views.shape == (2 * quality.PAINTING_VIEWS, 180, 320, 3)
    seen = quality.style_statistics(views)
    frames = flat_shapes(rng, 6, 180, 320)
    painted = quality.paintings_as_seen(str(tmp_path), (320, 180), crops=3, seed=5)[:6]

    def closed(outputs, inputs, target):
        gap = quality.gap_closed(quality.style_statistics(inputs),
                                 quality.style_statistics(outputs), target)
        return gap["texture_gram"], gap["texture_gram_second"]

    assert min(closed(painted, frames, seen)) > 0.9
    as_seen = closed(blurred(frames), frames, seen)
    assert max(as_seen) < -0.5

    def small(images):
        return tf.image.resize(images, (72, 128), antialias=True).numpy()

    bank = np.stack([pictures.fill_resize(iio.imread(tmp_path / f"p{n}.png"), (128, 72))
                     for n in range(2)]).astype(np.float32) / 255
    at_model_size = closed(small(blurred(frames)), small(frames),
                           quality.style_statistics(bank))
    assert all(new < old - 0.3 for new, old in zip(as_seen, at_model_size))
    with pytest.raises(ValueError, match="no readable painting"):
        quality.paintings_as_seen(str(tmp_path / "missing"), (320, 180))


def test_ghost_edges_count_shapes_the_input_does_not_have():
    from vae.metrics.painting_probe import blurred

    frames = flat_shapes(np.random.default_rng(1), 6, 180, 320)
    assert quality.ghost_edges(frames, frames) == pytest.approx(0.0)
    assert quality.ghost_edges(frames, blurred(frames)) < 0.02  # blur adds no shape
    # another frame's shapes laid over each frame at 30 %: a ghost
    ghosted = 0.7 * frames + 0.3 * frames[::-1]
    assert quality.ghost_edges(frames, ghosted) > 0.05
