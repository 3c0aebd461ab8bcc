"""The adversarial refiner: its losses on a tiny model, its balance warnings, and
train_refiner.py --objective adversarial run, killed and resumed, and exported as a user does."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from helpers import REPO, TINY_REFINER, checkpoint_steps, refine, run_main, run_script, scalars

TINY_GAN = ["--objective", "adversarial", "--discriminator-filters", "8,16",
            "--discriminator-kernel", "3"]


def tiny_players(height=18, width=32):
    from vae.models import adversarial, autoencoder, refiner
    from vae.models.configs import DiscriminatorConfig, RefinerConfig, VAEConfig

    vae_config = VAEConfig(width, height, (8, 8, 16), (3, 3, 3), 16)
    encoder, decoder = autoencoder.build_encoder(vae_config), autoencoder.build_decoder(vae_config)
    net = refiner.build_refiner(RefinerConfig(width, height, 8, (8,), 3))
    discriminator = adversarial.build_discriminator(DiscriminatorConfig((8, 16), 3))
    return encoder, decoder, net, discriminator


def train_on(frames, updates, loss_terms, steps):
    """Run a two-player step of vae.training on one fixed batch; -> metrics per step."""
    from vae.train.distributed_step import make_train_step

    step = make_train_step(tf.distribute.get_strategy(), updates, loss_terms,
                                    len(frames))
    iterator = iter(tf.data.Dataset.from_tensors({"image": frames}).repeat())
    return [{k: float(v) for k, v in step(iterator).items()} for _ in range(steps)]


def test_each_player_lowers_its_own_loss():
    import keras

    from vae.models import adversarial
    from vae.models.configs import RefinerObjective
    from vae.train.recipe import Update

    keras.utils.set_random_seed(0)
    frames = tf.constant(np.random.default_rng(0).uniform(0, 1, (4, 18, 32, 3)), tf.float32)
    encoder, decoder, net, discriminator = tiny_players()
    objective = RefinerObjective("adversarial", adversarial_weight=1.0)
    terms = lambda batch: adversarial.loss_terms(  # noqa: E731
        net, discriminator, encoder, decoder, batch["image"], objective, training=True)
    d_update = Update(keras.optimizers.Adam(2e-3, beta_1=0.5), 2e-3,
                      discriminator.trainable_variables, adversarial.DISCRIMINATOR_TERMS,
                      "discriminator_loss")
    refiner_before = [w.numpy() for w in net.weights]
    # the discriminator alone: it learns to tell real frames from refined VAE output
    history = train_on(frames, [d_update], terms, 40)
    assert history[-1]["discriminator_loss"] < history[0]["discriminator_loss"] - 0.5
    assert history[-1]["accuracy_real"] + history[-1]["accuracy_refined"] > 1.6
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(refiner_before, net.weights))
    # the refiner alone against that discriminator: its GAN term falls, D is left as it was
    d_before = [w.numpy() for w in discriminator.weights]
    g_update = Update(keras.optimizers.Adam(2e-3, beta_1=0.5), 2e-3, net.trainable_variables,
                      ("adversarial",))
    history = train_on(frames, [g_update], terms, 40)
    assert history[-1]["loss"] < history[0]["loss"] - 0.1
    assert history[-1]["accuracy_refined"] < history[0]["accuracy_refined"]
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(d_before, discriminator.weights))
    # both in one step: every term of both players is logged, each loss is its terms' sum
    both = train_on(frames, [g_update, d_update], terms, 2)[-1]
    assert set(both) >= {"loss", "discriminator_loss", "l1", "ssim", "feature_matching",
                         "adversarial", "accuracy_real", "accuracy_refined", "colour_drift"}
    assert both["discriminator_loss"] == pytest.approx(
        both["discriminator_real"] + both["discriminator_refined"], rel=1e-5)


def test_feature_matching_and_hinge_terms():
    from vae.models import adversarial
    from vae.models.configs import RefinerObjective

    frames = tf.constant(np.random.default_rng(1).uniform(0, 1, (2, 18, 32, 3)), tf.float32)
    encoder, decoder, _, discriminator = tiny_players()
    hidden = discriminator(frames)[:-1]
    assert float(tf.reduce_max(adversarial.feature_distance(hidden, hidden))) == 0.0
    other = discriminator(frames * 0.5)[:-1]
    assert float(tf.reduce_min(adversarial.feature_distance(hidden, other))) > 0.0
    # a refiner that returns the real frame: no content loss, no colour drift
    identity = lambda blurry, training=False: frames  # noqa: E731
    terms = adversarial.loss_terms(identity, discriminator, encoder, decoder, frames,
                                   RefinerObjective("adversarial"))
    for name in ("l1", "ssim", "feature_matching", "colour_drift"):
        assert float(tf.reduce_max(terms[name])) == pytest.approx(0.0, abs=1e-5), name
    # real and refined frames are the same: each patch is called real or refined, not both
    np.testing.assert_allclose(terms["accuracy_real"] + terms["accuracy_refined"], 1.0,
                               atol=1e-6)


def test_balance_watch_warns_once_per_episode():
    from vae.models.adversarial import BalanceWatch

    watch = BalanceWatch(window=5)
    said = []
    for step in range(1, 11):  # D always right: one warning once the window is full
        said += watch(step, {"accuracy_real": 1.0, "accuracy_refined": 0.98})
    assert len(said) == 1 and "wins outright" in said[0] and said[0].startswith("step 5:")
    said = []
    for step in range(11, 21):  # then at chance, with the colours drifting
        said += watch(step, {"accuracy_real": 0.5, "accuracy_refined": 0.5,
                             "colour_drift": 0.2})
    assert any("at chance" in line for line in said) and any("drift" in line for line in said)
    assert len(said) == 2
    assert watch(21, {"loss": 1.0}) == []  # not an adversarial phase: nothing to watch
    # hovering at the edge of chance (0.5 +- 0.03) warns once, not at every crossing
    watch, said = BalanceWatch(window=2), []
    for step in range(1, 41):
        accuracy = 0.52 if step % 4 < 2 else 0.54
        said += watch(step, {"accuracy_real": accuracy, "accuracy_refined": accuracy})
    assert sum("at chance" in line for line in said) == 1
    for step in range(41, 45):  # clearly off chance, then back: a second warning
        said += watch(step, {"accuracy_real": 0.7, "accuracy_refined": 0.7})
    said += watch(45, {"accuracy_real": 0.5, "accuracy_refined": 0.5})
    said += watch(46, {"accuracy_real": 0.5, "accuracy_refined": 0.5})
    assert sum("at chance" in line for line in said) == 2


def checkpoint_values(path, prefix):
    """{variable name: value} of the checkpoint's variables whose name starts with prefix."""
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(path)
            if name.startswith(prefix)}


