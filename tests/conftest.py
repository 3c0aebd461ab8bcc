"""Shared fixtures: tiny paintings and clips, and tiny trained runs with their bundle."""
import imageio.v3 as iio
import numpy as np
import pytest

from helpers import TINY, TINY_REFINER, make_clip, run_script


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
