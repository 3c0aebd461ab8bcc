"""Shared fixtures and helpers: tiny generated clips and paintings, running the scripts as a
user does, and reading a data folder back independently of validate_records.py."""
import contextlib
import importlib
import io
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Tiny networks: the suite must run in minutes on 2 CPU cores.
TINY = ["--filters", "8,8,16", "--kernels", "3,3,3", "--code-size", "16", "--batch-size", "8"]
TINY_REFINER = ["--filters", "8", "--residual-filters", "8,16,8", "--kernel", "3",
                "--batch-size", "8"]


def run_script(script, *args, cwd=None, timeout=600, env=None):
    """Run a top-level script with this interpreter; return the CompletedProcess (text).
    env: the environment (default: this one), PYTHONPATH set to the repository."""
    env = dict(os.environ if env is None else env, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, os.path.join(REPO, script), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or REPO, env=env,
                          timeout=timeout)


def run_main(script, *args, env=None):
    """Call a script's main(argv) in this process, as run_script does in a new one, and return
    a CompletedProcess with its exit code and what it printed. Several times faster (no
    TensorFlow start-up per call): for the many bad-input cases; the user's way, a
    subprocess, is tested for every script too."""
    module = importlib.import_module(script.removesuffix(".py"))
    argv = [str(a) for a in args]
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_env = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = module.main(argv)
            except SystemExit as exit:  # argparse's usage errors and --help
                code = exit.code
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    return subprocess.CompletedProcess([script, *argv], code or 0, stdout.getvalue(),
                                       stderr.getvalue())


def make_clip(path, width, height, seconds=3, rate=10, pad=None, audio=False):
    """An H.264 test-pattern clip; pad=(W, H, x, y) letterboxes/pillarboxes it in black."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
           "-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                "-c:a", "aac", "-shortest"]
    if pad:
        cmd += ["-vf", "pad={}:{}:{}:{}:black".format(*pad)]
    cmd += ["-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True)
    return str(path)


def read_records(data_dir, key="shards"):
    """[(shard file, source id, origin, uint8 image)] in on-disk order, of the shards listed
    under `key` in the manifest ("shards": training, "holdout_shards": held out)."""
    with open(os.path.join(data_dir, "manifest.json")) as f:
        manifest = json.load(f)
    out = []
    for shard in manifest.get(key, []):
        path = os.path.join(data_dir, shard["file"])
        for raw in tf.data.TFRecordDataset(path, compression_type="GZIP"):
            feature = tf.train.Example.FromString(raw.numpy()).features.feature
            h = feature["height"].int64_list.value[0]
            w = feature["width"].int64_list.value[0]
            image = np.frombuffer(feature["image"].bytes_list.value[0], np.uint8).reshape(h, w, 3)
            out.append((shard["file"], feature["source"].int64_list.value[0],
                        feature["origin"].bytes_list.value[0].decode(), image))
    return manifest, out


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """A painting folder (two good images, one nested, one broken file) and three clips."""
    root = tmp_path_factory.mktemp("media")
    paintings = root / "paintings"
    (paintings / "nested").mkdir(parents=True)
    rng = np.random.default_rng(1)
    iio.imwrite(paintings / "landscape.png", rng.integers(0, 255, (60, 100, 3), dtype=np.uint8))
    iio.imwrite(paintings / "nested" / "portrait.jpg",
                rng.integers(0, 255, (120, 80, 3), dtype=np.uint8))
    (paintings / "broken.png").write_bytes(b"not an image")
    (paintings / "notes.txt").write_text("ignored: not an image extension")
    return {
        "paintings": str(paintings),
        # 30 frames each; 160x88 picture with 16 black rows above and below
        "letterbox": make_clip(root / "letterbox.mp4", 160, 88, pad=(160, 120, 0, 16)),
        # 120x90 picture with 20 black columns left and right
        "pillarbox": make_clip(root / "pillarbox.mp4", 120, 90, pad=(160, 90, 20, 0)),
        "plain": make_clip(root / "plain.mp4", 64, 36, seconds=2, audio=True),
    }


@pytest.fixture(scope="session")
def runs(media, tmp_path_factory):
    """Tiny data, VAE and refiner runs and their exported bundle, shared by the later stages."""
    root = tmp_path_factory.mktemp("runs")
    data, vae, refiner = str(root / "data"), str(root / "vae"), str(root / "refiner")
    steps = [
        # --holdout 0.2: frames 12-18 of each 30-frame clip are held out, 8-10 and 20-22 unused
        ("extract_frames.py", "--out", data, "--size", "32x18", "--frame-step", "2",
         "--holdout", "0.2",
         "--paintings", media["paintings"], "--video", media["letterbox"], "--video",
         media["pillarbox"]),
        ("train_vae.py", "--data", data, "--logdir", vae, *TINY, "--steps", "40",
         "--learning-rate", "2e-3", "--preview-every", "1000"),
        ("train_refiner.py", "--data", data, "--vae", vae, "--logdir", refiner, *TINY_REFINER,
         "--pretrain-steps", "5", "--steps", "5", "--preview-every", "1000"),
    ]
    for script, *args in steps:
        result = run_script(script, *args)
        assert result.returncode == 0, result.stderr
    bundle = str(root / "bundle")
    result = run_script("export_graph.py", "--vae", vae, "--refiner", refiner, "--data", data,
                        "--out", bundle, "--batch-size", "7")
    assert result.returncode == 0, result.stderr
    return {"data": data, "vae": vae, "refiner": refiner, "bundle": bundle, "export": result}


@pytest.fixture(scope="session")
def vae_run(media, tmp_path_factory):
    """A data folder at 32x18 and a tiny VAE trained on it: (data, VAE run folder)."""
    root = tmp_path_factory.mktemp("refiner")
    data, vae = str(root / "data"), str(root / "vae")
    result = run_script("extract_frames.py", "--out", data, "--size", "32x18", "--frame-step", "1",
                        "--paintings", media["paintings"], "--video", media["letterbox"])
    assert result.returncode == 0, result.stderr
    result = run_script("train_vae.py", "--data", data, "--logdir", vae, *TINY, "--steps", "60",
                        "--learning-rate", "2e-3", "--preview-every", "1000")
    assert result.returncode == 0, result.stderr
    return data, vae