@pytest.mark.slow
def test_adversarial_run_is_killed_resumed_and_exported(vae_run, tmp_path):
    data, vae = vae_run
    logdir = tmp_path / "gan"
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO, "train_refiner.py"), "--data", data, "--vae", vae,
         "--logdir", str(logdir), *TINY_REFINER, *TINY_GAN, "--pretrain-steps", "5",
         "--steps", "100000", "--checkpoint-every", "1000000", "--preview-every", "1000000"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=REPO))
    deadline = time.time() + 180
    while not scalars(str(logdir), "discriminator_loss") and time.time() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    stopped = checkpoint_steps(logdir)[-1]  # the pre-training saved one at step 5 too
    # the first discriminator_loss summary is at step 10; the signal is taken after one more
    assert stopped >= 11
    path = str(logdir / f"ckpt-{stopped}")
    # the discriminator and its optimizer are in the checkpoint (each variable once, under
    # whichever path the checkpoint met it first)
    saved = checkpoint_values(path, "discriminator")
    assert len(saved) >= 3 * 6 + 1  # D's 6 weights, Adam's 2 slots of each, iterations
    # what a resume restores: the discriminator's weights and its optimizer's slots, exactly
    from vae.cli import parse_options
    from vae.data import datafolder
    from vae.train.distributed_step import make_optimizer
    from vae.train.options import RefinerTraining
    from vae.train.refiner_recipe import RefinerRecipe

    # the options of that run, TINY_REFINER and TINY_GAN's shapes among them
    recipe = RefinerRecipe(parse_options("", RefinerTraining(), [
        "--data", str(data), "--vae", str(vae), "--logdir", str(logdir), *TINY_REFINER,
        *TINY_GAN]))
    recipe.prepare(datafolder.load_manifest(data), data)
    objects = recipe.build(make_optimizer)
    step = tf.Variable(0, dtype=tf.int64)
    tf.train.Checkpoint(step=step, **objects).restore(path).assert_existing_objects_matched()
    assert int(step.numpy()) == stopped
    optimizer = recipe.discriminator_optimizer
    assert int(optimizer.iterations.numpy()) == stopped - 5  # the adversarial phase's steps
    assert optimizer.beta_1 == 0.5
    slots = [v for v in optimizer.variables if v.shape.rank]
    assert len(slots) == 2 * len(recipe.discriminator.weights)
    for variable in recipe.discriminator.weights + slots:  # each came back exactly
        assert any(np.array_equal(value, variable.numpy()) for value in saved.values()), \
            variable.path
    assert not all(np.all(v.numpy() == 0) for v in slots)  # trained slots, not fresh zeros

    # --steps counts after the pre-training: stopped + 5 in all
    result = refine(data, vae, logdir, *TINY_GAN, "--pretrain-steps", "5", "--steps", stopped,
                    "--checkpoint-every", "1000")
    assert result.returncode == 0, result.stderr
    assert f"resuming {logdir} from step {stopped}" in result.stdout
    final = tf.train.load_checkpoint(str(logdir / f"ckpt-{stopped + 5}"))
    iterations = next(k for k, _ in tf.train.list_variables(str(logdir / f"ckpt-{stopped + 5}"))
                      if k.startswith("discriminator_optimizer/") and "iterations" in k)
    assert final.get_tensor(iterations) == stopped  # it went on counting: slots restored
    for name in ("loss", "discriminator_loss", "accuracy_real", "accuracy_refined",
                 "feature_matching", "adversarial"):
        assert scalars(str(logdir), name), name
    config = json.loads((logdir / "config.json").read_text())
    assert config["discriminator"] == {"filters": [8, 16], "kernel": 3}
    assert config["training"]["objective"] == "adversarial"

    # the bundle holds the refiner alone, shaped as any other objective's
    plain = tmp_path / "plain"
    assert refine(data, vae, plain, "--pretrain-steps", "0", "--steps", "1").returncode == 0
    shapes = {}
    for name, run in (("adversarial", logdir), ("plain", plain)):
        out = tmp_path / f"bundle-{name}"
        result = run_script("export_graph.py", "--vae", vae, "--refiner", run, "--data", data,
                            "--out", out)
        assert result.returncode == 0, result.stderr
        shapes[name] = tf.train.list_variables(str(out / "saved_model" / "variables" /
                                                   "variables"))
        model = tf.saved_model.load(str(out / "saved_model"))
        shapes[name + " signatures"] = {k: str(f.structured_outputs)
                                        for k, f in model.signatures.items()}
        files = sorted(os.path.relpath(os.path.join(r, f), out)
                       for r, _, fs in os.walk(out) for f in fs)
        shapes[name + " files"] = files
    assert shapes["adversarial"] and shapes["adversarial"] == shapes["plain"]
    assert shapes["adversarial files"] == shapes["plain files"]
    assert not any("discriminator" in name for name, _ in shapes["adversarial"])


