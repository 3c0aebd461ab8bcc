"""train_vae.py run as a user runs it, with a tiny model on tiny generated frames."""
import json
import os
import signal
import subprocess
import sys
import time

import imageio.v3 as iio
import imageio_ffmpeg
import pytest

from helpers import REPO, TINY, checkpoint_steps, run_main, run_script, scalars
from vae.models import precision


@pytest.fixture(scope="module")
def data(media, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("train") / "data")
    result = run_script("extract_frames.py", "--out", out, "--size", "32x18", "--frame-step", "1",
                        "--paintings", media["paintings"], "--video", media["letterbox"])
    assert result.returncode == 0, result.stderr
    return out


def train(data, logdir, *args):
    return run_script("train_vae.py", "--data", data, "--logdir", logdir, *TINY, *args)


def test_loss_falls_and_outputs_are_written(data, tmp_path):
    logdir = tmp_path / "run"
    result = train(data, logdir, "--steps", "150", "--learning-rate", "2e-3",
                   "--checkpoint-every", "50", "--preview-every", "50")
    assert result.returncode == 0, result.stderr
    losses = scalars(str(logdir), "loss")
    assert sorted(losses) == list(range(10, 151, 10))
    assert losses[150] < 0.6 * losses[10], losses
    fixed = scalars(str(logdir), "fixed_batch/loss")  # same frames, evaluated at each checkpoint
    assert sorted(fixed) == [50, 100, 150] and fixed[150] < fixed[50], fixed
    for tag in ("reconstruction", "kl", "learning_rate", "images_per_second"):
        assert scalars(str(logdir), tag), tag
    assert checkpoint_steps(logdir) == [50, 100, 150]
    config = json.loads((logdir / "config.json").read_text())
    assert config["kind"] == "vae"
    assert config["model"] == {"width": 32, "height": 18, "filters": [8, 8, 16],
                               "kernels": [3, 3, 3], "code_size": 16}
    # preview: 6 inputs over their 6 reconstructions; a video frame per preview (0, 50, 100, 150)
    preview = iio.imread(logdir / "preview.png")
    assert preview.shape == (2 * 20 + 2, 6 * 34 + 2, 3)
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(logdir / "progress.mp4"))
    assert frames == 4
    assert "0 -> 150" in result.stdout and "Traceback" not in result.stderr


