"""The painting probe: its classifier on features with a known answer, and the whole probe
(the shipped style predictor) on brush-stroke images against smooth ones and their copies."""
import numpy as np
import pytest

from helpers import brush_strokes
from vae.metrics import painting_probe

FRAME = (64, 36)


def test_logistic_regression_separates_and_balances_classes():
    rng = np.random.default_rng(0)
    painted = rng.normal(1.5, 1.0, (20, 5))
    plain = rng.normal(-1.5, 1.0, (200, 5))  # ten times as many: balanced by weights
    predict = painting_probe.fit_logistic(np.r_[painted, plain],
                                          np.r_[np.ones(20), np.zeros(200)], l2=1.0)
    assert predict(rng.normal(1.5, 1.0, (100, 5))).mean() > 0.9
    assert predict(rng.normal(-1.5, 1.0, (100, 5))).mean() < 0.1
    middle = predict(np.zeros((1, 5)))[0]  # halfway between the class means
    assert 0.2 < middle < 0.8


def strokes(rng, count):
    """Canvases covered in short, thick, straight strokes of random colours and angles."""
    return np.stack([brush_strokes(rng, 72, 128, 160, 7, 1.5)
                     for _ in range(count)]).astype(np.float32)


def smooth(rng, count):
    """Photograph-like frames: smooth gradients with soft blobs and a little sensor noise."""
    height, width = 72, 128
    ys, xs = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    images = []
    for _ in range(count):
        image = rng.uniform(0, 1, 3) * xs[..., None] + rng.uniform(0, 1, 3) * ys[..., None]
        for _ in range(3):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
            blob = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / r ** 2)[..., None]
            image = image * (1 - blob) + blob * rng.uniform(0, 1, 3)
        images.append(image / max(image.max(), 1) + rng.normal(0, 0.01, image.shape))
    return np.clip(np.stack(images), 0, 1).astype(np.float32)


def drawings(rng, count):
    """Cartoon-like pictures: flat discs of one colour each, outlined in black, on white."""
    height, width = 72, 128
    ys, xs = np.mgrid[0:height, 0:width]
    images = []
    for _ in range(count):
        image = np.ones((height, width, 3))
        for _ in range(4):
            cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(8, 25)
            distance = np.hypot(xs - cx, ys - cy)
            image[distance < r + 2] = 0.0
            image[distance < r] = rng.uniform(0, 1, 3)
        images.append(image)
    return np.stack(images).astype(np.float32)


@pytest.fixture(scope="module")
def probe():
    pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    groups = [strokes(rng, 4) for _ in range(4)]  # four "paintings", four crops each
    return painting_probe.PaintingProbe(groups, smooth(rng, 40), FRAME)


def test_the_probe_calls_brush_strokes_painted_and_smooth_frames_or_their_copies_not(probe):
    rng = np.random.default_rng(2)
    sanity = probe.sanity(smooth(rng, 12))
    assert sanity["held_out_paintings"] > 0.8, sanity
    assert sanity["input_frames"] < 0.2 and sanity["degraded_input_frames"] < 0.2, sanity
    assert probe.probability(strokes(rng, 6)) > 0.8  # new strokes, never fitted on
    # the smooth frames in the paintings' palette, sharp or blurred, are still not paintings
    assert sanity["recoloured_input_frames"] < 0.2, sanity
    assert sanity["blurred_recoloured_input_frames"] < 0.2, sanity
    recoloured = painting_probe.degraded(smooth(rng, 5)[[0] * 5], probe.palette, rng)[2:]
    assert probe.probability(recoloured) < 0.2


def test_recolouring_gives_the_paintings_palette_and_keeps_the_frame():
    """Moments: each channel's mean and spread become the paintings'; histogram: each
    channel's values become the paintings' by rank, the frame's order of values kept."""
    rng = np.random.default_rng(6)
    frames, paintings = smooth(rng, 2), strokes(rng, 3)
    palette = painting_probe.Palette(paintings)
    moved = painting_probe.recoloured(frames, palette)
    np.testing.assert_allclose(moved.mean(axis=(1, 2)), np.broadcast_to(
        paintings.mean(axis=(0, 1, 2)), (2, 3)), atol=0.03)
    matched = painting_probe.recoloured(frames, palette, histogram=True)
    for channel in range(3):
        np.testing.assert_allclose(np.quantile(matched[..., channel], [0.1, 0.5, 0.9]),
                                   np.quantile(paintings[..., channel], [0.1, 0.5, 0.9]),
                                   atol=0.03)
        order = frames[0, ..., channel].ravel().argsort()
        assert np.all(np.diff(matched[0, ..., channel].ravel()[order]) >= -1e-6)


