"""What every trainer's run is told, whatever the network; no TensorFlow here, so that the
scripts' --help reads its defaults at once."""
from dataclasses import dataclass

from vae import from_flags

STRATEGIES = ("default", "mirrored", "multiworker")


@dataclass(frozen=True)
class TrainOptions:
    """What every trainer's run is told, whatever the network: the trainers' common flags."""
    data: str
    logdir: str
    learning_rate: float
    batch_size: int = 50
    steps: int = 100000
    epochs: float | None = None
    checkpoint_every: int = 500
    preview_every: int = 500
    seed: int = 0
    strategy: str = "default"
    precision: str = "auto"
    xla: str = "auto"

    @classmethod
    def from_args(cls, args):
        return from_flags(cls, args)
