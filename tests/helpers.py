"""What the tests share besides fixtures: running the scripts as a user does, tiny generated
clips, and reading outputs back (records, checkpoints, summaries, videos) independently of the
code under test."""
import contextlib
import glob
import hashlib
import importlib
import io
import json
import os
import re
import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import tensorflow as tf

from vae.media import video

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
    saved_env, saved_argv = dict(os.environ), sys.argv
    sys.argv = [script, *argv]  # argparse names the script, as in its own process
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
        sys.argv = saved_argv
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


def brush_strokes(rng, height, width, strokes, length, thickness, ground=(0.0, 1.0)):
    """A canvas of a flat colour (each channel uniform in `ground`) covered in straight
    strokes of random colours and angles, `length` and `thickness` pixels either side of
    their centre line: a painting's brushwork, with a known answer."""
    ys, xs = np.mgrid[0:height, 0:width]
    canvas = np.broadcast_to(rng.uniform(*ground, 3), (height, width, 3)).copy()
    for _ in range(strokes):
        cx, cy, angle = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0, np.pi)
        along = (xs - cx) * np.cos(angle) + (ys - cy) * np.sin(angle)
        across = -(xs - cx) * np.sin(angle) + (ys - cy) * np.cos(angle)
        canvas[(np.abs(along) < length) & (np.abs(across) < thickness)] = rng.uniform(0, 1, 3)
    return canvas


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


def checkpoint_steps(logdir):
    return sorted(int(p.split("-")[-1].split(".")[0])
                  for p in glob.glob(os.path.join(logdir, "ckpt-*.index")))


def scalars(logdir, tag):
    """{step: value} of a scalar summary, read back from the TensorBoard event files."""
    values = {}
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == tag:
                    values[event.step] = float(tf.make_ndarray(value.tensor))
    return values


def refine(data, vae, logdir, *args, runner=run_script):
    return runner("train_refiner.py", "--data", data, "--vae", vae, "--logdir", logdir,
                  *TINY_REFINER, *args)


def probe(path):
    """(frame count, width, height, has audio, audio seconds) of a video file."""
    count, _ = imageio_ffmpeg.count_frames_and_secs(path)
    info = video.probe_video(path)
    log = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", path, "-map",
                          "0:a?", "-f", "null", "-"], capture_output=True, text=True).stderr
    times = re.findall(r"time=(\d+):(\d+):([\d.]+)", log)
    audio_seconds = None
    if info.has_audio and times:
        h, m, s = times[-1]
        audio_seconds = int(h) * 3600 + int(m) * 60 + float(s)
    return count, info.width, info.height, info.has_audio, audio_seconds


def read_all(path):
    info = video.probe_video(path)
    return np.stack([f for _, f in video.video_frames(info)]).astype(np.float32)


def folder_digest(folder):
    """{relative path: sha256} of every file below folder."""
    digest = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                digest[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return digest
