"""--precision: what auto picks on which hardware, training in one precision and resuming in
another, and a bundle run in bfloat16 against the same bundle in float32."""
import json

import numpy as np
import pytest
import tensorflow as tf

from helpers import TINY, checkpoint_steps, make_clip, run_main, run_script, scalars
from vae.models import precision


@pytest.mark.parametrize("gpu, flags, expected", [
    ((9, 0), set(), "bfloat16"),  # H100
    ((8, 6), set(), "bfloat16"),  # RTX 30xx, A10
    ((7, 5), set(), "float16"),  # T4, RTX 20xx: tensor cores, no bfloat16
    ((6, 1), set(), "float32"),  # GTX 10xx, the seed's card
    (None, {"avx2", "avx512f", "avx512_bf16"}, "bfloat16"),
    (None, {"avx2", "amx_bf16", "amx_tile"}, "bfloat16"),
    (None, {"avx2", "avx512f"}, "float32"),
    (None, set(), "float32"),
])
def test_auto_picks_what_the_hardware_runs_natively(gpu, flags, expected):
    chosen, why = precision.choose(gpu, flags)
    assert chosen == expected and why


def test_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512_bf16\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse2 avx2 avx512_bf16\n")
    assert precision.cpu_flags(str(cpuinfo)) == {"fpu", "sse2", "avx2", "avx512_bf16"}
    assert precision.cpu_flags(str(tmp_path / "missing")) == set()


def train(data, logdir, *args):
    return run_main("train_vae.py", "--data", data, "--logdir", logdir, *TINY,
                    "--preview-every", "1000", "--learning-rate", "2e-3", *args)


@pytest.mark.slow
@pytest.mark.parametrize("first", ["bfloat16", "float16"])
def test_a_run_resumes_in_another_precision(vae_run, tmp_path, first):
    import keras

    data, _ = vae_run
    logdir = tmp_path / first
    result = train(data, logdir, "--steps", "20", "--checkpoint-every", "10",
                   "--precision", first)
    assert result.returncode == 0, result.stderr
    assert f"precision: {first}" in result.stdout
    assert json.loads((logdir / "config.json").read_text())["training"]["precision"] == first
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    path = str(logdir / "ckpt-20")
    weights = [name for name, _ in tf.train.list_variables(path) if "encoder" in name]
    reader = tf.train.load_checkpoint(path)
    assert weights and all(reader.get_tensor(n).dtype == np.float32 for n in weights
                           if reader.get_tensor(n).dtype.kind == "f")
    loss = scalars(str(logdir), "loss")
    assert loss[20] < loss[10]  # it learns in the low precision too

    again = train(data, logdir, "--steps", "30", "--checkpoint-every", "10",
                  "--precision", "float32")
    assert again.returncode == 0, again.stderr
    assert f"resuming {logdir} from step 20" in again.stdout
    assert checkpoint_steps(logdir)[-1] == 30
    # the same weights in float32 give about the loss they had: nothing was lost in the move
    fixed = scalars(str(logdir), "fixed_batch/loss")
    assert abs(fixed[30] - fixed[20]) < 0.5 * fixed[20]


def test_bundle_in_bfloat16_matches_float32(runs):
    from vae.bundle.loader import Bundle
    from vae.metrics import quality

    plain, low = Bundle(runs["bundle"]), Bundle(runs["bundle"], "bfloat16")
    frames = tf.random.uniform((4, plain.height, plain.width, 3), seed=3)
    shift = np.zeros(plain.code_size, np.float32)
    high, lower = plain.stylize(frames, shift, 1.0), low.stylize(frames, shift, 1.0)
    for a, b in ((high.styled, lower.styled), (high.reconstructed, lower.reconstructed)):
        assert b.dtype == tf.float32
        assert quality.psnr(a.numpy(), b.numpy()) > 35
        assert not np.array_equal(a.numpy(), b.numpy())  # it did run in bfloat16


@pytest.mark.slow
def test_process_video_in_bfloat16(runs, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    outputs = {}
    for name in ("float32", "bfloat16"):
        outputs[name] = tmp_path / f"{name}.mp4"
        result = run_script("process_video.py", clip, "-o", outputs[name], "--model",
                            runs["bundle"], "--precision", name, "--paint", "0")
        assert result.returncode == 0, result.stderr
        assert f"precision: {name}" in result.stdout
    import imageio.v3 as iio

    from vae.metrics import quality

    a, b = (iio.imread(outputs[n]).astype(np.float32) / 255 for n in ("float32", "bfloat16"))
    assert a.shape == b.shape and quality.psnr(a, b) > 35


def test_bad_precision_is_an_error():
    for script in ("train_vae.py", "process_video.py"):
        args = ["clip.mp4"] if script == "process_video.py" else []
        result = run_main(script, *args, "--precision", "float8")
        assert result.returncode == 2 and "--precision" in result.stderr
