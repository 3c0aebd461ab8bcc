"""The model bundle: export of the trained networks as a SavedModel + frozen graphs, and loading.

Layout of a bundle folder (what process_video.py and evaluate_embeddings.py read):
  saved_model/          tf.Module with signatures encode, decode, refine (if any), stylize and
                        stylize_and_reconstruct (both S(z + shift) and S(z), for --detail)
  frozen/<name>.pb      the same functions as frozen GraphDefs; frozen/signatures.json names
                        their input and output tensors
  config.json           frame size, code size, both runs' configurations and steps
  latent_means.npz      mean z_mean per source (+ latent_means.json, readable)
  style_stats.npz       the paintings' colour and texture statistics (vae/quality.py), when
                        the data had paintings
"""
import io
import json
import os

import numpy as np
import tensorflow as tf

from vae import InputError, atomic, storage

SAVED_MODEL = "saved_model"
FROZEN = "frozen"
CONFIG = "config.json"
MEANS = "latent_means.npz"
MEANS_JSON = "latent_means.json"
STYLE_STATS = "style_stats.npz"


class StyleModel(tf.Module):
    """encode / decode / refine / stylize on float32 images in [0, 1], any batch size.

    config: the VAE's configs.VAEConfig, which gives the frame and code sizes."""

    def __init__(self, config, encoder, decoder, refiner=None):
        super().__init__(name="style_model")
        self.encoder, self.decoder, self.refiner = encoder, decoder, refiner
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

    def _encode(self, images):
        z_mean, z_log_sigma = self.encoder(images, training=False)
        return {"z_mean": z_mean, "z_log_sigma": z_log_sigma}

    def _decode(self, z):
        return {"images": self.decoder(z, training=False)}

    def _refine(self, images):
        return {"images": self.refiner(images, training=False)}

    def _decode_and_refine(self, z):
        decoded = self.decoder(z, training=False)
        if self.refiner is not None:
            decoded = self.refiner(decoded, training=False)
        return decoded

    def _stylize(self, images, shift):
        """Encode to the code's mean, add the shift, decode, refine (when there is a refiner)."""
        z_mean, _ = self.encoder(images, training=False)
        return {"images": self._decode_and_refine(z_mean + shift[tf.newaxis])}

    def _stylize_and_reconstruct(self, images, shift):
        """S(z + shift) as "images" and S(z) as "reconstructions" (S = decode, then refine),
        from one batched decode of both codes: what detail transfer needs."""
        z_mean, _ = self.encoder(images, training=False)
        both = self._decode_and_refine(tf.concat([z_mean + shift[tf.newaxis], z_mean], 0))
        styled, reconstructed = tf.split(both, 2)
        return {"images": styled, "reconstructions": reconstructed}

    def signatures(self):
        names = ["encode", "decode", "stylize", "stylize_and_reconstruct"] + (
            ["refine"] if self.refiner is not None else [])
        return {name: getattr(self, name).get_concrete_function() for name in names}


def freeze(concrete_function):
    """A concrete function as a GraphDef with variables folded into constants, and the names
    of its input and output tensors."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    frozen = convert_variables_to_constants_v2(concrete_function)
    inputs = [t.name for t in frozen.inputs if t.dtype != tf.resource]
    outputs = {name: t.name for name, t in zip(
        sorted(concrete_function.structured_outputs), frozen.outputs)}
    return frozen.graph.as_graph_def(), inputs, outputs


def run_frozen(graph_def, inputs, outputs, *values):
    """Run a frozen GraphDef on numpy inputs: {output name: array}."""
    def import_graph():
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(import_graph, [])
    graph = wrapped.graph
    pruned = wrapped.prune([graph.get_tensor_by_name(n) for n in inputs],
                           {k: graph.get_tensor_by_name(v) for k, v in outputs.items()})
    return {k: v.numpy() for k, v in pruned(*[tf.constant(v) for v in values]).items()}


def write_bundle(out_dir, module, config, means, style_stats=None):
    """Write the whole bundle to a scratch folder beside out_dir, then move it into place.

    Returns {signature: (graph_def, inputs, outputs)} of the frozen graphs for verification.
    """
    with atomic.writing_folder(out_dir) as tmp:
        signatures = module.signatures()
        tf.saved_model.save(module, os.path.join(tmp, SAVED_MODEL), signatures=signatures)
        frozen_dir = os.path.join(tmp, FROZEN)
        os.makedirs(frozen_dir)
        frozen, names = {}, {}
        for name, function in signatures.items():
            graph_def, inputs, outputs = freeze(function)
            with open(os.path.join(frozen_dir, f"{name}.pb"), "wb") as f:
                f.write(graph_def.SerializeToString())
            frozen[name] = (graph_def, inputs, outputs)
            names[name] = {"file": f"{name}.pb", "inputs": inputs, "outputs": outputs}
        atomic.write_json(os.path.join(frozen_dir, "signatures.json"), names)
        atomic.write_json(os.path.join(tmp, CONFIG), config)
        np.savez(os.path.join(tmp, MEANS), **means.to_arrays())
        atomic.write_json(os.path.join(tmp, MEANS_JSON), means.summary())
        if style_stats is not None:
            np.savez(os.path.join(tmp, STYLE_STATS), **style_stats)
    return frozen


class Bundle:
    """A loaded model bundle: the SavedModel's signatures, its config and latent means.

    precision: float32 runs the SavedModel as exported; bfloat16 or float16 rebuild the
    networks from config.json under that Keras mixed policy and read the SavedModel's (float32)
    weights into them, so the bundle on disk is the same whatever the precision."""

    def __init__(self, folder, precision="float32"):
        from vae.latent import LatentMeans

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
        from vae import model, precision, refiner
        from vae.configs import RefinerConfig, VAEConfig

        try:
            vae_config = VAEConfig.from_dict(self.config["vae"]["model"])
            refiner_config = (RefinerConfig.from_dict(self.config["refiner"]["model"])
                              if self.has_refiner else None)
        except (KeyError, TypeError):
            raise InputError(f"{self.folder} predates --precision (its config.json lacks the "
                             "networks' shapes): export it again, or use --precision float32"
                             ) from None
        with precision.policy(arithmetic):
            networks = {"encoder": model.build_encoder(vae_config),
                        "decoder": model.build_decoder(vae_config)}
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
