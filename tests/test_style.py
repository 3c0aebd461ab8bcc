"""The frozen feature network (EfficientNet-Lite0 from its PyPI wheel, read without PyTorch)
and the painter's perceptual terms built on it."""
import io
import pickle

import numpy as np
import pytest
import tensorflow as tf

from vae import InputError


@pytest.fixture(scope="module")
def network():
    from vae.models.features import EfficientNetLite0

    return EfficientNetLite0()


def photograph(name, size=224):
    """A photograph that scikit-image ships, resized, float in [0, 1]."""
    import skimage.data
    from PIL import Image

    image = Image.fromarray(getattr(skimage.data, name)()).convert("RGB").resize((size, size))
    return np.asarray(image, np.float32)[None] / 255.0


@pytest.mark.parametrize("name, classes", [
    ("chelsea", {281, 282, 283, 284, 285}),  # tabby, tiger, Persian, Siamese, Egyptian cat
    ("coffee", {967, 968}),  # espresso, cup
])
def test_the_converted_weights_know_their_imagenet_classes(network, name, classes):
    logits = network.logits(photograph(name)).numpy()[0]
    assert int(np.argmax(logits)) in classes
    assert tf.nn.softmax(logits).numpy()[list(classes)].sum() > 0.5


def test_features_have_each_stage_size(network):
    from vae.models.features import STAGE_ENDS

    shapes = [f.shape for f in network.features(np.zeros((2, 64, 96, 3), np.float32))]
    assert len(shapes) == len(STAGE_ENDS)
    assert [s[-1] for s in shapes] == [16, 24, 40, 80, 112, 192, 320]
    assert [s[1:3] for s in shapes[:4]] == [(32, 48), (16, 24), (8, 12), (4, 6)]


class Malicious:
    def __reduce__(self):
        import os

        return os.system, ("echo owned",)


def test_the_weights_reader_runs_no_code_from_the_file(tmp_path):
    from vae.models import features

    buffer = io.BytesIO()
    for item in (features._LEGACY_MAGIC, 1001, {}, {"weight": Malicious()}):
        pickle.dump(item, buffer, protocol=2)
    path = tmp_path / "evil.pth"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="posix.system|os.system"):
        features.read_torch_state(path)
    with pytest.raises(InputError, match="cannot read the feature network's weights"):
        features.EfficientNetLite0(path)
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(InputError):
        features.EfficientNetLite0(path)


def brush_strokes(count, size, seed):
    """Synthetic 'paintings': thick strokes of a few colours at random angles, over a canvas
    tone, as uint8 (count, size, size, 3)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    palette = rng.integers(30, 230, (6, 3))
    images = []
    for _ in range(count):
        image = Image.new("RGB", (size, size), tuple(int(c) for c in palette[0]))
        draw = ImageDraw.Draw(image)
        for _ in range(120):
            x, y = rng.integers(0, size, 2)
            angle = rng.uniform(0, np.pi)
            length = rng.integers(size // 10, size // 4)
            end = (x + length * np.cos(angle), y + length * np.sin(angle))
            draw.line([(int(x), int(y)), tuple(int(v) for v in end)],
                      fill=tuple(int(c) for c in palette[rng.integers(0, 6)]),
                      width=int(rng.integers(3, 7)))
        images.append(np.asarray(image))
    return np.stack(images)


def test_the_style_term_is_smaller_for_a_painting_than_for_a_photograph(network):
    from vae.models.style import StyleTarget

    paintings = brush_strokes(12, 128, seed=0)
    target = StyleTarget(network, paintings[:10], crop=64)
    held_out = paintings[10:, :64, :64].astype(np.float32) / 255.0
    photos = np.concatenate([tf.image.resize(photograph(n, 128), (64, 64)).numpy()
                             for n in ("chelsea", "coffee")])
    painting_distance = target.style_of(held_out).numpy()
    photo_distance = target.style_of(photos).numpy()
    assert painting_distance.max() < 0.5 * photo_distance.min(), (painting_distance,
                                                                  photo_distance)


def test_a_tiny_painter_lowers_its_style_term_within_a_few_steps(network):
    import keras

    from vae.models import painter
    from vae.models.configs import PainterConfig, PainterObjective
    from vae.models.style import StyleTarget

    keras.utils.set_random_seed(0)
    net = painter.build_painter(PainterConfig(filters=8, residual_blocks=1))
    target = StyleTarget(network, brush_strokes(8, 64, seed=1), crop=32)
    inputs = tf.image.resize(photograph("coffee", 64), (32, 32)) * tf.ones([4, 1, 1, 1])
    objective = PainterObjective(content_weight=0.0, temporal_weight=0.0,
                                 perceptual_content_weight=0.1)
    optimizer = keras.optimizers.Adam(3e-3, global_clipnorm=1.0)
    styles = []
    for _ in range(25):
        with tf.GradientTape() as tape:
            terms = painter.loss_terms(net, inputs, objective, training=True, style=target)
            loss = tf.add_n([tf.reduce_mean(terms[t]) for t in painter.painter_terms(objective)])
        variables = net.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        styles.append(float(tf.reduce_mean(terms["style"])))
    assert np.mean(styles[-3:]) < 0.7 * np.mean(styles[:3]), styles


def test_content_target_frame_compares_with_the_original_frame(network):
    import keras

    from vae.models import painter
    from vae.models.configs import PainterConfig, PainterObjective
    from vae.models.style import StyleTarget

    keras.utils.set_random_seed(0)
    net = painter.build_painter(PainterConfig(filters=4, residual_blocks=0))
    target = StyleTarget(network, brush_strokes(4, 32, seed=2))
    inputs = tf.zeros([2, 32, 32, 3]) + 0.5
    frames = photograph("chelsea", 32) * tf.ones([2, 1, 1, 1])

    def content(content_target, references):
        return painter.loss_terms(net, inputs, PainterObjective(content_target=content_target),
                                  style=target, frames=references)["perceptual_content"]

    np.testing.assert_allclose(content("frame", inputs), content("input", frames), rtol=1e-5)
    assert not np.allclose(content("frame", frames), content("input", frames), rtol=0.1)