def wait_for_checkpoint(logdir, process, minimum, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        steps = [s for s in checkpoint_steps(logdir) if s >= minimum]
        if steps:
            return steps
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError("no checkpoint appeared")


def start_training(data, logdir, *args):
    return subprocess.Popen(
        [sys.executable, os.path.join(REPO, "train_vae.py"), "--data", data, "--logdir",
         str(logdir), *TINY, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=dict(os.environ, PYTHONPATH=REPO))


def test_a_damaged_latest_checkpoint_falls_back_to_the_one_before(data, tmp_path):
    logdir = tmp_path / "run"
    assert train(data, logdir, "--steps", "10", "--checkpoint-every", "5").returncode == 0
    assert checkpoint_steps(logdir) == [5, 10]
    [data_file] = logdir.glob("ckpt-10.data-*")
    data_file.write_bytes(data_file.read_bytes()[:64])  # cut short, as by a full disk
    result = train(data, logdir, "--steps", "12")
    assert result.returncode == 0, result.stderr
    assert "checkpoint" in result.stderr and "is damaged" in result.stderr
    assert f"resuming {logdir} from step 5" in result.stdout and "5 -> 12" in result.stdout
    for path in logdir.glob("ckpt-*.data-*"):
        path.write_bytes(b"")
    result = train(data, logdir, "--steps", "14")
    assert result.returncode == 2 and "every checkpoint in" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_run_folder_has_one_writer(data, tmp_path):
    """A second run on a folder in use is refused; the lock of a killed run is taken over."""
    logdir = tmp_path / "run"
    first = start_training(data, logdir, "--steps", "100000", "--checkpoint-every", "5",
                           "--preview-every", "1000")
    wait_for_checkpoint(logdir, first, 5)
    second = train(data, logdir, "--steps", "10")
    assert second.returncode == 2, second.stderr
    assert f"is in use by pid {first.pid}" in second.stderr and "Traceback" not in second.stderr
    first.kill()  # kill -9: the lock file stays
    first.communicate()
    assert json.loads((logdir / "run.lock").read_text())["pid"] == first.pid
    last = checkpoint_steps(logdir)[-1]
    third = train(data, logdir, "--steps", str(last + 2))
    assert third.returncode == 0, third.stderr
    assert f"taking over the lock of a run that is gone (pid {first.pid})" in third.stderr
    assert not (logdir / "run.lock").exists()  # released at the end
    file_logdir = tmp_path / "a-file"
    file_logdir.write_text("not a folder")
    refused = run_main("train_vae.py", "--data", data, "--logdir", file_logdir, *TINY)
    assert refused.returncode == 2 and "is a file, not a folder" in refused.stderr
    assert file_logdir.read_text() == "not a folder"


@pytest.mark.slow
def test_killed_run_resumes_at_its_last_checkpoint(data, tmp_path):
    logdir = tmp_path / "run"
    process = start_training(data, logdir, "--steps", "100000", "--checkpoint-every", "5",
                             "--preview-every", "1000")
    wait_for_checkpoint(logdir, process, 10)
    process.kill()  # kill -9: no chance to save
    process.communicate()
    last = checkpoint_steps(logdir)[-1]
    assert last % 5 == 0
    target = last + 7
    result = train(data, logdir, "--steps", target, "--checkpoint-every", "5",
                   "--preview-every", "1000")
    assert result.returncode == 0, result.stderr
    assert f"resuming {logdir} from step {last}" in result.stdout
    assert f"{last} -> {target}" in result.stdout
    assert checkpoint_steps(logdir)[-1] == target
    # the target is a total: running again does no more steps
    again = train(data, logdir, "--steps", target)
    assert again.returncode == 0 and f"{target} -> {target}" in again.stdout


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_and_exits(data, tmp_path):
    logdir = tmp_path / "run"
    process = start_training(data, logdir, "--steps", "100000", "--checkpoint-every", "1000000",
                             "--preview-every", "1000000", "--learning-rate", "1e-3")
    deadline = time.time() + 180
    while not scalars(str(logdir), "loss") and time.time() < deadline:  # training has begun
        assert process.poll() is None, process.communicate()
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "resume" in stderr and "Traceback" not in stderr
    steps = checkpoint_steps(logdir)
    assert len(steps) == 1 and steps[0] >= 10


@pytest.mark.slow
def test_config_guard_and_non_finite_loss(data, tmp_path):
    logdir = tmp_path / "run"
    first = train(data, logdir, "--steps", "10", "--checkpoint-every", "10", "--precision", "auto")
    assert first.returncode == 0
    expected, _ = precision.choose(*precision.local_hardware())
    assert f"precision: {expected} (auto: " in first.stdout
    other = run_main("train_vae.py", "--data", data, "--logdir", logdir, "--filters", "8,8,32",
                     "--kernels", "3,3,3", "--code-size", "16", "--batch-size", "8")
    assert other.returncode == 2
    assert "error:" in other.stderr and "filters" in other.stderr
    assert "Traceback" not in other.stderr

    index = (logdir / "ckpt-10.index").read_bytes()
    exploding = train(data, logdir, "--steps", "200", "--learning-rate", "1e12",
                      "--checkpoint-every", "1")
    assert exploding.returncode == 1
    assert "non-finite loss" in exploding.stderr and "Traceback" not in exploding.stderr
    assert checkpoint_steps(logdir) == [10]
    assert (logdir / "ckpt-10.index").read_bytes() == index
    # the learning rate, steps and intervals may change on resume: the record says so
    config = json.loads((logdir / "config.json").read_text())
    assert config["training"]["learning_rate"] == 1e12
    assert config["resumed"] == [{"step": 10, "changed": {
        "steps": {"before": 10, "now": 200}, "learning_rate": {"before": 0.0002, "now": 1e12},
        "checkpoint_every": {"before": 10, "now": 1}}}]


@pytest.mark.slow
def test_two_workers_with_multiworker_strategy(data, tmp_path):
    logdir = tmp_path / "run"
    workers = start_workers(data, logdir, "--steps", "12", "--checkpoint-every", "6",
                            "--preview-every", "6")
    outputs = [w.communicate(timeout=400) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
        assert "2 replica(s)" in out
    assert checkpoint_steps(logdir) == [6, 12]  # written by the chief only
    assert "checkpoint:" in outputs[0][0] and "checkpoint:" not in outputs[1][0]
    assert (logdir / "preview.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--filters", "8,x"], "positive integers"),
    (["--filters", "8,8", "--kernels", "3,3,3"], "--kernels"),
    (["--batch-size", "0"], "positive integer"),
    (["--steps", "5", "--epochs", "2"], "not allowed"),
    (["--strategy", "multiworker"], "TF_CONFIG"),
])
def test_bad_arguments(data, tmp_path, args, message):
    without_cluster = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    result = run_main("train_vae.py", "--data", data, "--logdir", tmp_path / "run", *args,
                        env=without_cluster)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_data_is_an_error(tmp_path):
    result = run_main("train_vae.py", "--data", tmp_path / "nothing", "--logdir", tmp_path / "r")
    assert result.returncode == 2
    assert "extract_frames.py" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_help():
    result = run_main("train_vae.py", "--help")
    assert result.returncode == 0
    for flag in ("--steps", "--epochs", "--filters", "--strategy", "--precision"):
        assert flag in result.stdout
    assert "--mixed-precision" not in result.stdout
    refused = run_main("train_vae.py", "--mixed-precision")
    assert refused.returncode == 2 and "unrecognized arguments: --mixed-precision" in refused.stderr


