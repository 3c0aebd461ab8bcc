"""The shapes of the networks and the refiner's and painter's objectives, as plain values.

No TensorFlow here: the scripts read their flag defaults from this module, so `--help` and
argument errors answer at once. The run folders' config.json hold these as dicts (to_dict).
"""
from dataclasses import asdict, dataclass, fields

VAE_FILTERS = (64, 64, 128, 128, 192, 256)
VAE_KERNELS = (7, 5, 5, 3, 3, 3)
VAE_CODE_SIZE = 512
REFINER_FILTERS = 32
REFINER_RESIDUAL_FILTERS = (32, 64, 32)
REFINER_KERNEL = 5
OBJECTIVES = ("l1-ssim", "seed", "adversarial")
DISCRIMINATOR_FILTERS = (32, 64, 128)
DISCRIMINATOR_KERNEL = 4
PAINTER_FILTERS = 24
PAINTER_ACTIVATIONS = ("leaky_relu", "relu")
PAINTER_RESIDUAL_BLOCKS = 4
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
    filters: tuple = VAE_FILTERS
    kernels: tuple = VAE_KERNELS
    code_size: int = VAE_CODE_SIZE

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
    filters: int = REFINER_FILTERS
    residual_filters: tuple = REFINER_RESIDUAL_FILTERS
    kernel: int = REFINER_KERNEL

    def __post_init__(self):
        object.__setattr__(self, "residual_filters", tuple(int(f) for f in self.residual_filters))
        if min((self.filters, self.kernel) + self.residual_filters) < 1:
            raise ValueError("refiner filters and kernel must be positive")


@dataclass(frozen=True)
class DiscriminatorConfig(_Config):
    """The PatchGAN of the adversarial objective: stride-2 convs, then one logit per patch."""
    filters: tuple = DISCRIMINATOR_FILTERS
    kernel: int = DISCRIMINATOR_KERNEL

    def __post_init__(self):
        object.__setattr__(self, "filters", tuple(int(f) for f in self.filters))
        if not self.filters or min(self.filters + (self.kernel,)) < 1:
            raise ValueError("discriminator filters and kernel must be positive")


@dataclass(frozen=True)
class RefinerObjective:
    """What the refiner is trained to do.

    "l1-ssim" (default): (1 - ssim_weight) * L1 + ssim_weight * (1 - SSIM) toward the input
    frame, the mix of Zhao et al. 2017; it pulls toward the real frame only, so it cannot
    reward noise. "seed": input_weight * MSE(refined, input) + vae_weight * SEED_AWAY_SCALE /
    MSE(refined, VAE output), the original objective made per pixel (vae/models/refiner.py).
    "adversarial": the l1-ssim terms + feature_weight * the distance of a discriminator's
    hidden activations for real and refined frames + adversarial_weight * the hinge GAN term
    (vae/models/adversarial.py).
    """
    name: str = "l1-ssim"
    ssim_weight: float = 0.84
    input_weight: float = 0.6
    vae_weight: float = 0.4
    feature_weight: float = 5.0
    adversarial_weight: float = 0.05

    def __post_init__(self):
        if self.name not in OBJECTIVES:
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
    filters: int = PAINTER_FILTERS
    residual_blocks: int = PAINTER_RESIDUAL_BLOCKS
    activation: str = "leaky_relu"

    def __post_init__(self):
        if self.filters < 1 or self.residual_blocks < 0:
            raise ValueError("painter filters must be positive and residual blocks 0 or more")
        if self.activation not in PAINTER_ACTIVATIONS:
            raise ValueError(f"unknown painter activation {self.activation!r}")

    @classmethod
    def from_dict(cls, data):
        return super().from_dict({"activation": "relu", **data})


PAINTER_OBJECTIVES = ("perceptual", "adversarial", "both")
CONTENT_TARGETS = ("input", "frame")


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
    name: str = "perceptual"
    content_weight: float = 10.0
    pool: int = 4
    temporal_weight: float = 1.0
    temporal_noise: float = 0.01
    adversarial_weight: float = 0.1
    feature_weight: float = 0.0
    feature_layers: int = 2
    style_weight: float = 1.0
    perceptual_content_weight: float = 0.05
    content_target: str = "input"
    total_variation_weight: float = 1.0

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
