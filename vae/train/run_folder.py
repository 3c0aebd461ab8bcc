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


def refuse_damaged(logdir):
    """InputError when logdir's config.json is there but does not read (cut short, say): the
    folder is a run's, damaged; it is kept as it is, never replaced."""
    path = os.path.join(logdir, CONFIG)
    if not storage.exists(path):
        return
    try:
        json.loads(storage.read_text(path))
    except (OSError, ValueError, RecursionError) as err:
        raise InputError(f"{path} is damaged ({str(err).splitlines()[0]}): {logdir} is kept "
                         "as it is; repair or remove it, or choose another --logdir") from None


def has_checkpoint(logdir):
    """Whether logdir holds any checkpoint's files (ckpt-N.index)."""
    return bool(storage.glob(os.path.join(logdir, "ckpt-*.index")))


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


GUARDED = ("kind", "model", "discriminator", "bundle")  # config.json's sections a resume keeps


def prepare_run(logdir, config, resumable=(), write=True):
    """Check config against an existing run's config.json (resume) or write it (new run).
    -> (resumed, changes): changes are {option: (before, now)} of the options in `resumable`
    (flag names) that this resume changes; every other option of config's "training", and
    its GUARDED sections (the networks, the frozen bundle it repaints), must be as before:
    InputError naming each that is not, with both values. Options and keys a run's record
    does not have (a run made before they existed) are not compared."""
    path = os.path.join(logdir, CONFIG)
    if storage.exists(path):
        old = read_config(logdir)
        before, now = old.get("training") or {}, config.get("training") or {}
        changes, fixed = {}, []
        for name in [n for n in now if n in before and before[n] != now[n]]:
            if name in resumable:
                changes[name] = (before[name], now[name])
            else:
                fixed.append(f"{option(name)} was {before[name]}, now {now[name]}")
        fixed += [f"a different {key} ({_diff(old.get(key), config.get(key))})"
                  for key in GUARDED if not _same(old.get(key), config.get(key))]
        if fixed:
            raise InputError(f"{logdir} holds a run that cannot resume with these flags: "
                             + "; ".join(fixed) + ". Give the same values as before, or "
                             "another --logdir")
        return True, changes
    if write:
        storage.makedirs(logdir)
        atomic.write_json(path, {"format": RUN_FORMAT, **config})
    return False, {}


def record_resume(logdir, step, changes):
    """Write into config.json the options this resume changed: "training" takes the new
    values, and "resumed" lists, for each resume that changed any, the step from which they
    held and each option's value before and after."""
    config = read_config(logdir)
    for name, (_, now) in changes.items():
        config.setdefault("training", {})[name] = now
    config.setdefault("resumed", []).append(
        {"step": step, "changed": {name: {"before": before, "now": now}
                                   for name, (before, now) in changes.items()}})
    atomic.write_json(os.path.join(logdir, CONFIG), config)


def option(name):
    """A config.json "training" name as the flag a user types."""
    return "--" + name.replace("_", "-")


def _same(old, new):
    """Whether a guarded section is as recorded; a key the record does not have (a run made
    before the key existed) is not compared."""
    if isinstance(old, dict) and isinstance(new, dict):
        return all(key in new and old[key] == new[key] for key in old)
    return old == new


def _diff(old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return ", ".join(f"{k}: was {old.get(k)}, now {new.get(k)}" for k in keys)
    return f"was {old}, now {new}"
