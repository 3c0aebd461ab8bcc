"""Finished training runs as models: a run folder's config.json + latest checkpoint -> Keras models.

Used by train_refiner.py (the frozen VAE) and export_graph.py (both networks). Run folders are
only read here.
"""
import tensorflow as tf

from vae import InputError, model, refiner
from vae.training import read_config


def latest_checkpoint(run_dir, what):
    path = tf.train.latest_checkpoint(run_dir)
    if not path:
        raise InputError(f"{run_dir} has no checkpoint yet: train the {what} first")
    return path, int(path.rsplit("-", 1)[-1])


def _restore(path, **objects):
    try:
        tf.train.Checkpoint(**objects).read(path).expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as err:
        raise InputError(f"cannot load the checkpoint {path}: {str(err).splitlines()[0]}") from None


def _config_of_kind(run_dir, kind, flag):
    config = read_config(run_dir)
    if config.get("kind") != kind:
        label = kind.upper() if kind == "vae" else kind
        raise InputError(f"{run_dir} is not a {label} run (its config.json has kind "
                         f"{config.get('kind')!r}); pass the {label}'s run folder with {flag}")
    return config


def load_vae(run_dir, flag="--vae"):
    """(encoder, decoder, info) of a VAE run, frozen; info: logdir, checkpoint, step, model."""
    config = _config_of_kind(run_dir, "vae", flag)
    path, step = latest_checkpoint(run_dir, "VAE (train_vae.py)")
    vae_config = model.VAEConfig.from_dict(config["model"])
    encoder, decoder = model.build_encoder(vae_config), model.build_decoder(vae_config)
    _restore(path, encoder=encoder, decoder=decoder)
    encoder.trainable = decoder.trainable = False
    return encoder, decoder, {"logdir": run_dir, "checkpoint": path, "step": step,
                              "model": vae_config.to_dict()}


def load_refiner(run_dir, flag="--refiner"):
    """(refiner, info) of a refiner run; info: logdir, checkpoint, step, model."""
    config = _config_of_kind(run_dir, "refiner", flag)
    path, step = latest_checkpoint(run_dir, "refiner (train_refiner.py)")
    refiner_config = refiner.RefinerConfig.from_dict(config["model"])
    net = refiner.build_refiner(refiner_config)
    _restore(path, refiner=net)
    net.trainable = False
    return net, {"logdir": run_dir, "checkpoint": path, "step": step,
                 "model": refiner_config.to_dict(), "training": config.get("training", {})}
