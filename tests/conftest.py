"""Shared fixtures: tiny generated clips and paintings, and running the scripts as a user does."""
import os
import subprocess
import sys

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(script, *args, cwd=None, timeout=600):
    """Run a top-level script with this interpreter; return the CompletedProcess (text)."""
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, os.path.join(REPO, script), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or REPO, env=env,
                          timeout=timeout)


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
