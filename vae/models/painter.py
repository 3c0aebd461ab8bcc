"""The painter: a fully convolutional network that repaints a stylised frame with the
paintings' brushwork, and the terms it is trained on.

The VAE and its refiner bring the paintings' palette but keep the frame's smooth surfaces.
The painter adds strokes, pulled by one of two objectives (or both): "perceptual", the
paintings' feature statistics in a frozen ImageNet network (vae/models/style.py; Johnson et
al. 2016, Huang and Belongie 2017), which brings brushwork in a few thousand steps; or
"adversarial", a PatchGAN discriminator that compares patches of painted frames with patches
of the paintings (Sanakoyeu et al. 2018), which at a CPU budget brings a tint at most. Its
generator follows Johnson et al. 2016 / CycleGAN: a 7x7 conv, two stride-2 convs, residual
blocks, two nearest-upsample + conv stages (transposed convs leave checkerboards), a 7x7 conv
predicting a residual on its input. No instance normalisation: it makes flickering "bubbles"
on video. The painter keeps the frame by a content term on average-pooled images (layout and
colour; the fine texture is left free), the perceptual objective's content term in deeper
features, optionally the frozen VAE encoder's feature space, and keeps strokes still under
motion by a temporal term on a randomly moved copy (Wang et al. 2020, ReReVST).
"""
import keras
import tensorflow as tf

from vae.models import augment
from vae.models.configs import PAINTER_MULTIPLE as MULTIPLE
from vae.models.style import total_variation

DISCRIMINATOR_TERMS = ("discriminator_real", "discriminator_painted", "discriminator_input")


def _leaky_relu(x):
    return keras.activations.leaky_relu(x, negative_slope=0.2)


def build_painter(config):
    """images (B, H, W, 3) in [0, 1], H and W multiples of MULTIPLE -> painted images."""
    f = config.filters
    act = _leaky_relu if config.activation == "leaky_relu" else "relu"
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)
    x = keras.layers.Conv2D(f, 7, padding="same", activation=act, name="in")(x)
    x = keras.layers.Conv2D(2 * f, 3, strides=2, padding="same", activation=act,
                            name="down1")(x)
    x = keras.layers.Conv2D(4 * f, 3, strides=2, padding="same", activation=act,
                            name="down2")(x)
    for i in range(config.residual_blocks):
        y = keras.layers.Conv2D(4 * f, 3, padding="same", activation=act,
                                name=f"block{i}_a")(x)
        y = keras.layers.Conv2D(4 * f, 3, padding="same", name=f"block{i}_b")(y)
        x = keras.layers.Add(name=f"block{i}")([x, y])
    for i, filters in enumerate((2 * f, f)):
        x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"up{i + 1}_resize")(x)
        x = keras.layers.Conv2D(filters, 3, padding="same", activation=act,
                                name=f"up{i + 1}")(x)
    residual = keras.layers.Conv2D(3, 7, padding="same", name="residual", dtype="float32")(x)
    painted = keras.layers.Add(name="painted", dtype="float32")([images, residual])
    return keras.Model(images, painted, name="painter")


def paint(painter, images, training=False):
    """The painter on images of any size: reflected to a multiple of MULTIPLE on the bottom
    and right, painted, cut back; float32 in [0, 1]."""
    images = tf.cast(images, tf.float32)
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    pad_h, pad_w = -height % MULTIPLE, -width % MULTIPLE
    padded = tf.pad(images, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="REFLECT")
    painted = painter(padded, training=training)[:, :height, :width]
    return tf.clip_by_value(tf.cast(painted, tf.float32), 0.0, 1.0)


def _per_image(t):
    return tf.reduce_mean(tf.cast(t, tf.float32), axis=[1, 2, 3])


def pooled(images, pool):
    return tf.nn.avg_pool2d(tf.cast(images, tf.float32), pool, pool, "VALID")


def encoder_features(encoder, layers):
    """images of any size -> the activations of the Keras VAE encoder's first `layers` conv
    blocks (conv, batch norm at inference, ELU): a feature space in which to compare the
    painted frame with its input."""
    blocks = [[encoder.get_layer(f"conv{i}{part}") for part in ("", "_bn", "_elu")]
              for i in range(layers)]

    def features(images):
        x, out = tf.cast(images, tf.float32), []
        for conv, norm, elu in blocks:
            x = elu(norm(conv(x), training=False))
            out.append(x)
        return out
    return features


