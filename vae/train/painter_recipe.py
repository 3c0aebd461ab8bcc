"""The painter's training recipe: what train_painter.py hands vae.train.training.train.

The painter repaints what process_video.py makes today: each training frame goes through the
frozen bundle (its code shifted from its source's mean toward the paintings', decoded, refined,
detail transferred back at the model's size) before the painter sees it. Its discriminator
compares crops of the painter's output with crops of the data's paintings, drawn from a bank
held in memory so that every step sees as many paintings as frames however rare they are in
the data.
"""
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from vae import InputError, from_flags
from vae.data import datafolder, records
from vae.models import adversarial, painter
from vae.models.configs import (DISCRIMINATOR_FILTERS, DISCRIMINATOR_KERNEL, PAINTER_FILTERS,
                                PAINTER_RESIDUAL_BLOCKS, DiscriminatorConfig, PainterConfig,
                                PainterObjective)
from vae.stylize.settings import StyleSettings
from vae.train.loop import NonFiniteLoss
from vae.train.recipe import Phase, Update, batch_means
from vae.train.refiner_recipe import ADVERSARIAL_ADAM

PAINTING_BANK = 512  # painting frames held in memory as the discriminator's "real"


@dataclass(frozen=True)
class PainterTraining:
    """train_painter.py's own flags: the frozen bundle, the painter's and discriminator's
    shapes, the objective's weights, the crop size and the pre-training."""
    model: str
    learning_rate: float
    pretrain_steps: int = 200
    pretrain_learning_rate: float = 1e-3
    crop: int = 0
    content_weight: float = PainterObjective.content_weight
    pool: int = PainterObjective.pool
    temporal_weight: float = PainterObjective.temporal_weight
    adversarial_weight: float = PainterObjective.adversarial_weight
    feature_weight: float = PainterObjective.feature_weight
    feature_layers: int = PainterObjective.feature_layers
    discriminator_learning_rate: float = 2e-4
    discriminator_filters: tuple = DISCRIMINATOR_FILTERS
    discriminator_kernel: int = DISCRIMINATOR_KERNEL
    filters: int = PAINTER_FILTERS
    residual_blocks: int = PAINTER_RESIDUAL_BLOCKS

    @classmethod
    def from_args(cls, args):
        return from_flags(cls, args)


class Collapse(NonFiniteLoss):
    """The painter's output lost all contrast (say, all black): training stops as on a NaN,
    the last good checkpoint kept."""


class CollapseWatch:
    """Raise Collapse when, for `window` steps in a row, the spread of the painted frames stays
    below `floor` (all one colour), or their mean colour stays more than `drift` away from the
    input's (say, black but for a bright border, which keeps some spread)."""

    def __init__(self, window=20, floor=0.01, drift=0.3):
        self.window, self.floor, self.drift = window, floor, drift
        self.low = self.drifted = 0

    def __call__(self, step, metrics):
        if "spread" not in metrics:
            return []
        self.low = self.low + 1 if metrics["spread"] < self.floor else 0
        self.drifted = self.drifted + 1 if metrics.get("colour_drift", 0) > self.drift else 0
        if self.low >= self.window:
            raise Collapse(f"the painter's output collapsed at step {step}: its spread stayed "
                           f"below {self.floor} for {self.window} steps")
        if self.drifted >= self.window:
            raise Collapse(f"the painter's output collapsed at step {step}: its mean colour "
                           f"stayed more than {self.drift} from the input's for {self.window} "
                           "steps (try a lower --adversarial-weight or learning rate)")
        return []


