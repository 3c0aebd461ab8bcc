"""The convolutional VAE: encoder, reparameterised sampler, decoder and loss (docs/design.md,
"Model").

Encoder and decoder are separate Keras models so that the exported bundle can offer encode and
decode on their own. Every size comes from a VAEConfig (vae/models/configs.py), saved in the run's
config.json. The training step is vae/train/distributed_step.py's; this file knows only the model.
"""
import keras
import tensorflow as tf


class BatchNormalization(keras.layers.BatchNormalization):
    """Keras batch norm, computed by TensorFlow's fused kernel on 4-D feature maps.

    Same weights and behaviour as the Keras layer (checkpoints are interchangeable), but the
    Keras version spends several passes over memory per step on the large early feature maps:
    the fused kernel makes a training step of the full-size model about a third faster on CPU.
    """

    def call(self, inputs, training=None, mask=None):
        if len(inputs.shape) != 4 or self.axis not in (-1, 3) or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        gamma, beta = tf.cast(self.gamma, tf.float32), tf.cast(self.beta, tf.float32)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, epsilon=self.epsilon, is_training=True)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
            self.moving_variance.assign(
                self.moving_variance * momentum + variance * (1.0 - momentum))
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs, gamma, beta, mean=self.moving_mean, variance=self.moving_variance,
                epsilon=self.epsilon, is_training=False)
        return tf.cast(outputs, self.compute_dtype)


def build_encoder(config):
    """images (B, H, W, 3) in [0, 1] -> (z_mean, z_log_sigma), each (B, code_size)."""
    images = keras.Input((config.height, config.width, 3), name="images")
    x = images
    for i, (filters, kernel) in enumerate(zip(config.filters, config.kernels)):
        x = keras.layers.Conv2D(filters, kernel, strides=2, padding="same", name=f"conv{i}")(x)
        x = BatchNormalization(name=f"conv{i}_bn")(x)
        x = keras.layers.ELU(name=f"conv{i}_elu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    z_mean = keras.layers.Dense(config.code_size, name="z_mean", dtype="float32")(x)
    z_log_sigma = keras.layers.Dense(config.code_size, name="z_log_sigma", dtype="float32")(x)
    return keras.Model(images, [z_mean, z_log_sigma], name="encoder")


def build_decoder(config):
    """codes (B, code_size) -> images (B, H, W, 3) in [0, 1], mirroring the encoder."""
    sizes = config.feature_sizes()
    codes = keras.Input((config.code_size,), name="codes")
    h, w = sizes[-1]
    x = keras.layers.Dense(h * w * config.filters[-1], name="dense")(codes)
    x = BatchNormalization(name="dense_bn")(x)
    x = keras.layers.ELU(name="dense_elu")(x)
    x = keras.layers.Reshape((h, w, config.filters[-1]), name="reshape")(x)
    layers = len(config.filters)
    for i in reversed(range(layers)):
        last = i == 0
        filters = 3 if last else config.filters[i - 1]
        x = keras.layers.Conv2DTranspose(filters, config.kernels[i], strides=2, padding="same",
                                         name=f"deconv{i}")(x)
        (th, tw), (sh, sw) = sizes[i], (2 * sizes[i + 1][0], 2 * sizes[i + 1][1])
        if (sh, sw) != (th, tw):  # odd sizes (180 -> 90 -> 45 -> 23) round up: crop back
            x = keras.layers.Cropping2D(((0, sh - th), (0, sw - tw)), name=f"deconv{i}_crop")(x)
        if last:
            x = keras.layers.Activation("sigmoid", dtype="float32", name="images")(x)
        else:
            x = BatchNormalization(name=f"deconv{i}_bn")(x)
            x = keras.layers.ELU(name=f"deconv{i}_elu")(x)
    return keras.Model(codes, x, name="decoder")


def sample(z_mean, z_log_sigma, seed=None):
    """The reparameterisation trick: z = z_mean + eps * exp(z_log_sigma), eps ~ N(0, I)."""
    eps = tf.random.normal(tf.shape(z_mean), dtype=z_mean.dtype, seed=seed)
    return z_mean + eps * tf.exp(z_log_sigma)


def kl_divergence(z_mean, z_log_sigma):
    """Per-image KL(N(z_mean, sigma^2) || N(0, I)), summed over the code."""
    return -0.5 * tf.reduce_sum(
        1.0 + 2.0 * z_log_sigma - tf.square(z_mean) - tf.exp(2.0 * z_log_sigma), axis=-1)


def sum_squared_error(a, b):
    """Per-image sum of squared differences."""
    return tf.reduce_sum(tf.square(tf.cast(a, tf.float32) - tf.cast(b, tf.float32)), axis=[1, 2, 3])


def vae_loss(images, reconstruction, z_mean, z_log_sigma):
    """Per-image (reconstruction SSE, KL); the training loss is the batch mean of their sum."""
    return sum_squared_error(images, reconstruction), kl_divergence(z_mean, z_log_sigma)


def training_flops_per_image(config):
    """Multiply-adds x 2 of the forward pass, x 3 for forward + backward: the training FLOPs."""
    sizes = config.feature_sizes()
    channels = (3,) + config.filters
    forward = 0
    for i, k in enumerate(config.kernels):
        out_h, out_w = sizes[i + 1]
        forward += 2 * out_h * out_w * k * k * channels[i] * channels[i + 1]  # conv i
        forward += 2 * out_h * out_w * k * k * channels[i + 1] * channels[i]  # deconv i
    flat = sizes[-1][0] * sizes[-1][1] * config.filters[-1]
    forward += 2 * flat * config.code_size * 3  # z_mean, z_log_sigma, decoder dense
    return 3 * forward


def loss_terms(encoder, decoder, images, training=False):
    """Per-image loss terms {reconstruction: SSE, kl}; the loss is their sum. Training decodes a
    sampled code; inference mode (the fixed-batch check) decodes the code's mean, no noise."""
    z_mean, z_log_sigma = encoder(images, training=training)
    z = sample(z_mean, z_log_sigma) if training else z_mean
    sse, kl = vae_loss(images, decoder(z, training=training), z_mean, z_log_sigma)
    return {"reconstruction": sse, "kl": kl}
