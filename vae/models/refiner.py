"""The residual refiner that pulls the VAE's blurry output back toward real frames, and its loss.

It "downsizes the input, learns filters in a residual network and then samples back up":
conv (kept as skip) -> stride-2 conv -> residual convs at half size -> transposed conv back to
full size -> add skip -> conv to 3 channels -> clip to [0, 1]; ELU between (docs/design.md).
Shapes and objectives are vae/models/configs.py's; the training step is
vae/train/distributed_step.py's.
"""
import keras
import numpy as np
import tensorflow as tf

from vae.models.autoencoder import sum_squared_error

# The "away from the VAE output" term of the toward-away objective is 1e4 / SSE at 320x180x3
# values, written per pixel as AWAY_SCALE / MSE: the same balance against the toward-input
# term at every frame size (a sum over pixels grows relatively stronger as frames get smaller).
AWAY_SCALE = 1e4 / (320 * 180 * 3) ** 2
# Keeps the away term finite when the refined output equals the VAE's.
AWAY_EPSILON = 1e-8


def build_refiner(config):
    """images (B, H, W, 3) in [0, 1] -> refined images, same shape, in [0, 1]."""
    k, f = config.kernel, config.filters
    images = keras.Input((config.height, config.width, 3), name="images")
    skip = keras.layers.Conv2D(f, k, padding="same", activation="elu", name="prepass")(images)
    x = keras.layers.Conv2D(f, k, strides=2, padding="same", activation="elu", name="down")(skip)
    for i, filters in enumerate(config.residual_filters):
        # a residual block: the conv learns a correction added to its input (1x1 projection
        # when the channel count changes)
        y = keras.layers.Conv2D(filters, k, padding="same", name=f"residual{i}")(x)
        if x.shape[-1] != filters:
            x = keras.layers.Conv2D(filters, 1, name=f"residual{i}_projection")(x)
        x = keras.layers.ELU(name=f"residual{i}_elu")(keras.layers.Add()([x, y]))
    x = keras.layers.Conv2DTranspose(f, k, strides=2, padding="same", activation="elu",
                                     name="up")(x)
    extra_h, extra_w = x.shape[1] - config.height, x.shape[2] - config.width
    if extra_h or extra_w:  # odd frame sizes: the upsampled map is one pixel too large
        x = keras.layers.Cropping2D(((0, extra_h), (0, extra_w)), name="up_crop")(x)
    x = keras.layers.Add(name="add_skip")([x, skip])
    x = keras.layers.Conv2D(3, k, padding="same", name="to_rgb", dtype="float32")(x)
    refined = keras.layers.ReLU(max_value=1.0, name="clip", dtype="float32")(x)  # clip to [0, 1]
    return keras.Model(images, refined, name="refiner")


def mean_squared_error(a, b):
    """Per-image mean of squared differences."""
    return tf.reduce_mean(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)),
                          axis=[1, 2, 3])


SSIM_WINDOW, SSIM_SIGMA = 11, 1.5  # tf.image.ssim's Gaussian window


def _gaussian_band(length):
    """The (length - 10, length) matrix of a VALID 1-D Gaussian blur with SSIM's window."""
    taps = np.arange(SSIM_WINDOW, dtype=np.float32) - (SSIM_WINDOW - 1) / 2
    kernel = np.exp(-taps ** 2 / (2 * SSIM_SIGMA ** 2))
    band = np.zeros((length - SSIM_WINDOW + 1, length), np.float32)
    for row in range(len(band)):
        band[row, row:row + SSIM_WINDOW] = kernel / kernel.sum()
    return tf.constant(band)


def ssim_per_image(a, b):
    """tf.image.ssim(a, b, max_val=1) per image (the same numbers, to 1e-5), with the Gaussian
    blur as two matrix products: its gradient on a CPU is about 10x cheaper than that of
    tf.image.ssim's depthwise convolution, which dominated a refiner step."""
    rows, columns = _gaussian_band(a.shape[1]), _gaussian_band(a.shape[2])

    def blur(t):
        return tf.einsum("hH,bHwc->bhwc", rows, tf.einsum("bHWc,wW->bHwc", t, columns))

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mean_a, mean_b = blur(a), blur(b)
    num0, den0 = 2 * mean_a * mean_b, mean_a ** 2 + mean_b ** 2
    luminance = (num0 + c1) / (den0 + c1)
    contrast_structure = (2 * blur(a * b) - num0 + c2) / (blur(a * a + b * b) - den0 + c2)
    return tf.reduce_mean(luminance * contrast_structure, axis=[1, 2, 3])


def refiner_loss(refined, images, vae_output, objective):
    """Per-image loss terms {name: (B,)} of an objective, already weighted."""
    refined = tf.cast(refined, tf.float32)
    if objective.name == "toward-away":
        away = AWAY_SCALE / (mean_squared_error(refined, vae_output) + AWAY_EPSILON)
        return {"toward_input": objective.input_weight * mean_squared_error(refined, images),
                "away_from_vae": objective.vae_weight * away}
    l1 = tf.reduce_mean(tf.abs(refined - images), axis=[1, 2, 3])
    ssim = ssim_per_image(refined, images)
    return {"l1": (1 - objective.ssim_weight) * l1, "ssim": objective.ssim_weight * (1 - ssim)}


def vae_output(encoder, decoder, images):
    """The frozen VAE's reconstruction from the code's mean (inference mode, no gradient)."""
    z_mean, _ = encoder(images, training=False)
    return tf.stop_gradient(decoder(z_mean, training=False))


def loss_terms(refiner, encoder, decoder, images, objective, training=False):
    """Per-image loss terms of an objective (a configs.RefinerObjective) on the frozen VAE's
    output; the loss is their sum."""
    blurry = vae_output(encoder, decoder, images)
    return refiner_loss(refiner(blurry, training=training), images, blurry, objective)


def identity_terms(refiner, images):
    """The pre-training phase's loss: real frames in, the same frames out (per-image SSE)."""
    return {"identity": sum_squared_error(refiner(images, training=True), images)}
