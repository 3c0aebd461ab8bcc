"""What every script shares: --help and argument errors answer without loading TensorFlow, and
an error after TensorFlow has loaded is still one line on stderr."""
import os
import subprocess
import sys

import pytest

from helpers import REPO, run_script

SCRIPTS = ["extract_frames.py", "validate_records.py", "train_vae.py", "train_refiner.py",
           "train_painter.py", "export_graph.py", "evaluate_embeddings.py", "process_video.py"]
# Runs a script with TensorFlow and Keras made unimportable: any import of them fails loudly.
WITHOUT_TENSORFLOW = """
import runpy, sys
sys.modules["tensorflow"] = None
sys.modules["keras"] = None
script, *sys.argv[1:] = sys.argv[1:]
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
"""


def run_without_tensorflow(script, *args):
    return subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, script, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_without_tensorflow(script):
    result = run_without_tensorflow(script, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "Example" in result.stdout


@pytest.mark.parametrize("script, args", [
    ("train_vae.py", ["--steps", "0"]),
    ("train_refiner.py", ["--ssim-weight", "2"]),
    ("train_painter.py", ["--crop", "30"]),
    ("process_video.py", ["clip.mp4", "--paint", "1.5"]),
    ("process_video.py", ["clip.mp4", "--alpha", "nan"]),
    ("extract_frames.py", ["--size", "wide"]),
])
def test_argument_errors_without_tensorflow(script, args):
    result = run_without_tensorflow(script, *args)
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("script, args, words", [
    ("train_vae.py", ["--data", "no-such-data"], "no manifest.json"),
    ("export_graph.py", ["--vae", "no-such-run"], "no manifest.json"),
    ("evaluate_embeddings.py", ["--model", "no-such-bundle"], "no-such-bundle"),
    ("validate_records.py", ["--data", "no-such-data"], "no-such-data"),
    ("train_painter.py", ["--data", "no-such-data"], "no manifest.json"),
])
def test_an_error_is_one_line_on_stderr(script, args, words, tmp_path):
    """TensorFlow's C++ start-up lines do not come before it."""
    result = run_script(script, *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith("error:") and words in result.stderr


def test_progress_written_to_a_pipe_is_lines_not_carriage_returns(runs, tmp_path):
    result = run_script("validate_records.py", "--data", runs["data"], "--previews", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("reading:")]
    assert lines and "100%" in lines[-1], result.stderr


def test_a_non_utf8_file_name_is_a_usage_error(tmp_path):
    name = os.fsdecode(b"clip-\xff.mp4")
    (tmp_path / name).write_bytes(b"not a video")
    result = subprocess.run([sys.executable, os.path.join(REPO, "process_video.py"),
                             str(tmp_path / name)], capture_output=True, text=True,
                            cwd=REPO, timeout=60, errors="replace")
    assert result.returncode == 2 and "is not valid UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