def start_workers(data, logdir, *args):
    """Two train_vae.py workers of one MultiWorkerMirroredStrategy cluster on 127.0.0.1."""
    import socket

    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    workers = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=REPO,
                   TF_CONFIG=json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}))
        workers.append(subprocess.Popen(
            [sys.executable, os.path.join(REPO, "train_vae.py"), "--data", data, "--logdir",
             str(logdir), *TINY, "--strategy", "multiworker", *map(str, args)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return workers


@pytest.mark.slow
@pytest.mark.parametrize("signalled", [0, 1])  # the chief, or the other worker
def test_a_signal_on_one_worker_stops_both(data, tmp_path, signalled):
    logdir = tmp_path / "run"
    workers = start_workers(data, logdir, "--steps", "100000", "--checkpoint-every", "1000000",
                            "--preview-every", "1000000")
    deadline = time.time() + 300
    while not scalars(str(logdir), "loss") and time.time() < deadline:  # training has begun
        assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
        time.sleep(0.5)
    workers[signalled].send_signal(signal.SIGTERM)
    outputs = [w.communicate(timeout=120) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 128 + signal.SIGTERM, err
        assert "Traceback" not in err
    assert "another worker was stopped" in outputs[1 - signalled][1]
    [stopped] = checkpoint_steps(logdir)  # one checkpoint, by the chief, at the same step
    assert f"stopped by SIGTERM at step {stopped}" in outputs[0][1]
    assert f"stopped by SIGTERM at step {stopped}" in outputs[1][1]

    workers = start_workers(data, logdir, "--steps", stopped + 3)
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs):
        assert worker.returncode == 0, err
        assert f"resuming {logdir} from step {stopped}" in out
    assert checkpoint_steps(logdir)[-1] == stopped + 3
