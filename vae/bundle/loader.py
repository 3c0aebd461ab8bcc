"""Loading a model bundle written by export.py: in the precision a run asks for, with the
source and style means that a stylisation's settings name."""
import io
import json
import os

import numpy as np
import tensorflow as tf

from vae import InputError
from vae.bundle.format import (
    BRUSH_STYLES,
    BUNDLE_FORMAT,
    CONFIG,
    MEANS,
    SAVED_MODEL,
    STYLE_STATS,
    StyleModel,
)
from vae.bundle.means import LatentMeans
from vae.bundle.stylizing import stylize
from vae.media import storage


def open_bundle(folder, precision="auto", report=print):
    """Resolve --precision (auto: what this hardware runs natively), report the choice, and
    load the bundle in it."""
    from vae.models import precision as precisions

    arithmetic, line = precisions.resolve(precision)
    report(line)
    return Bundle(folder, arithmetic)


class Bundle:
    """A loaded model bundle: the SavedModel's signatures, its config and latent means.

    precision: float32 runs the SavedModel as exported; bfloat16 or float16 rebuild the
    networks from config.json under that Keras mixed policy and read the SavedModel's (float32)
    weights into them, so the bundle on disk is the same whatever the precision."""

    def __init__(self, folder, precision="float32"):
        self.folder = folder
        if not storage.isdir(folder):
            raise InputError(f"model bundle not found: {folder} (run export_graph.py first)")
        try:
            self.config = json.loads(storage.read_text(os.path.join(folder, CONFIG)))
            found = self.config.get("format") if isinstance(self.config, dict) else None
            if found != BUNDLE_FORMAT:
                raise InputError(f"{folder} is a bundle of format {found}, not {BUNDLE_FORMAT}: "
                                 "re-export it with export_graph.py")
            self.width = int(self.config["frame_size"]["width"])
            self.height = int(self.config["frame_size"]["height"])
            self.code_size = int(self.config["code_size"])
            self.means = LatentMeans.load(os.path.join(folder, MEANS))
            self.model = tf.saved_model.load(os.path.join(folder, SAVED_MODEL))
            self._check_shapes()
            self.brush_styles = self._read_brush_styles()
        except InputError:
            raise
        except Exception as err:  # any file of the bundle that is missing, cut short or changed
            raise InputError(f"{folder} is not a complete model bundle: "
                             f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                             "; export it again") from None
        self.signatures = set(self.model.signatures)
        self.has_refiner = "refine" in self.signatures
        self.has_painter = "paint" in self.signatures
        if precision != "float32":
            self.model = self.rebuild(precision)

    def _check_shapes(self):
        """ValueError unless config.json, the mean codes and the SavedModel agree on the frame
        and code sizes."""
        image_shape = self.model.signatures["encode"].structured_input_signature[1]["images"].shape
        code_shape = self.model.signatures["decode"].structured_input_signature[1]["z"].shape
        if tuple(image_shape[1:3]) != (self.height, self.width):
            raise ValueError(f"config.json says {self.width}x{self.height} frames, the "
                             f"SavedModel takes {image_shape[2]}x{image_shape[1]}")
        if code_shape[-1] != self.code_size:
            raise ValueError(f"config.json says codes of {self.code_size}, the SavedModel "
                             f"takes {code_shape[-1]}")
        if self.means.means.ndim != 2 or self.means.means.shape[1] != self.code_size or \
                len(self.means.names) != len(self.means.means):
            raise ValueError(f"{MEANS} holds means of shape {self.means.means.shape}, not one "
                             f"row of {self.code_size} per source")

    def _arrays(self, name):
        """{array name: array} of the bundle's optional .npz file `name`, or None without it."""
        path = os.path.join(self.folder, name)
        if not storage.exists(path):
            return None
        with np.load(io.BytesIO(storage.read_bytes(path))) as data:
            return {key: data[key] for key in data.files}

    def _read_brush_styles(self):
        """The brush's styles (vae/models/brush.py BrushStyles), or None: the bundle was
        exported without the paintings' files."""
        from vae.models.brush import BrushStyles

        arrays = self._arrays(BRUSH_STYLES)
        return arrays and BrushStyles.from_arrays(arrays)

    def rebuild(self, arithmetic="float32"):
        """A StyleModel of the bundle's networks as Keras models computing in `arithmetic`
        (another precision, or the networks' layers themselves, as the painter's training
        uses the encoder's)."""
        from vae.models import autoencoder, painter, precision, refiner
        from vae.models.configs import PainterConfig, RefinerConfig, VAEConfig

        vae_config = VAEConfig.from_dict(self.config["vae"]["model"])
        refiner_config = (RefinerConfig.from_dict(self.config["refiner"]["model"])
                          if self.has_refiner else None)
        with precision.policy(arithmetic):
            networks = {"encoder": autoencoder.build_encoder(vae_config),
                        "decoder": autoencoder.build_decoder(vae_config)}
            if refiner_config:
                networks["refiner"] = refiner.build_refiner(refiner_config)
            if self.has_painter:
                networks["painter"] = painter.build_painter(
                    PainterConfig.from_dict(self.config["painter"]["model"]))
        weights = os.path.join(self.folder, SAVED_MODEL, "variables", "variables")
        tf.train.Checkpoint(**networks).read(weights).expect_partial() \
            .assert_existing_objects_matched()
        return StyleModel(vae_config, **networks)

    def style_stats(self):
        """The paintings' statistics saved at export, or None (the data had no paintings)."""
        return self._arrays(STYLE_STATS)

    def encode(self, images):
        return self.model.encode(tf.convert_to_tensor(images, tf.float32))

    def decode(self, z):
        return self.model.decode(tf.convert_to_tensor(z, tf.float32))["images"]

    def refine(self, images):
        if not self.has_refiner:
            return tf.convert_to_tensor(images)
        return self.model.refine(tf.convert_to_tensor(images, tf.float32))["images"]

    def paint(self, images):
        """The painter's repainting of images of any size (float32 in [0, 1])."""
        return self.model.paint(tf.convert_to_tensor(images, tf.float32))["images"]

    def stylize(self, images, shift, detail=0.0, refine=True):
        """The stylising formula (vae/bundle/stylizing.py) on images at the model's size,
        through the bundle's encode, decode and refine: the one path of process_video.py, the
        painter's training, the evaluation and the benchmarks. shift: one vector, or one per
        image; refine: refine, when the bundle has a refiner. -> Stylized"""
        model = self.model
        return stylize(lambda x: model.encode(x)["z_mean"], lambda z: model.decode(z)["images"],
                       tf.convert_to_tensor(images, tf.float32), shift, detail,
                       (lambda x: model.refine(x)["images"]) if self.refines(refine) else None)

    def refines(self, asked=True):
        """Whether frames are refined: when asked and the bundle has a refiner."""
        return asked and self.has_refiner

    def painter(self, asked="auto"):
        """What paints for --painter `asked` (auto, brush or trained): "brush" (Magenta's
        network in the paintings' style, when the bundle has their brush styles), "trained"
        (the bundle's own painter network), or None when the bundle has not that painter."""
        has = {"brush": self.brush_styles is not None, "trained": self.has_painter}
        if asked == "auto":
            return next((name for name, present in has.items() if present), None)
        return asked if has.get(asked) else None

    def brush_style(self, style=None):
        """The brush's style vector of the painting source `style` (None: of all the
        paintings); InputError when the bundle has none for it."""
        if self.brush_styles is None:
            raise InputError(f"{self.folder} has no brush styles")
        try:
            return self.brush_styles.style(style)
        except KeyError as err:
            raise InputError(err.args[0]) from None

    def cannot_paint(self, paint, painter="auto"):
        """Why this bundle cannot paint at `paint` with --painter `painter` (None when it
        can): the one rule and message that the command line (StyleSettings.resolve), the
        stylizer and the live page all give."""
        if paint <= 0 or self.painter(painter):
            return None
        if painter == "brush":
            return (f"paint {paint:g} with the brush needs a bundle with the paintings' brush "
                    f"styles, and {self.folder} has none: export it again with export_graph.py "
                    "while the data folder's painting files can be read")
        return (f"paint {paint:g} needs a bundle with a painter, and {self.folder} has "
                "none: export it with export_graph.py while the data folder's painting files "
                "can be read (the brush), or train one with train_painter.py and export it "
                "with export_graph.py --painter")