def test_the_probe_reads_a_data_folder(tmp_path):
    """from_data_folder groups a painting's crops with it and fits on the training records."""
    pytest.importorskip("onnxruntime")
    import imageio.v3 as iio

    from helpers import make_clip, run_script

    rng = np.random.default_rng(3)
    folder = tmp_path / "paintings"
    folder.mkdir()
    for number, image in enumerate(strokes(rng, 3)):
        iio.imwrite(folder / f"p{number}.png", (image * 255).astype(np.uint8))
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=2)
    data = tmp_path / "data"
    done = run_script("extract_frames.py", "--paintings", folder, "--video", clip, "--out", data,
                      "--size", "64x36", "--frame-step", "1", "--painting-crops", "2",
                      "--holdout", "0")
    assert done.returncode == 0, done.stderr
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for number, image in enumerate(drawings(rng, 6)):  # 128x72: resized to the frame size
        iio.imwrite(pictures / f"d{number}.png", (image * 255).astype(np.uint8))
    more = tmp_path / "more-paintings"
    more.mkdir()
    for number, image in enumerate(strokes(rng, 2)):
        iio.imwrite(more / f"m{number}.png", (image * 255).astype(np.uint8))
    (pictures / "broken.png").write_bytes(b"not a picture")  # skipped, as extraction does
    (more / "broken.jpg").write_bytes(b"\xff\xd8 cut short")
    probe = painting_probe.from_data_folder(str(data), str(pictures), str(more))
    # three paintings with two crops each, then two more with the probe's eight
    assert [len(g) for g in probe.groups] == [3, 3, 3, 9, 9]
    assert probe.frame_size == (64, 36) and len(probe.negatives) == 2 * 20
    assert len(probe.pictures) == 6
    # the mean and spread of each channel of the four layers: 96 + 144 + 192 + 576 channels
    assert probe.negatives.shape[1] == probe.pictures.shape[1] == 2 * 1008
    with pytest.raises(ValueError, match="no pictures"):
        painting_probe.from_data_folder(str(data), str(folder / "missing"))


def test_pictures_that_are_not_paintings_join_the_negatives(probe):
    """Drawings the probe learns as not painted: those held out score low, and the paintings
    held out still score high."""
    rng = np.random.default_rng(4)
    groups = [probe.paintings[4 * g:4 * g + 4] for g in range(4)]
    with_pictures = painting_probe.PaintingProbe(groups, smooth(rng, 40), FRAME,
                                                 pictures=drawings(rng, 20),
                                                 embedding=probe.embed)
    sanity = with_pictures.sanity(smooth(rng, 12))
    assert sanity["held_out_pictures"] < 0.2 and sanity["held_out_paintings"] > 0.8, sanity
    assert with_pictures.probability(drawings(rng, 6)) < 0.2  # new drawings, never fitted on
    assert "held_out_pictures" not in probe.sanity(smooth(rng, 4))


def test_the_fit_in_the_samples_span_is_the_full_fit():
    """More features than samples: the SVD shortcut gives the probabilities of the plain fit
    (a ridge solution lies in the samples' span)."""
    rng = np.random.default_rng(5)
    features = rng.normal(0, 1, (30, 80)) + np.r_[np.ones(10), np.zeros(20)][:, None]
    labels = np.r_[np.ones(10), np.zeros(20)]
    new = rng.normal(0, 1, (15, 80))
    short = painting_probe.fit_logistic(features, labels, l2=3.0)(new)
    # the data three times over, with three times the ridge, has the same minimum, and now
    # that samples outnumber features it is fitted without the shortcut
    plain = painting_probe.fit_logistic(np.r_[features, features, features],
                                        np.r_[labels, labels, labels], l2=9.0)(new)
    np.testing.assert_allclose(short, plain, atol=1e-6)
