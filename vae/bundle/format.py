"""The model bundle's format, which the exporter writes and the loader reads: its file names,
format version and kind, how a bundle folder is recognised, and the exported tf.Module.

Layout of a bundle folder (what process_video.py and evaluate_embeddings.py read):
  saved_model/          tf.Module with signatures encode, decode, refine (if any), stylize,
                        stylize_and_reconstruct (both S(z + shift) and S(z), for --detail) and
                        paint (the painter, if any: images of any size)
  frozen/<name>.pb      the same functions as frozen GraphDefs; frozen/signatures.json names
                        their input and output tensors
  config.json           format, kind, frame size, code size, the runs' configurations and steps
  latent_means.npz      mean z_mean per source (+ latent_means.json, readable)
  style_stats.npz       the paintings' colour and texture statistics (vae/metrics/quality.py),
                        when the data had paintings
  brush_styles.npz      the brush's style vector of each painting source and of all of them
                        (vae/models/brush.py), when their files could be read at export
"""
import os

import tensorflow as tf

from vae.bundle.stylizing import stylize
from vae.media import storage

SAVED_MODEL = "saved_model"
FROZEN = "frozen"
CONFIG = "config.json"
MEANS = "latent_means.npz"
MEANS_JSON = "latent_means.json"
STYLE_STATS = "style_stats.npz"
BRUSH_STYLES = "brush_styles.npz"
# config.json's "format": a bundle of another format must be exported again.
BUNDLE_FORMAT = 1
# config.json's "kind": what only a bundle's config says (a run's says vae, refiner, painter).
BUNDLE_KIND = "model bundle"

class StyleModel(tf.Module):
    """encode / decode / refine / stylize on float32 images in [0, 1], any batch size.

    config: the VAE's configs.VAEConfig, which gives the frame and code sizes. painter: a
    fully convolutional painter (vae/models/painter.py), or None."""

    def __init__(self, config, encoder, decoder, refiner=None, painter=None):
        super().__init__(name="style_model")
        self.encoder, self.decoder, self.refiner = encoder, decoder, refiner
        self.painter = painter
        width, height = config.frame_size
        code_size = config.code_size
        image_spec = tf.TensorSpec([None, height, width, 3], tf.float32, name="images")
        self.encode = tf.function(self._encode, input_signature=[image_spec])
        self.decode = tf.function(
            self._decode, input_signature=[tf.TensorSpec([None, code_size], tf.float32, name="z")])
        shift_spec = tf.TensorSpec([code_size], tf.float32, name="shift")
        self.stylize = tf.function(self._stylize, input_signature=[image_spec, shift_spec])
        self.stylize_and_reconstruct = tf.function(self._stylize_and_reconstruct,
                                                   input_signature=[image_spec, shift_spec])
        if refiner is not None:
            self.refine = tf.function(self._refine, input_signature=[image_spec])
        if painter is not None:
            self.paint = tf.function(self._paint, input_signature=[
                tf.TensorSpec([None, None, None, 3], tf.float32, name="images")])

    def _encode(self, images):
        z_mean, z_log_sigma = self.encoder(images, training=False)
        return {"z_mean": z_mean, "z_log_sigma": z_log_sigma}

    def _decode(self, z):
        return {"images": self.decoder(z, training=False)}

    def _refine(self, images):
        return {"images": self.refiner(images, training=False)}

    def _paint(self, images):
        from vae.models.painter import paint

        return {"images": paint(self.painter, images)}

    def stylized(self, images, shift, detail=0.0):
        """The stylising formula on the networks themselves (vae/bundle/stylizing.py)."""
        return stylize(lambda x: self.encoder(x, training=False)[0],
                       lambda z: self.decoder(z, training=False), images, shift, detail,
                       None if self.refiner is None else
                       lambda x: self.refiner(x, training=False))

    def _stylize(self, images, shift):
        """Encode to the code's mean, add the shift, decode, refine (when there is a refiner)."""
        return {"images": self.stylized(images, shift).styled}

    def _stylize_and_reconstruct(self, images, shift):
        """S(z + shift) as "images" and S(z) as "reconstructions" (S = decode, then refine),
        from one batched decode of both codes: what detail transfer needs."""
        result = self.stylized(images, shift, 1.0)
        return {"images": result.styled, "reconstructions": result.reconstructed}

    def signatures(self):
        names = ["encode", "decode", "stylize", "stylize_and_reconstruct"] + (
            ["refine"] if self.refiner is not None else []) + (
            ["paint"] if self.painter is not None else [])
        return {name: getattr(self, name).get_concrete_function() for name in names}


def is_bundle(folder):
    """True for a folder that export_graph.py wrote: its config.json says it is a model bundle
    and it holds the SavedModel. The only kind of folder --out replaces: never a run folder, a
    data folder, or a bundle's look-alike."""
    return storage.kind_of(os.path.join(folder, CONFIG)) == BUNDLE_KIND and \
        storage.exists(os.path.join(folder, SAVED_MODEL, "saved_model.pb"))
