"""What a training run works out once, before any model is built, and hands down: its options,
the data's manifest, the tf.distribute strategy and whether this worker is the chief (the one
that writes the run folder)."""
from dataclasses import dataclass, field

from vae.data.datafolder import load_manifest
from vae.data.records import verify_shards
from vae.train.distribute import is_chief, make_strategy, worker_name


@dataclass(frozen=True)
class RunContext:
    options: object  # the trainer's TrainOptions
    manifest: dict
    strategy: object
    chief: bool
    worker: str
    changes: dict = field(default_factory=dict)  # resumable options this resume changed

    @classmethod
    def start(cls, options):
        """Read and check the data folder's manifest and shards, make the strategy."""
        manifest = load_manifest(options.data)
        verify_shards(options.data, manifest)
        strategy = make_strategy(options.strategy)
        return cls(options, manifest, strategy, is_chief(strategy), worker_name(strategy))

    @property
    def logdir(self):
        return self.options.logdir
