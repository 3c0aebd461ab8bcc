"""What a trainer hands vae.train.driver.train: a Recipe (its models, optimizers, phases and
previews), in the manner of TF Model Garden's Task. Everything around it is the library's."""
from dataclasses import dataclass
from typing import Callable, Protocol

import tensorflow as tf


@dataclass
class Update:
    """One optimizer stepping some variables on the sum of some of a phase's loss terms.

    terms: the names of the terms it minimises (None: all of them); its loss is logged as
    loss_name. The flag's learning_rate wins over the rate saved in a checkpoint."""
    optimizer: object
    learning_rate: float
    variables: list
    terms: tuple = None
    loss_name: str = "loss"


@dataclass
class Phase:
    """A stretch of training up to a global step: one forward pass per step gives the loss
    terms, and each update (one for a plain network, two for a GAN's players) steps its own
    variables on its own terms. A batch is {"image": (B, H, W, 3) in [0, 1], "source": (B,)}.

    loss_terms: batch -> {term: per-image values}, averaged over the global batch; each term
    is logged by its name when there are several (terms no update names are only logged).
    watch: (step, metrics) -> warning lines to print, or None."""
    name: str
    until: int
    loss_terms: Callable
    updates: list
    watch: Callable = None


class Recipe(Protocol):
    """One network's training: the library runs it (train), the recipe says what is its own."""
    kind: str  # config.json's kind: a run folder resumes only a run of the same kind
    options: object  # the trainer's options (vae.train.options): .run, .network, ...
    preview_title: str  # TensorBoard's name for the preview grid
    inputs: tuple  # what the run reads besides the data: --logdir may not be, hold or be in it

    def prepare(self, manifest, data_dir) -> dict:
        """Load what the run depends on (in the strategy's scope); return config.json's
        sections: "model" and "discriminator" (guarded on resume), and any other; "training"
        is written from the options."""

    def build(self, make_optimizer) -> dict:
        """The models and optimizers, by their checkpoint names; make_optimizer(rate, **adam)
        gives an Adam (loss-scaled under float16)."""

    def phases(self, steps) -> list:
        """The Phases to run, the last ending at global step `steps`."""

    def fixed_batch_loss(self, images) -> dict:
        """{name: scalar} on fixed frames, inference mode: the checkpoints' guard."""

    def preview_rows(self, images) -> list:
        """[images, outputs, ...]: the rows of the preview grid."""


def batch_means(terms, losses=None):
    """{term: per-image values} -> {loss name: mean of the sum of its terms, term: mean, ...};
    losses: {loss name: term names}, default {"loss": all terms}."""
    means = {name: tf.reduce_mean(values) for name, values in terms.items()}
    losses = losses or {"loss": tuple(means)}
    return {**{name: tf.add_n([means[t] for t in names]) for name, names in losses.items()},
            **means}