def feature_distance(features, painted, inputs):
    """Mean over layers of the MSE between the painted and the input images' features."""
    pairs = zip(features(painted), features(inputs))
    distances = [tf.reduce_mean(tf.square(p - tf.stop_gradient(i)), axis=[1, 2, 3])
                 for p, i in pairs]
    return tf.add_n(distances) / len(distances)


def identity_terms(painter, inputs):
    """Pre-training: the painter learns to give back its input (L1)."""
    return {"identity": _per_image(tf.abs(paint(painter, inputs, training=True) - inputs))}


def painter_terms(objective):
    """The names of the terms the painter minimises under a PainterObjective."""
    return ("content", "feature_content", "temporal") + (
        ("style", "perceptual_content", "total_variation") if objective.perceptual else ()) + (
        ("adversarial",) if objective.adversarial else ())


def loss_terms(painter, inputs, objective, training=False, discriminator=None, paintings=None,
               features=None, style=None, frames=None):
    """Per-image terms from one forward pass: painter_terms(objective), and with the
    adversarial objective the discriminator's DISCRIMINATOR_TERMS.

    inputs: stylised frames, what the painter repaints. discriminator, paintings (as many
    painting crops of the same size, its "real"): the hinge GAN (the unpainted inputs are a
    second kind of fake, so that it learns what painting adds; both sides pass through the
    same random DiffAugment policy). style: a style.StyleTarget, whose content term compares
    with the inputs or, with content_target "frame", with frames (the original frames).
    features: encoder_features, for the feature content term (none: it is 0). The
    accuracies, the colour drift and the output's spread are for watching."""
    painted = paint(painter, inputs, training=training)
    moved, matrices = augment.random_motion(inputs)
    noise = tf.random.normal(tf.shape(moved), stddev=objective.temporal_noise)
    painted_moved = paint(painter, moved + noise, training=training)
    content = tf.reduce_mean(tf.square(pooled(painted, objective.pool)
                                       - pooled(inputs, objective.pool)), axis=[1, 2, 3])
    feature_content = (feature_distance(features, painted, inputs)
                       if features is not None and objective.feature_weight > 0
                       else tf.zeros_like(content))
    mean_colour = lambda t: tf.reduce_mean(t, axis=[1, 2])  # noqa: E731
    terms = {
        "content": objective.content_weight * content,
        "feature_content": objective.feature_weight * feature_content,
        "temporal": objective.temporal_weight * _per_image(
            tf.abs(painted_moved - augment.affine(painted, matrices))),
        "colour_drift": tf.reduce_max(tf.abs(mean_colour(painted) - mean_colour(inputs)), axis=1),
        "spread": tf.math.reduce_std(painted, axis=[1, 2, 3]),
    }
    if objective.perceptual:
        references = frames if objective.content_target == "frame" else inputs
        perceptual = style.terms(painted, references)
        terms.update({
            "style": objective.style_weight * perceptual["style"],
            "perceptual_content": objective.perceptual_content_weight
            * perceptual["perceptual_content"],
            "total_variation": objective.total_variation_weight
            * total_variation(painted)})
    if objective.adversarial:
        terms.update(_adversarial_terms(discriminator, paintings, painted, inputs,
                                        objective.adversarial_weight, training))
    return terms


def _adversarial_terms(discriminator, paintings, painted, inputs, weight, training):
    # one discriminator call on the three kinds (it has no batch statistics to mix them)
    logits = discriminator(augment.diff_augment(tf.concat([paintings, painted, inputs], 0)),
                           training=training)[-1]
    real_logits, painted_logits, input_logits = tf.split(logits, 3)
    return {
        "adversarial": -weight * _per_image(painted_logits),
        "discriminator_real": _per_image(tf.nn.relu(1.0 - real_logits)),
        "discriminator_painted": 0.5 * _per_image(tf.nn.relu(1.0 + painted_logits)),
        "discriminator_input": 0.5 * _per_image(tf.nn.relu(1.0 + input_logits)),
        "accuracy_real": _per_image(real_logits > 0),
        "accuracy_painted": _per_image(painted_logits < 0),
    }
