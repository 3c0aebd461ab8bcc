"""train_refiner.py run as a user runs it: a tiny VAE, then a tiny refiner on its output."""
import json
import os
import shutil

import imageio.v3 as iio
import pytest

from helpers import checkpoint_steps, folder_digest, refine, run_main, scalars


@pytest.mark.slow
def test_refiner_trains_resumes_and_leaves_the_vae_alone(vae_run, tmp_path):
    data, vae = vae_run
    before = folder_digest(vae)
    logdir = tmp_path / "refiner"
    first = refine(data, vae, logdir, "--pretrain-steps", "20", "--steps", "60",
                   "--learning-rate", "1e-3", "--checkpoint-every", "20", "--preview-every", "40")
    assert first.returncode == 0, first.stderr
    assert "pretraining done at step 20" in first.stdout
    assert checkpoint_steps(logdir) == [40, 60, 80]
    identity = scalars(str(logdir), "identity_loss")
    assert sorted(identity) == [10, 20] and identity[20] < identity[10]
    loss = scalars(str(logdir), "loss")
    assert sorted(loss) == list(range(30, 81, 10))
    assert loss[80] < loss[30], loss
    assert scalars(str(logdir), "l1") and scalars(str(logdir), "ssim")  # the default objective
    # preview: input / VAE output / refined, six frames each
    assert iio.imread(logdir / "preview.png").shape == (3 * 20 + 2, 6 * 34 + 2, 3)
    config = json.loads((logdir / "config.json").read_text())
    assert config["kind"] == "refiner" and config["vae"]["step"] == 60
    assert config["model"]["residual_filters"] == [8, 16, 8]

    again = refine(data, vae, logdir, "--pretrain-steps", "20", "--steps", "70")
    assert again.returncode == 0, again.stderr
    assert f"resuming {logdir} from step 80" in again.stdout and "80 -> 90" in again.stdout
    assert folder_digest(vae) == before  # the VAE run folder was only read


def test_toward_away_objective_trains_and_logs_its_terms(vae_run, tmp_path):
    data, vae = vae_run
    logdir = tmp_path / "toward-away"
    result = refine(data, vae, logdir, "--objective", "toward-away", "--pretrain-steps", "0",
                    "--steps", "20", "--learning-rate", "1e-3", "--checkpoint-every", "10")
    assert result.returncode == 0, result.stderr
    assert scalars(str(logdir), "toward_input") and scalars(str(logdir), "away_from_vae")
    config = json.loads((logdir / "config.json").read_text())
    assert config["training"]["objective"] == "toward-away"


def test_objectives():
    import numpy as np
    import tensorflow as tf

    from vae.models.configs import RefinerObjective
    from vae.models.refiner import refiner_loss

    rng = np.random.default_rng(0)
    frames = tf.constant(rng.uniform(0.2, 0.8, (2, 36, 64, 3)), tf.float32)
    blurry = tf.constant(tf.nn.avg_pool2d(frames, 3, 1, "SAME"))
    noisy = tf.clip_by_value(blurry + rng.normal(0, 0.1, blurry.shape), 0, 1)

    def total(objective, refined, images=frames, vae=blurry):
        return float(tf.reduce_mean(tf.add_n(list(refiner_loss(refined, images, vae,
                                                               objective).values()))))

    from vae.models.refiner import ssim_per_image

    np.testing.assert_allclose(ssim_per_image(noisy, frames).numpy(),
                               tf.image.ssim(noisy, frames, 1.0).numpy(), atol=1e-5)
    default, toward_away = RefinerObjective(), RefinerObjective("toward-away")
    assert total(default, frames) == pytest.approx(0.0, abs=1e-6)
    # noise on the VAE's output: the default objective calls it worse; the toward-away
    # objective's away term rewards it (the reason it is no longer the default)
    assert total(default, noisy) > total(default, blurry)
    away = refiner_loss(noisy, frames, blurry, toward_away)["away_from_vae"]
    assert float(tf.reduce_mean(away)) < float(tf.reduce_mean(
        refiner_loss(blurry + 0.01, frames, blurry, toward_away)["away_from_vae"]))
    # per pixel: a frame tiled 2x2 (four times the pixels) gives the same loss
    tile = lambda t: tf.tile(t, (1, 2, 2, 1))  # noqa: E731
    for objective in (toward_away,
                      RefinerObjective("toward-away", input_weight=1.0, vae_weight=0.0)):
        assert total(objective, tile(noisy), tile(frames), tile(blurry)) == pytest.approx(
            total(objective, noisy), rel=1e-4)
    # at 320x180 the toward-away objective is the original 0.6 * SSE + 0.4 * 1e4 / SSE per value
    big = tf.constant(rng.uniform(0, 1, (1, 180, 320, 3)), tf.float32)
    target, vae = big * 0.9, big * 0.8
    sse = lambda a, b: float(tf.reduce_sum(tf.square(a - b)))  # noqa: E731
    original = 0.6 * sse(big, target) + 0.4 * 1e4 / sse(big, vae)
    assert total(toward_away, big, target, vae) == pytest.approx(original / (320 * 180 * 3),
                                                                 rel=1e-4)


@pytest.mark.slow
def test_config_guard(vae_run, tmp_path):
    data, vae = vae_run
    logdir = tmp_path / "refiner"
    assert refine(data, vae, logdir, "--pretrain-steps", "0", "--steps", "2").returncode == 0
    other = run_main("train_refiner.py", "--data", data, "--vae", vae, "--logdir", logdir,
                     "--filters", "16", "--batch-size", "8", "--steps", "4")
    assert other.returncode == 2 and "filters" in other.stderr
    assert "Traceback" not in other.stderr


@pytest.mark.slow
def test_missing_or_wrong_vae_is_an_error(vae_run, media, tmp_path):
    data, vae = vae_run
    cases = {"missing": tmp_path / "nothing"}
    empty = tmp_path / "no-checkpoint"
    empty.mkdir()
    shutil.copy(os.path.join(vae, "config.json"), empty / "config.json")
    cases["no checkpoint"] = empty
    other_size = tmp_path / "data64"
    assert run_main("extract_frames.py", "--out", other_size, "--size", "64x36",
                    "--video", media["plain"]).returncode == 0
    for name, folder in cases.items():
        result = refine(data, folder, tmp_path / f"run-{len(name)}", "--steps", "2",
                        runner=run_main)
        assert result.returncode == 2, (name, result.stderr)
        assert "error:" in result.stderr and "Traceback" not in result.stderr
    wrong_size = refine(other_size, vae, tmp_path / "run-size", "--steps", "2", runner=run_main)
    assert wrong_size.returncode == 2 and "32x18" in wrong_size.stderr
    refiner_as_vae = tmp_path / "refiner"
    result = refine(data, vae, refiner_as_vae, "--pretrain-steps", "0", "--steps", "1")
    assert result.returncode == 0
    nested = refine(data, refiner_as_vae, tmp_path / "run-nested", "--steps", "2",
                    runner=run_main)
    assert nested.returncode == 2 and "not a VAE run" in nested.stderr


def test_help():
    result = run_main("train_refiner.py", "--help")
    assert result.returncode == 0
    for flag in ("--vae", "--pretrain-steps", "--objective", "--ssim-weight", "--input-weight",
                 "--vae-weight", "--strategy"):
        assert flag in result.stdout