@pytest.mark.parametrize("flag, value", [
    ("--adversarial-weight", "-1"), ("--feature-weight", "nan"),
    ("--discriminator-learning-rate", "0"), ("--discriminator-filters", "8,0"),
    ("--discriminator-kernel", "0"), ("--objective", "gan"),
])
def test_bad_adversarial_flags(flag, value):
    result = run_main("train_refiner.py", flag, value)
    assert result.returncode == 2 and flag in result.stderr
    assert "Traceback" not in result.stderr


def test_switching_a_run_to_the_adversarial_objective_is_refused(vae_run, tmp_path):
    data, vae = vae_run
    logdir = tmp_path / "plain"
    assert refine(data, vae, logdir, "--pretrain-steps", "0", "--steps", "1",
                  runner=run_main).returncode == 0
    result = refine(data, vae, logdir, *TINY_GAN, "--steps", "2", runner=run_main)
    assert result.returncode == 2 and "discriminator" in result.stderr
    assert "Traceback" not in result.stderr


def test_balance_warning_is_printed_during_a_run(vae_run, tmp_path, monkeypatch):
    from vae.models import adversarial

    # a watch that finds the discriminator winning after 3 steps, whatever it does
    watch = adversarial.BalanceWatch
    monkeypatch.setattr(adversarial, "BalanceWatch", lambda: watch(window=3, high=-1.0, drift=1.0))
    data, vae = vae_run
    result = refine(data, vae, tmp_path / "gan", *TINY_GAN, "--pretrain-steps", "0",
                    "--steps", "6", runner=run_main)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1 and warnings[0].startswith("step 3: warning: the discriminator")