class PainterRecipe:
    """The painter's own part of training: the frozen bundle that makes its input, an identity
    pre-training phase, then the painter and its discriminator in one pass per step."""
    kind = "painter"
    preview_title = "input_today_painted"

    def __init__(self, options, settings=None):
        self.options = options
        self.inputs = (options.model,)
        self.settings = settings or StyleSettings()

    def prepare(self, manifest, data_dir):
        from vae.bundle.loader import Bundle

        opts = self.options
        self.bundle = Bundle(opts.model)
        size = (self.bundle.width, self.bundle.height)
        datafolder.check_frame_size(manifest, data_dir, size, f"the bundle {opts.model}")
        if opts.crop and opts.crop > min(size):
            raise InputError(f"--crop {opts.crop} is larger than the frames ({size[0]}x{size[1]})")
        if opts.pool > (opts.crop or min(size)):
            raise InputError(f"--pool {opts.pool} is larger than the painter's "
                             f"{'crops' if opts.crop else 'frames'} ({opts.crop or min(size)} "
                             "pixels): choose a smaller --pool")
        self.source_means = self._source_means(manifest)
        self.style_mean = tf.constant(self.bundle.means.style_mean(
            None if self.settings.style == "auto" else self.settings.style))
        self.paintings = self._painting_bank(manifest, data_dir)
        print(f"frozen bundle: {opts.model}; {len(self.paintings)} painting frames as the "
              "discriminator's real")
        self.config = PainterConfig(opts.filters, opts.residual_blocks)
        self.discriminator_config = DiscriminatorConfig(opts.discriminator_filters,
                                                        opts.discriminator_kernel)
        self.objective = PainterObjective(opts.content_weight, opts.pool, opts.temporal_weight,
                                          adversarial_weight=opts.adversarial_weight,
                                          feature_weight=opts.feature_weight,
                                          feature_layers=opts.feature_layers)
        self.features = self._encoder_features() if opts.feature_weight > 0 else None
        s = self.settings
        return {"model": self.config.to_dict(), "discriminator": self.discriminator_config.to_dict(),
                "bundle": {"folder": opts.model, "vae_step": self.bundle.config["vae"]["step"],
                           "vae_model": self.bundle.config["vae"]["model"],
                           "alpha": s.alpha, "beta": s.beta, "detail": s.detail,
                           "refine": s.refine, "style": s.style},
                "training": {"pretrain_steps": opts.pretrain_steps,
                             "pretrain_learning_rate": opts.pretrain_learning_rate,
                             "crop": opts.crop, **{k: getattr(self.objective, k) for k in (
                                 "content_weight", "pool", "temporal_weight", "temporal_noise",
                                 "adversarial_weight", "feature_weight", "feature_layers")},
                             "discriminator_learning_rate": opts.discriminator_learning_rate}}

    def _encoder_features(self):
        """The bundle's VAE encoder's first --feature-layers conv blocks, frozen."""
        layers = self.objective.feature_layers
        available = len(self.bundle.config["vae"]["model"]["filters"])
        if layers > available:
            raise InputError(f"--feature-layers {layers}: the bundle's encoder has "
                             f"{available} conv layers")
        encoder = self.bundle.rebuild("float32").encoder
        encoder.trainable = False
        return painter.encoder_features(encoder, layers)

    def _source_means(self, manifest):
        """(largest source id + 1, code size): the bundle's mean code of every data source."""
        table = np.zeros((max(s["id"] for s in manifest["sources"]) + 1, self.bundle.code_size),
                         np.float32)
        for source in manifest["sources"]:
            if source["name"] not in self.bundle.means.names:
                raise InputError(f"the bundle {self.options.model} has no mean code for the "
                                 f"data's source {source['name']!r}: export it from this data "
                                 "folder")
            table[source["id"]] = self.bundle.means.mean(source["name"])
        return tf.constant(table)

    def _painting_bank(self, manifest, data_dir):
        """Up to PAINTING_BANK painting frames of the training records, uint8."""
        ids = [s["id"] for s in manifest["sources"] if s["kind"] == "painting"]
        if not ids:
            raise InputError(f"{data_dir} holds no paintings: the painter learns their "
                             "brushwork (extract_frames.py --paintings)")
        frames = []
        for batch in records.make_dataset(data_dir, manifest, 64, shuffle=False, repeat=False,
                                          cache=False):
            keep = np.isin(batch["source"].numpy(), ids)
            frames.extend(np.round(batch["image"].numpy()[keep] * 255).astype(np.uint8))
            if len(frames) >= PAINTING_BANK:
                break
        return tf.constant(np.stack(frames[:PAINTING_BANK]))

    def build(self, make_optimizer):
        self.net = painter.build_painter(self.config)
        self.discriminator = adversarial.build_discriminator(self.discriminator_config)
        opts = self.options
        self.pretrain_optimizer = make_optimizer(opts.pretrain_learning_rate)
        self.optimizer = make_optimizer(opts.learning_rate, **ADVERSARIAL_ADAM)
        self.discriminator_optimizer = make_optimizer(opts.discriminator_learning_rate,
                                                      **ADVERSARIAL_ADAM)
        for optimizer in (self.pretrain_optimizer, self.optimizer):
            optimizer.build(self.net.trainable_variables)
        self.discriminator_optimizer.build(self.discriminator.trainable_variables)
        return {"painter": self.net, "optimizer": self.optimizer,
                "pretrain_optimizer": self.pretrain_optimizer,
                "discriminator": self.discriminator,
                "discriminator_optimizer": self.discriminator_optimizer}

    def stylised(self, images, source_means):
        """What process_video.py makes of the images at the model's size: S(z + shift) +
        detail * (x - S(z)), S = decode then refine; source_means: each image's (B, code)."""
        s, model = self.settings, self.bundle.model
        z = model.encode(images)["z_mean"]
        shift = s.beta * self.style_mean[tf.newaxis] - s.alpha * source_means
        both = model.decode(tf.concat([z + shift, z], 0))["images"]
        if s.refine and self.bundle.has_refiner:
            both = model.refine(both)["images"]
        styled, reconstructed = tf.split(both, 2)
        out = styled + s.detail * (images - reconstructed)
        return tf.stop_gradient(tf.clip_by_value(out, 0.0, 1.0))

    def _crop(self, images):
        crop = self.options.crop
        if not crop:
            return images
        return tf.image.random_crop(images, [tf.shape(images)[0], crop, crop, 3])

    def _real(self, count, size):
        """count painting crops (or frames) of the given (height, width)."""
        index = tf.random.uniform([count], 0, tf.shape(self.paintings)[0], dtype=tf.int32)
        frames = tf.cast(tf.gather(self.paintings, index), tf.float32) / 255.0
        return tf.image.random_crop(frames, [count, size[0], size[1], 3])

    def _inputs(self, batch):
        images = batch["image"]
        return self._crop(self.stylised(images, tf.gather(self.source_means, batch["source"])))

    def loss_terms(self, inputs, training=False):
        real = self._real(tf.shape(inputs)[0], tf.shape(inputs)[1:3])
        return painter.loss_terms(self.net, self.discriminator, inputs, real, self.objective,
                                  training=training, features=self.features)

    @staticmethod
    def losses():
        return {"loss": painter.PAINTER_TERMS, "discriminator_loss": painter.DISCRIMINATOR_TERMS}

    def phases(self, steps):
        opts, net = self.options, self.net
        variables = net.trainable_variables
        losses = self.losses()
        balance = adversarial.BalanceWatch(drift=0.1, fake="accuracy_painted", player="painter")
        collapse = CollapseWatch()
        return [
            Phase("pretraining", opts.pretrain_steps,
                  lambda batch: painter.identity_terms(net, self._inputs(batch)),
                  [Update(self.pretrain_optimizer, opts.pretrain_learning_rate, variables,
                          loss_name="identity_loss")]),
            Phase("training", opts.pretrain_steps + steps,
                  lambda batch: self.loss_terms(self._inputs(batch), training=True),
                  [Update(self.optimizer, opts.learning_rate, variables, losses["loss"]),
                   Update(self.discriminator_optimizer, opts.discriminator_learning_rate,
                          self.discriminator.trainable_variables,
                          losses["discriminator_loss"], "discriminator_loss")],
                  lambda step, metrics: balance(step, metrics) + collapse(step, metrics)),
        ]

    def _fixed_inputs(self, images):
        """The fixed frames stylised with their own mean code as the source's (their sources
        are not known here), as process_video.py does a clip's."""
        images = tf.constant(images)
        z = self.bundle.model.encode(images)["z_mean"]
        means = tf.broadcast_to(tf.reduce_mean(z, 0, keepdims=True), tf.shape(z))
        return self.stylised(images, means)

    def fixed_batch_loss(self, images):
        return batch_means(self.loss_terms(self._fixed_inputs(images)), self.losses())

    def preview_rows(self, images):
        inputs = self._fixed_inputs(images)
        return [images, inputs.numpy(), painter.paint(self.net, inputs).numpy()]
