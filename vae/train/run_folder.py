"""Training run folders: their config.json, and a finished run as models.

Used by the trainers (config.json: written for a new run, checked on resume; the refiner's
frozen VAE) and export_graph.py (the networks). Checkpoints are only read here.
"""
import json
import os
from dataclasses import dataclass, field

import keras
import tensorflow as tf

from vae import InputError
from vae.media import atomic, storage
from vae.models import autoencoder, painter, refiner
from vae.models.configs import PainterConfig, RefinerConfig, VAEConfig
from vae.train.lock import LOCK

CONFIG = "config.json"
# config.json's "format": a run folder of another format is not resumed or read.
RUN_FORMAT = 1
RUN_KINDS = ("vae", "refiner", "painter")  # config.json's "kind" in a run folder


def is_run_folder(folder):
    """True for a folder a trainer wrote (its config.json names a kind of run), or one that
    holds only a stopped run's lock: the only non-empty folders --logdir may be."""
    if storage.is_local(folder) and os.path.isdir(folder) and os.listdir(folder) == [LOCK]:
        return True
    return storage.kind_of(os.path.join(folder, CONFIG)) in RUN_KINDS


def read_config(logdir):
    """The config.json of a run folder; InputError when it is missing or unreadable."""
    path = os.path.join(logdir, CONFIG)
    try:
        config = json.loads(storage.read_text(path))
    except FileNotFoundError:
        raise InputError(f"{path} not found: is {logdir} a training run folder?") from None
    except (OSError, ValueError, RecursionError) as err:
        raise InputError(f"cannot read {path}: {str(err).splitlines()[0]}") from None
    found = config.get("format") if isinstance(config, dict) else None
    if found != RUN_FORMAT:
        raise InputError(f"{logdir} is a run folder of format {found}, not {RUN_FORMAT}: train "
                         "again into a new --logdir")
    return config


@dataclass
class TrainedVAE:
    """A VAE run's latest checkpoint, frozen."""
    encoder: keras.Model
    decoder: keras.Model
    config: VAEConfig
    logdir: str
    checkpoint: str
    step: int

    def info(self):
        """What a later run or a bundle records about this one (its config.json's "vae")."""
        return {"logdir": self.logdir, "checkpoint": self.checkpoint, "step": self.step,
                "model": self.config.to_dict()}


@dataclass
class TrainedRefiner:
    """A refiner run's latest checkpoint, frozen; training: its config.json's "training"."""
    net: keras.Model
    config: RefinerConfig
    logdir: str
    checkpoint: str
    step: int
    training: dict = field(default_factory=dict)

    def info(self):
        return {"logdir": self.logdir, "checkpoint": self.checkpoint, "step": self.step,
                "model": self.config.to_dict(), "training": self.training}


@dataclass
class TrainedPainter:
    """A painter run's latest checkpoint, frozen; bundle: its config.json's "bundle", the
    bundle and settings it was trained on."""
    net: keras.Model
    config: PainterConfig
    logdir: str
    checkpoint: str
    step: int
    bundle: dict = field(default_factory=dict)

    def info(self):
        return {"logdir": self.logdir, "checkpoint": self.checkpoint, "step": self.step,
                "model": self.config.to_dict(), "bundle": self.bundle}


def load_painter(run_dir, flag="--painter"):
    """The TrainedPainter of a run folder."""
    config, painter_config, net, path, step = _load_frozen(run_dir, "painter", flag,
                                                           PainterConfig, painter.build_painter)
    return TrainedPainter(net, painter_config, run_dir, path, step, config.get("bundle", {}))


def _load_frozen(run_dir, kind, flag, config_class, build):
    """A run of train_<kind>.py, whose checkpoint holds one network under the name <kind>:
    (its config.json, the network's config, the network restored and frozen, checkpoint, step)."""
    config = _config_of_kind(run_dir, kind, flag)
    path, step = latest_checkpoint(run_dir, f"{kind} (train_{kind}.py)")
    network_config = config_class.from_dict(config["model"])
    net = build(network_config)
    _restore(path, **{kind: net})
    net.trainable = False
    return config, network_config, net, path, step


def latest_checkpoint(run_dir, what):
    path = tf.train.latest_checkpoint(run_dir)
    if not path:
        raise InputError(f"{run_dir} has no checkpoint yet: train the {what} first")
    return path, int(path.rsplit("-", 1)[-1])


def _restore(path, **objects):
    try:
        tf.train.Checkpoint(**objects).read(path).expect_partial().assert_existing_objects_matched()
    except Exception as err:  # TensorFlow's reader fails in many ways on a cut file
        raise InputError(f"cannot load the checkpoint {path}: {str(err).splitlines()[0]}") from None


def _config_of_kind(run_dir, kind, flag):
    config = read_config(run_dir)
    if config.get("kind") != kind:
        label = kind.upper() if kind == "vae" else kind
        raise InputError(f"{run_dir} is not a {label} run (its config.json has kind "
                         f"{config.get('kind')!r}); pass the {label}'s run folder with {flag}")
    return config


def load_vae(run_dir, flag="--vae"):
    """The TrainedVAE of a run folder (flag: the option that named it, for messages)."""
    config = _config_of_kind(run_dir, "vae", flag)
    path, step = latest_checkpoint(run_dir, "VAE (train_vae.py)")
    vae_config = VAEConfig.from_dict(config["model"])
    encoder, decoder = autoencoder.build_encoder(vae_config), autoencoder.build_decoder(vae_config)
    _restore(path, encoder=encoder, decoder=decoder)
    encoder.trainable = decoder.trainable = False
    return TrainedVAE(encoder, decoder, vae_config, run_dir, path, step)


def load_refiner(run_dir, flag="--refiner"):
    """The TrainedRefiner of a run folder."""
    config, refiner_config, net, path, step = _load_frozen(run_dir, "refiner", flag,
                                                           RefinerConfig, refiner.build_refiner)
    return TrainedRefiner(net, refiner_config, run_dir, path, step, config.get("training", {}))


def prepare_run(logdir, config, guarded=("kind", "model", "discriminator"), write=True):
    """Check config against an existing run's config.json (resume) or write it (new run).

    The guarded sections must match exactly: resuming a checkpoint with another architecture
    cannot work. Returns True when logdir already holds a run.
    """
    path = os.path.join(logdir, CONFIG)
    if storage.exists(path):
        old = read_config(logdir)
        for key in guarded:
            if old.get(key) != config.get(key):
                raise InputError(
                    f"{logdir} holds a run with a different {key} "
                    f"({_diff(old.get(key), config.get(key))}); "
                    "use another --logdir or the same flags as before")
        return True
    if write:
        storage.makedirs(logdir)
        atomic.write_json(path, {"format": RUN_FORMAT, **config})
    return False


def _diff(old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return ", ".join(f"{k}: was {old.get(k)}, now {new.get(k)}" for k in keys)
    return f"was {old}, now {new}"
