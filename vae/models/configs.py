"""The shapes of the networks and the refiner's and painter's objectives, as plain values.

A field that is a command-line flag says so where it is declared, with its default and help
(vae/flags.py); the trainers' options (vae/train/options.py) nest these configs. No
TensorFlow here, so that `--help` and argument errors answer at once. The run folders'
config.json hold the networks' shapes as dicts (to_dict).
"""
from dataclasses import asdict, dataclass, fields

from vae.argtypes import (
    int_list,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    unit_float,
)
from vae.flags import flag

REFINER_OBJECTIVES = ("l1-ssim", "toward-away", "adversarial")
PAINTER_OBJECTIVES = ("perceptual", "adversarial", "both")
CONTENT_TARGETS = ("input", "frame")
PAINTER_ACTIVATIONS = ("leaky_relu", "relu")
PAINTER_MULTIPLE = 4  # the painter's two stride-2 stages: it takes sides that are multiples of 4


class _Config:
    """A config's config.json form."""

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data):
        return cls(**{f.name: data[f.name] for f in fields(cls)})


class _NetworkConfig(_Config):
    """What both frame-to-frame network configs share: their frame size."""

    @property
    def frame_size(self):
        """(width, height) of the frames the network takes and returns."""
        return self.width, self.height


@dataclass(frozen=True)
class VAEConfig(_NetworkConfig):
    width: int = 320
    height: int = 180
    filters: tuple = flag((64, 64, 128, 128, 192, 256), "feature maps of the encoder's conv "
                          "layers; the decoder mirrors them", type=int_list, metavar="N,N,...")
    kernels: tuple = flag((7, 5, 5, 3, 3, 3), "kernel sizes of those layers", type=int_list,
                          metavar="K,K,...")
    code_size: int = flag(512, "latent code size", type=positive_int, metavar="N")

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        object.__setattr__(self, "kernels", tuple(int(k) for k in self.kernels))
        if len(self.filters) != len(self.kernels) or not self.filters:
            raise ValueError(f"filters ({len(self.filters)}) and kernels ({len(self.kernels)}) "
                             "must list the same, non-zero number of layers")
        if min(self.filters + self.kernels) < 1 or self.code_size < 1:
            raise ValueError("filters, kernels and code size must be positive")

    def feature_sizes(self):
        """(height, width) of the input and after each stride-2 SAME conv: ceil halving."""
        sizes = [(self.height, self.width)]
        for _ in self.filters:
            h, w = sizes[-1]
            sizes.append(((h + 1) // 2, (w + 1) // 2))
        return sizes


@dataclass(frozen=True)
class RefinerConfig(_NetworkConfig):
    width: int = 320
    height: int = 180
    filters: int = flag(32, "feature maps of the full- and half-size convs", type=positive_int,
                        metavar="N")
    residual_filters: tuple = flag((32, 64, 32), "feature maps of the residual convs at half "
                                   "size", type=int_list, metavar="N,N,...")
    kernel: int = flag(5, "kernel size of every conv", type=positive_int, metavar="K")

    def __post_init__(self):
        object.__setattr__(self, "residual_filters", tuple(int(f) for f in self.residual_filters))
        if min((self.filters, self.kernel) + self.residual_filters) < 1:
            raise ValueError("refiner filters and kernel must be positive")


@dataclass(frozen=True)
class DiscriminatorConfig(_Config):
    """The PatchGAN of the adversarial objective: stride-2 convs, then one logit per patch."""
    filters: tuple = flag((32, 64, 128), "feature maps of the discriminator's stride-2 convs, "
                          "one per layer", type=int_list, metavar="N,N,...")
    kernel: int = flag(4, "kernel size of the discriminator's convs", type=positive_int,
                       metavar="K")

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        if not self.filters or min(self.filters + (self.kernel,)) < 1:
            raise ValueError("discriminator filters and kernel must be positive")


@dataclass(frozen=True)
class RefinerObjective:
    """What the refiner is trained to do.

    "l1-ssim" (default): (1 - ssim_weight) * L1 + ssim_weight * (1 - SSIM) toward the input
    frame, the mix of Zhao et al. 2017; it pulls toward the real frame only, so it cannot
    reward noise. "toward-away": input_weight * MSE(refined, input) + vae_weight * AWAY_SCALE
    / MSE(refined, VAE output), toward the real frame and away from the VAE's output
    (vae/models/refiner.py). "adversarial": the l1-ssim terms + feature_weight * the distance
    of a discriminator's hidden activations for real and refined frames + adversarial_weight
    * the hinge GAN term (vae/models/adversarial.py).
    """
    name: str = flag(
        "l1-ssim", "l1-ssim: (1 - W) * L1 + W * (1 - SSIM) toward the real frame, W = "
        "--ssim-weight; toward-away: --input-weight * MSE(refined, input) + --vae-weight * s / "
        "MSE(refined, VAE output), toward the real frame and away from the VAE's output (s "
        "makes the second term 1e4 / SSE at 320x180); adversarial: l1-ssim + --feature-weight "
        "* feature matching + --adversarial-weight * hinge GAN term, against a PatchGAN "
        "discriminator", name="objective", choices=REFINER_OBJECTIVES)
    ssim_weight: float = flag(0.84, "l1-ssim: weight of the SSIM term, in [0, 1]",
                              type=unit_float, metavar="W")
    input_weight: float = flag(0.6, "toward-away: weight of MSE(refined, input)",
                               type=positive_float, metavar="W")
    vae_weight: float = flag(0.4, "toward-away: weight of the away-from-the-VAE-output term",
                             type=positive_float, metavar="W")
    feature_weight: float = flag(5.0, "adversarial: weight of the distance of the "
                                 "discriminator's hidden activations for the real and the "
                                 "refined frame", type=non_negative_float, metavar="W")
    adversarial_weight: float = flag(0.05, "adversarial: weight of the hinge GAN term, "
                                     "-D(refined)", type=non_negative_float, metavar="W")

    def __post_init__(self):
        if self.name not in REFINER_OBJECTIVES:
            raise ValueError(f"unknown refiner objective {self.name!r}")


@dataclass(frozen=True)
class PainterConfig(_Config):
    """The painter (vae/models/painter.py): filters at full size (x2, x4 after each stride-2
    conv), the number of residual blocks at a quarter size, and the activation between its
    convs. Fully convolutional: no size.

    leaky_relu (slope 0.2) is the default: with relu, the identity pre-training switches the
    units of the residual path off, every one, and no later gradient reaches them again (the
    painter then gives back its input with a colour cast, whatever it is trained on). Runs
    written before the field existed used relu."""
    filters: int = flag(24, "feature maps of the painter's full-size convs, x2 and x4 at half "
                        "and quarter size", type=positive_int, metavar="N")
    residual_blocks: int = flag(4, "residual blocks at quarter size", type=non_negative_int,
                                metavar="N")
    activation: str = "leaky_relu"

    def __post_init__(self):
        if self.filters < 1 or self.residual_blocks < 0:
            raise ValueError("painter filters must be positive and residual blocks 0 or more")
        if self.activation not in PAINTER_ACTIVATIONS:
            raise ValueError(f"unknown painter activation {self.activation!r}")

    @classmethod
    def from_dict(cls, data):
        return super().from_dict({"activation": "relu", **data})


@dataclass(frozen=True)
class PainterObjective:
    """The painter's terms. Always: content_weight * MSE of pool x pool average-pooled images
    toward its input, feature_weight * MSE of the frozen VAE encoder's first feature_layers
    conv blocks' activations toward the input's, temporal_weight * L1 between painting a moved
    (and temporal_noise-noisy) input and moving the painted one. "perceptual" (or "both"):
    style_weight * the distance of the painted frame's feature statistics to the paintings'
    in a frozen ImageNet network (vae/models/style.py), perceptual_content_weight * MSE of its
    deeper features toward those of content_target ("input": the painter's input, "frame":
    the original frame), total_variation_weight * total variation. "adversarial" (or "both"):
    adversarial_weight * the hinge GAN term."""
    name: str = flag(
        "perceptual", "what makes the painter paint: the paintings' feature statistics "
        "(perceptual), a discriminator (adversarial; try --learning-rate 2e-4), or both",
        name="objective", choices=PAINTER_OBJECTIVES)
    content_weight: float = flag(10.0, "weight of the MSE of the average-pooled painted and "
                                 "input images", type=non_negative_float, metavar="W")
    pool: int = flag(4, "pool size of the content term: details finer than K pixels are the "
                     "painter's", type=positive_int, metavar="K")
    temporal_weight: float = flag(1.0, "weight of the L1 between painting a moved frame and "
                                  "moving the painted one", type=non_negative_float, metavar="W")
    temporal_noise: float = 0.01
    adversarial_weight: float = flag(0.1, "adversarial: weight of the hinge GAN term, "
                                     "-D(painted)", type=non_negative_float, metavar="W")
    feature_weight: float = flag(0.0, "weight of the MSE of the frozen VAE encoder's "
                                 "activations for the painted and input images: keeps "
                                 "structure, not pixels (default: {default}, off)",
                                 type=non_negative_float, metavar="W")
    feature_layers: int = flag(2, "how many of the encoder's conv layers the feature term "
                               "compares, from the first; deeper ones see coarser structure",
                               type=positive_int, metavar="N")
    style_weight: float = flag(1.0, "perceptual: weight of the distance of the painted frames' "
                               "feature statistics to the paintings'", type=non_negative_float,
                               metavar="W")
    perceptual_content_weight: float = flag(
        0.05, "perceptual: weight of the MSE of the feature network's deeper activations "
        "toward the content target's", type=non_negative_float, metavar="W")
    content_target: str = flag("input", "perceptual: what the deeper features are kept close "
                               "to: the painter's input, or the original frame",
                               choices=CONTENT_TARGETS)
    total_variation_weight: float = flag(1.0, "perceptual: weight of the total variation of "
                                         "the painted frames", type=non_negative_float,
                                         metavar="W")

    def __post_init__(self):
        if self.name not in PAINTER_OBJECTIVES:
            raise ValueError(f"unknown painter objective {self.name!r}")
        if self.content_target not in CONTENT_TARGETS:
            raise ValueError(f"unknown content target {self.content_target!r}")
        if self.pool < 1 or self.feature_layers < 1 or min(
                self.content_weight, self.temporal_weight, self.temporal_noise,
                self.adversarial_weight, self.feature_weight, self.style_weight,
                self.perceptual_content_weight, self.total_variation_weight) < 0:
            raise ValueError("the pool and the feature layers must be positive and the weights "
                             "0 or more")

    @property
    def adversarial(self):
        return self.name in ("adversarial", "both")

    @property
    def perceptual(self):
        return self.name in ("perceptual", "both")
