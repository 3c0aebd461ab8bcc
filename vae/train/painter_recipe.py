"""The painter's training recipe: what train_painter.py hands vae.train.driver.train.

The painter repaints what process_video.py makes today: each training frame goes through the
frozen bundle (its code shifted from its source's mean toward the paintings', decoded, refined,
detail transferred back at the model's size) before the painter sees it. The data's
paintings are held in a bank in memory, so that every step sees them however rare they are in
the data: the perceptual objective takes its style target from them (statistics over crops of
the size the painter trains on), the adversarial one its discriminator's "real" crops.
"""
import os

import numpy as np
import tensorflow as tf

from vae import InputError
from vae.bundle.means import style_shift
from vae.data import datafolder, records
from vae.media import frames
from vae.models import adversarial, painter
from vae.stylize.settings import StyleSettings
from vae.train.checkpointed_loop import NonFiniteLoss
from vae.train.recipe import Phase, Update, batch_means
from vae.train.refiner_recipe import ADVERSARIAL_ADAM

PAINTING_BANK = 512  # painting frames held in memory: the style's target, the GAN's "real"
GRADIENT_CLIPNORM = 1.0  # the perceptual objective's global gradient norm bound
FILE_CROPS = 32  # crops of each painting file the style target averages over (--style-width)


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
        self.config, self.objective = options.network, options.objective

    def prepare(self, manifest, data_dir):
        from vae.bundle.loader import Bundle

        opts = self.options
        self.bundle = Bundle(opts.model)
        size = (self.bundle.width, self.bundle.height)
        datafolder.check_frame_size(manifest, data_dir, size, f"the bundle {opts.model}")
        if opts.crop and opts.crop > min(size):
            raise InputError(f"--crop {opts.crop} is larger than the frames ({size[0]}x{size[1]})")
        pool = self.objective.pool
        if pool > (opts.crop or min(size)):
            raise InputError(f"--pool {pool} is larger than the painter's "
                             f"{'crops' if opts.crop else 'frames'} ({opts.crop or min(size)} "
                             "pixels): choose a smaller --pool")
        self.source_means = self._source_means(manifest)
        self.style_mean = tf.constant(self.bundle.means.style_mean(
            None if self.settings.style == "auto" else self.settings.style))
        self.paintings = self._painting_bank(manifest, data_dir)
        self.style = self._style_target(manifest) if self.objective.perceptual else None
        print(f"frozen bundle: {opts.model}; {len(self.paintings)} painting frames as the "
              + ("target of the style term" if self.objective.perceptual else "")
              + (" and " if self.objective.name == "both" else "")
              + ("discriminator's real" if self.objective.adversarial else ""))
        self.features = self._encoder_features() if self.objective.feature_weight > 0 else None
        s = self.settings
        return {"model": self.config.to_dict(),
                "discriminator": opts.discriminator.to_dict() if self.objective.adversarial
                else None,
                "bundle": {"folder": opts.model, "vae_step": self.bundle.config["vae"]["step"],
                           "vae_model": self.bundle.config["vae"]["model"],
                           "alpha": s.alpha, "beta": s.beta, "detail": s.detail,
                           "refine": self.bundle.refines(s.refine), "style": s.style,
                           "refiner_step": (self.bundle.config.get("refiner") or {}).get("step")}}

    def _style_target(self, manifest):
        """The paintings' statistics in the frozen feature network, at the training crops: of
        the bank (the records, at the model's size), or with --style-width of the painting
        files themselves at that width, where their brushwork is still there."""
        from vae.models.features import EfficientNetLite0
        from vae.models.style import StyleTarget

        if not self.options.style_width:
            return StyleTarget(EfficientNetLite0(), self.paintings.numpy(), self.options.crop)
        images = self._painting_files(manifest, self.options.style_width)
        return StyleTarget(EfficientNetLite0(), images, self.options.crop or min(
            min(i.shape[:2]) for i in images), crops_per_image=FILE_CROPS)

    def _painting_files(self, manifest, width):
        """The data's paintings read from their folders (the manifest's painting sources),
        each resized to width pixels wide."""
        images, folders = [], []
        for source in manifest["sources"]:
            if source["kind"] != "painting":
                continue
            folders.append(source["path"])
            if not os.path.isdir(source["path"]):
                raise InputError(f"--style-width reads the paintings themselves, and "
                                 f"{source['path']} (source {source['name']}) is not there")
            for image in frames.readable_images(source["path"]):
                height = max(1, round(image.shape[0] * width / image.shape[1]))
                images.append(frames.fill_resize(image, (width, height)))
        if not images:
            raise InputError(f"--style-width reads the paintings themselves, and "
                             f"{', '.join(folders)} hold no readable image (PNG, JPEG, ...)")
        crop = self.options.crop
        if crop and min(min(i.shape[:2]) for i in images) < crop:
            raise InputError(f"--style-width {width} makes a painting smaller than --crop "
                             f"{crop}: choose a larger --style-width")
        return images

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
        opts = self.options
        self.pretrain_optimizer = make_optimizer(opts.pretraining.learning_rate)
        # the GAN's usual Adam with a discriminator; clipped steps for the perceptual terms,
        # whose gradients spike early (a run at twice the rate collapsed without it)
        adam = dict(ADVERSARIAL_ADAM) if self.objective.adversarial else {}
        if self.objective.perceptual:
            adam["global_clipnorm"] = GRADIENT_CLIPNORM
        self.optimizer = make_optimizer(opts.run.learning_rate, **adam)
        for optimizer in (self.pretrain_optimizer, self.optimizer):
            optimizer.build(self.net.trainable_variables)
        objects = {"painter": self.net, "optimizer": self.optimizer,
                   "pretrain_optimizer": self.pretrain_optimizer}
        self.discriminator = None
        if self.objective.adversarial:
            self.discriminator = adversarial.build_discriminator(opts.discriminator)
            self.discriminator_optimizer = make_optimizer(opts.discriminator_learning_rate,
                                                          **ADVERSARIAL_ADAM)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
            objects.update(discriminator=self.discriminator,
                           discriminator_optimizer=self.discriminator_optimizer)
        return objects

    def stylised(self, images, source_means):
        """What process_video.py makes of the images at the model's size, by the same
        Bundle.stylize: S(z + shift) + detail * (x - S(z)); source_means: each image's
        (B, code)."""
        s = self.settings
        shift = style_shift(source_means, self.style_mean[tf.newaxis], s.alpha, s.beta)
        out = self.bundle.stylize(images, shift, s.detail, s.refine).with_detail(images)
        return tf.stop_gradient(tf.clip_by_value(out, 0.0, 1.0))

    def _crop(self, *images):
        """The same random crop of each of several (B, H, W, 3) batches (none without
        --crop)."""
        crop = self.options.crop
        if not crop:
            return images
        stacked = tf.concat(images, -1)
        cropped = tf.image.random_crop(stacked, [tf.shape(stacked)[0], crop, crop,
                                                 3 * len(images)])
        return tf.split(cropped, len(images), -1)

    def _real(self, count, size):
        """count painting crops (or frames) of the given (height, width)."""
        index = tf.random.uniform([count], 0, tf.shape(self.paintings)[0], dtype=tf.int32)
        frames = tf.cast(tf.gather(self.paintings, index), tf.float32) / 255.0
        return tf.image.random_crop(frames, [count, size[0], size[1], 3])

    def _inputs(self, batch):
        """(the painter's inputs, the original frames), cropped alike."""
        images = batch["image"]
        return self._crop(self.stylised(images, tf.gather(self.source_means, batch["source"])),
                          images)

    def loss_terms(self, inputs, frames, training=False):
        real = self._real(tf.shape(inputs)[0], tf.shape(inputs)[1:3]) \
            if self.objective.adversarial else None
        return painter.loss_terms(self.net, inputs, self.objective, training=training,
                                  discriminator=self.discriminator, paintings=real,
                                  features=self.features, style=self.style, frames=frames)

    def losses(self):
        losses = {"loss": painter.painter_terms(self.objective)}
        if self.objective.adversarial:
            losses["discriminator_loss"] = painter.DISCRIMINATOR_TERMS
        return losses

    def phases(self, steps):
        opts, net = self.options, self.net
        pretraining = opts.pretraining
        variables = net.trainable_variables
        losses = self.losses()
        updates = [Update(self.optimizer, opts.run.learning_rate, variables, losses["loss"])]
        watches = [CollapseWatch()]
        if self.objective.adversarial:
            updates.append(Update(self.discriminator_optimizer, opts.discriminator_learning_rate,
                                  self.discriminator.trainable_variables,
                                  losses["discriminator_loss"], "discriminator_loss"))
            watches.insert(0, adversarial.BalanceWatch(drift=0.1, fake="accuracy_painted",
                                                       player="painter"))
        return [
            Phase("pretraining", pretraining.steps,
                  lambda batch: painter.identity_terms(net, self._inputs(batch)[0]),
                  [Update(self.pretrain_optimizer, pretraining.learning_rate, variables,
                          loss_name="identity_loss")]),
            Phase("training", pretraining.steps + steps,
                  lambda batch: self.loss_terms(*self._inputs(batch), training=True), updates,
                  lambda step, metrics: [line for watch in watches
                                         for line in watch(step, metrics)]),
        ]

    def _fixed_inputs(self, images):
        """The fixed frames stylised with their own mean code as the source's (their sources
        are not known here), as process_video.py does a clip's."""
        images = tf.constant(images)
        z = self.bundle.model.encode(images)["z_mean"]
        means = tf.broadcast_to(tf.reduce_mean(z, 0, keepdims=True), tf.shape(z))
        return self.stylised(images, means)

    def fixed_batch_loss(self, images):
        return batch_means(self.loss_terms(self._fixed_inputs(images), tf.constant(images)),
                           self.losses())

    def preview_rows(self, images):
        inputs = self._fixed_inputs(images)
        return [images, inputs.numpy(), painter.paint(self.net, inputs).numpy()]
