"""The residual refiner that pulls the VAE's blurry output back toward real frames, and its loss.

The seed: "downsizes the input, learns filters in a residual network and then samples back up".
conv (kept as skip) -> stride-2 conv -> residual convs at half size -> transposed conv back to
full size -> add skip -> conv to 3 channels -> clip to [0, 1]; ELU between (docs/design.md).
"""
from dataclasses import asdict, dataclass

import keras
import numpy as np
import tensorflow as tf

from vae.model import sum_squared_error
from vae.training import distributed_step

DEFAULT_FILTERS = 32
DEFAULT_RESIDUAL_FILTERS = (32, 64, 32)
DEFAULT_KERNEL = 5
OBJECTIVES = ("l1-ssim", "seed")
# The seed's "away from the VAE output" term was 1e4 / SSE at 320x180x3 values. Per pixel it
# is SEED_AWAY_SCALE / MSE: the same balance against the toward-input term at every frame size
# (as a sum over pixels it grew relatively stronger as frames got smaller).
SEED_AWAY_SCALE = 1e4 / (320 * 180 * 3) ** 2
# Keeps the away term finite when the refined output equals the VAE's.
AWAY_EPSILON = 1e-8


@dataclass(frozen=True)
class RefinerConfig:
    width: int = 320
    height: int = 180
    filters: int = DEFAULT_FILTERS
    residual_filters: tuple = DEFAULT_RESIDUAL_FILTERS
    kernel: int = DEFAULT_KERNEL

    def __post_init__(self):
        object.__setattr__(self, "residual_filters", tuple(int(f) for f in self.residual_filters))
        if min((self.filters, self.kernel) + self.residual_filters) < 1:
            raise ValueError("refiner filters and kernel must be positive")

    def to_dict(self):
        data = asdict(self)
        data["residual_filters"] = list(self.residual_filters)
        return data

    @classmethod
    def from_dict(cls, data):
        return cls(**{k: data[k] for k in ("width", "height", "filters", "residual_filters",
                                           "kernel")})


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


@dataclass(frozen=True)
class RefinerObjective:
    """What the refiner is trained to do.

    "l1-ssim" (default): (1 - ssim_weight) * L1 + ssim_weight * (1 - SSIM) toward the input
    frame, the mix of Zhao et al. 2017; it pulls toward the real frame only, so it cannot
    reward noise. "seed": input_weight * MSE(refined, input) + vae_weight * SEED_AWAY_SCALE /
    MSE(refined, VAE output), the original objective made per pixel.
    """
    name: str = "l1-ssim"
    ssim_weight: float = 0.84
    input_weight: float = 0.6
    vae_weight: float = 0.4

    def __post_init__(self):
        if self.name not in OBJECTIVES:
            raise ValueError(f"unknown refiner objective {self.name!r}")

    @property
    def terms(self):
        """The names of the loss terms, whose sum is the loss."""
        return ("toward_input", "away_from_vae") if self.name == "seed" else ("l1", "ssim")


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
    if objective.name == "seed":
        away = SEED_AWAY_SCALE / (mean_squared_error(refined, vae_output) + AWAY_EPSILON)
        return {"toward_input": objective.input_weight * mean_squared_error(refined, images),
                "away_from_vae": objective.vae_weight * away}
    l1 = tf.reduce_mean(tf.abs(refined - images), axis=[1, 2, 3])
    ssim = ssim_per_image(refined, images)
    return {"l1": (1 - objective.ssim_weight) * l1, "ssim": objective.ssim_weight * (1 - ssim)}


def vae_output(encoder, decoder, images):
    """The frozen VAE's reconstruction from the code's mean (inference mode, no gradient)."""
    z_mean, _ = encoder(images, training=False)
    return tf.stop_gradient(decoder(z_mean, training=False))


def evaluate(refiner, encoder, decoder, images, objective):
    """Batch-mean loss terms on fixed images, in inference mode."""
    blurry = vae_output(encoder, decoder, images)
    terms = refiner_loss(refiner(blurry, training=False), images, blurry, objective)
    means = {name: tf.reduce_mean(value) for name, value in terms.items()}
    return {"loss": tf.add_n(list(means.values())), **means}


def make_train_step(refiner, encoder, decoder, optimizer, strategy, global_batch_size,
                    objective, identity=False, jit_compile=False):
    """A tf.function running one distributed refiner step on next(iterator).

    identity=True is the pre-training phase: real frames in, the same frames out.
    """
    variables = refiner.trainable_variables
    scales_loss = hasattr(optimizer, "scale_loss")

    def average(values):
        return tf.nn.compute_average_loss(values, global_batch_size=global_batch_size)

    @tf.function(jit_compile=jit_compile)
    def gradients(images):
        if identity:
            with tf.GradientTape() as tape:
                loss = average(sum_squared_error(refiner(images, training=True), images))
                scaled = optimizer.scale_loss(loss) if scales_loss else loss
            return tape.gradient(scaled, variables), {"identity_loss": loss}
        blurry = vae_output(encoder, decoder, images)
        with tf.GradientTape() as tape:
            terms = refiner_loss(refiner(blurry, training=True), images, blurry, objective)
            loss = average(tf.add_n(list(terms.values())))
            scaled = optimizer.scale_loss(loss) if scales_loss else loss
        return tape.gradient(scaled, variables), {
            "loss": loss, **{name: average(value) for name, value in terms.items()}}

    return distributed_step(strategy, optimizer, variables, gradients)
