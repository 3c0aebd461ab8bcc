"""Loading a model bundle written by export.py, in the precision a run asks for."""
import io
import json
import os

import numpy as np
import tensorflow as tf

from vae import InputError
from vae.bundle.export import CONFIG, MEANS, SAVED_MODEL, STYLE_STATS, StyleModel
from vae.media import storage


class Bundle:
    """A loaded model bundle: the SavedModel's signatures, its config and latent means.

    precision: float32 runs the SavedModel as exported; bfloat16 or float16 rebuild the
    networks from config.json under that Keras mixed policy and read the SavedModel's (float32)
    weights into them, so the bundle on disk is the same whatever the precision."""

    def __init__(self, folder, precision="float32"):
        from vae.bundle.latent import LatentMeans

        self.folder = folder
        if not storage.isdir(folder):
            raise InputError(f"model bundle not found: {folder} (run export_graph.py first)")
        try:
            self.config = json.loads(storage.read_text(os.path.join(folder, CONFIG)))
            self.means = LatentMeans.load(os.path.join(folder, MEANS))
            self.model = tf.saved_model.load(os.path.join(folder, SAVED_MODEL))
        except (OSError, ValueError, KeyError, tf.errors.OpError) as err:
            raise InputError(f"{folder} is not a complete model bundle: "
                             f"{str(err).splitlines()[0]}") from None
        self.width = int(self.config["frame_size"]["width"])
        self.height = int(self.config["frame_size"]["height"])
        self.code_size = int(self.config["code_size"])
        self.signatures = set(self.model.signatures)
        self.has_refiner = "refine" in self.signatures
        if precision != "float32":
            self.model = self._rebuild(precision)

    def _rebuild(self, arithmetic):
        """A StyleModel of the bundle's networks computing in another precision."""
        from vae.models import autoencoder
        from vae.models import precision
        from vae.models import refiner
        from vae.models.configs import RefinerConfig, VAEConfig

        try:
            vae_config = VAEConfig.from_dict(self.config["vae"]["model"])
            refiner_config = (RefinerConfig.from_dict(self.config["refiner"]["model"])
                              if self.has_refiner else None)
        except (KeyError, TypeError):
            raise InputError(f"{self.folder} predates --precision (its config.json lacks the "
                             "networks' shapes): export it again, or use --precision float32"
                             ) from None
        with precision.policy(arithmetic):
            networks = {"encoder": autoencoder.build_encoder(vae_config),
                        "decoder": autoencoder.build_decoder(vae_config)}
            if refiner_config:
                networks["refiner"] = refiner.build_refiner(refiner_config)
        weights = os.path.join(self.folder, SAVED_MODEL, "variables", "variables")
        tf.train.Checkpoint(**networks).read(weights).expect_partial() \
            .assert_existing_objects_matched()
        return StyleModel(vae_config, **networks)

    def style_stats(self):
        """The paintings' statistics saved at export, or None (older bundles, no paintings)."""
        path = os.path.join(self.folder, STYLE_STATS)
        if not storage.exists(path):
            return None
        with np.load(io.BytesIO(storage.read_bytes(path))) as data:
            return {name: data[name] for name in data.files}

    def encode(self, images):
        return self.model.encode(tf.convert_to_tensor(images, tf.float32))

    def decode(self, z):
        return self.model.decode(tf.convert_to_tensor(z, tf.float32))["images"]

    def refine(self, images):
        if not self.has_refiner:
            return tf.convert_to_tensor(images)
        return self.model.refine(tf.convert_to_tensor(images, tf.float32))["images"]

    def stylize(self, images, shift):
        return self.model.stylize(tf.convert_to_tensor(images, tf.float32),
                                  tf.convert_to_tensor(shift, tf.float32))["images"]

    def stylize_and_reconstruct(self, images, shift, refine=True):
        """(S(z + shift), S(z)) with S = decode, then refine (when refine and there is a
        refiner). Bundles exported before this signature existed get the same from encode,
        one batched decode of both codes, and refine."""
        images = tf.convert_to_tensor(images, tf.float32)
        shift = tf.convert_to_tensor(shift, tf.float32)
        if (refine or not self.has_refiner) and \
                "stylize_and_reconstruct" in self.signatures:
            result = self.model.stylize_and_reconstruct(images, shift)
            return result["images"], result["reconstructions"]
        z_mean = self.encode(images)["z_mean"]
        both = self.decode(tf.concat([z_mean + shift[tf.newaxis], z_mean], 0))
        if refine:
            both = self.refine(both)
        styled, reconstructed = tf.split(both, 2)
        return styled, reconstructed
