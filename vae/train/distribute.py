"""tf.distribute for training: the strategy by name, which worker is the chief, XLA, and the
dataset split over replicas and workers."""
import json
import os

import tensorflow as tf

from vae import InputError
from vae.data.records import make_dataset
from vae.train.options import STRATEGIES


def make_strategy(name):
    """A tf.distribute strategy by name; multiworker reads the cluster from TF_CONFIG."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise InputError("--strategy multiworker needs TF_CONFIG describing the cluster "
                             "(docs/usage.md, 'Several GPUs or machines')")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as err:
            raise InputError(f"TF_CONFIG is not valid JSON: {err}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy):
    """The one worker that writes checkpoints, summaries and previews."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_name(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "local"
    return f"{resolver.task_type}-{resolver.task_id}"


def use_xla(choice):
    """--xla auto|on|off -> bool; auto compiles only where a GPU is present."""
    if choice == "auto":
        return bool(tf.config.list_physical_devices("GPU"))
    return choice == "on"


def distributed_dataset(strategy, data_dir, manifest, batch_size, seed):
    """The training batches of a data folder, split over the strategy's replicas and workers."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise InputError(f"--batch-size {batch_size} does not split evenly over {replicas} "
                         "replicas")
    return strategy.distribute_datasets_from_function(
        lambda ctx: make_dataset(data_dir, manifest, batch_size // replicas, seed=seed,
                                 input_context=ctx))
