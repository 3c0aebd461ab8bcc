"""Each trainer's options, one dataclass apiece: its fields carry the defaults and the help, the
network's, discriminator's and objective's configs are nested inside, the script's flags are
generated from it (vae.flags) and the run's config.json is written from it. An option marked
resumable may change when a run resumes (how long, how fast, on what hardware: steps, learning
rates, batch size, intervals, seed, strategy, precision, XLA), and the run records the change;
any other (the data, the frozen inputs, the crop, the objective and its weights, the
pre-training's length, the networks) is what the run is, and a resume that changes it is
refused. No TensorFlow here, so that the scripts' --help reads its defaults at once."""
from dataclasses import dataclass, replace

from vae.argtypes import non_negative_int, positive_float, positive_int, random_seed
from vae.flags import flag, flat, nested
from vae.models.configs import (
    PAINTER_MULTIPLE,
    DiscriminatorConfig,
    PainterConfig,
    PainterObjective,
    RefinerConfig,
    RefinerObjective,
    VAEConfig,
)
from vae.options import (
    PAINTER_RUN,
    REFINER_RUN,
    VAE_RUN,
    bundle_folder,
    data_folder,
    precision,
    run_folder,
)

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass(frozen=True)
class TrainOptions:
    """What every trainer's run is told, whatever the network: the trainers' common flags.
    Each trainer's options hold one with that trainer's defaults."""
    data: str = data_folder()
    logdir: str = flag("runs", "run folder: checkpoints, config.json, TensorBoard logs, "
                       "previews (default: {default}); an existing run there is resumed",
                       metavar="DIR", resumable=True)
    batch_size: int = flag(50, "global batch size, split over replicas", type=positive_int,
                           metavar="N", resumable=True)
    steps: int = flag(100000, "total steps to reach, counting earlier runs",
                      type=positive_int, metavar="N", exclusive="length", resumable=True)
    epochs: float | None = flag(None, "train for N passes over the data instead (a total, like "
                                "--steps)", type=positive_float, metavar="N",
                                exclusive="length", resumable=True)
    learning_rate: float = flag(1e-3, "Adam learning rate", type=positive_float, metavar="LR",
                                resumable=True)
    checkpoint_every: int = flag(500, "save a checkpoint every N steps, and always on exit",
                                 type=positive_int, metavar="N", resumable=True)
    preview_every: int = flag(500, "write preview.png and a progress.mp4 frame every N steps",
                              type=positive_int, metavar="N", resumable=True)
    seed: int = flag(0, "random seed", type=random_seed, resumable=True)
    strategy: str = flag("default", "default: one device; mirrored: all local GPUs; "
                         "multiworker: several machines described by TF_CONFIG",
                         choices=STRATEGIES, resumable=True)
    precision: str = precision("the training step", "variables, losses and checkpoints",
                               resumable=True)
    xla: str = flag("auto", "compile the training step with XLA: auto does on GPUs; on CPUs "
                    "TensorFlow's oneDNN kernels are faster than XLA's",
                    choices=("auto", "on", "off"), resumable=True)


@dataclass(frozen=True)
class Pretraining:
    """A generator's identity pre-training (frames in, the same frames out) before its main
    phase, with an optimizer of its own."""
    steps: int = flag(200, "identity pre-training steps before the main phase: the network "
                      "learns to give back its input (default: {default}; 0 skips it)",
                      type=non_negative_int, metavar="N")
    learning_rate: float = flag(1e-3, "learning rate of the pre-training", type=positive_float,
                                metavar="LR", resumable=True)


def _discriminator_learning_rate():
    return flag(2e-4, "the discriminator's Adam learning rate (adversarial objective)",
                type=positive_float, metavar="LR", resumable=True)


@dataclass(frozen=True)
class VAETraining:
    """train_vae.py's options."""
    run: TrainOptions = nested(TrainOptions(logdir=VAE_RUN, learning_rate=2e-4))
    network: VAEConfig = nested(VAEConfig())


@dataclass(frozen=True)
class RefinerTraining:
    """train_refiner.py's options: the frozen VAE, the network's shape, the objective and its
    weights, the pre-training, and the discriminator of the adversarial objective."""
    run: TrainOptions = nested(TrainOptions(logdir=REFINER_RUN, learning_rate=1e-4,
                                            steps=20000))
    vae: str = run_folder(VAE_RUN, "the VAE's run folder (its latest checkpoint is used)")
    pretraining: Pretraining = nested(Pretraining(), prefix="pretrain_")
    objective: RefinerObjective = nested(RefinerObjective())
    discriminator_learning_rate: float = _discriminator_learning_rate()
    discriminator: DiscriminatorConfig = nested(DiscriminatorConfig(), prefix="discriminator_")
    network: RefinerConfig = nested(RefinerConfig())


@dataclass(frozen=True)
class PainterTraining:
    """train_painter.py's options: the frozen bundle, the crop size, the pre-training, the
    objective's weights, and the painter's and discriminator's shapes."""
    run: TrainOptions = nested(TrainOptions(logdir=PAINTER_RUN, learning_rate=1e-3,
                                            steps=5000, batch_size=8))
    model: str = bundle_folder("the model bundle whose stylised frames the painter repaints")
    crop: int = flag(0, f"train on random PX x PX crops of the frames and paintings, a "
                     f"multiple of {PAINTER_MULTIPLE} (default: {{default}}, whole frames)",
                     type=non_negative_int, metavar="PX")
    style_width: int = flag(0, "perceptual: take the style's statistics from the painting "
                            "files themselves, resized to PX pixels wide (match the width the "
                            "painter paints at: --paint-scale times the clips' width), rather "
                            "than from the records at the model's size, where brushwork is "
                            "lost (default: {default}, the records)", type=non_negative_int,
                            metavar="PX")
    pretraining: Pretraining = nested(Pretraining(), prefix="pretrain_")
    objective: PainterObjective = nested(PainterObjective())
    discriminator_learning_rate: float = _discriminator_learning_rate()
    discriminator: DiscriminatorConfig = nested(DiscriminatorConfig(), prefix="discriminator_")
    network: PainterConfig = nested(PainterConfig())

    def __post_init__(self):
        if self.crop % PAINTER_MULTIPLE:
            raise ValueError(f"--crop must be 0 or a positive multiple of {PAINTER_MULTIPLE}")


NETWORKS = ("network", "discriminator")  # the options' fields that are config.json sections


def training_section(options):
    """config.json's "training": the options by flag name, but for the networks' shapes,
    which are sections of their own."""
    return flat(options, skip=NETWORKS)


def with_frame_size(config, size):
    """A network config at the data's (width, height)."""
    return replace(config, width=size[0], height=size[1])
