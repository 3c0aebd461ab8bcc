"""process_video.py on generated clips with the tiny bundle, run as a user runs it."""
import os
import re
import signal
import subprocess
import sys
import time

import imageio_ffmpeg
import numpy as np
import pytest

from conftest import REPO, make_clip, run_script
from vae import frames


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    audio_only = root / "tone.m4a"
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=300:duration=2", "-c:a", "aac", str(audio_only)], check=True)
    text = root / "notes.mp4"
    text.write_text("not a video")
    return {
        # 2 s at 10 fps: 20 frames, 160x88 picture letterboxed to 160x120, with audio
        "letterbox": make_clip(root / "letterbox.mp4", 160, 88, seconds=2,
                               pad=(160, 120, 0, 16), audio=True),
        "silent": make_clip(root / "silent.mp4", 64, 36, seconds=1),
        "long": make_clip(root / "long.mp4", 64, 36, seconds=900),  # 9000 frames
        "audio_only": str(audio_only), "text": str(text),
    }


def probe(path):
    """(frame count, width, height, has audio, audio seconds) of a video file."""
    count, _ = imageio_ffmpeg.count_frames_and_secs(path)
    info = frames.probe_video(path)
    log = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", path, "-map",
                          "0:a?", "-f", "null", "-"], capture_output=True, text=True).stderr
    times = re.findall(r"time=(\d+):(\d+):([\d.]+)", log)
    audio_seconds = None
    if info.has_audio and times:
        h, m, s = times[-1]
        audio_seconds = int(h) * 3600 + int(m) * 60 + float(s)
    return count, info.width, info.height, info.has_audio, audio_seconds


def stylize(clip, *args, cwd=None, model):
    return run_script("process_video.py", clip, "--model", model, *args, cwd=cwd)


def test_default_output_keeps_frames_size_and_audio(runs, clips, tmp_path):
    result = stylize(clips["letterbox"], cwd=tmp_path, model=runs["bundle"])
    assert result.returncode == 0, result.stderr
    output = tmp_path / "letterbox-stylized.mp4"
    count, width, height, has_audio, audio_seconds = probe(str(output))
    assert (count, width, height) == (20, 160, 88)  # same frames, letterbox cropped off
    assert has_audio and abs(audio_seconds - 2.0) < 0.2
    assert "16,0,16,0" in result.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["letterbox-stylized.mp4"]


def test_no_audio_and_silent_input(runs, clips, tmp_path):
    dropped = tmp_path / "dropped.mp4"
    assert stylize(clips["letterbox"], "-o", dropped, "--no-audio",
                   model=runs["bundle"]).returncode == 0
    assert probe(str(dropped))[3] is False
    silent = tmp_path / "silent.mp4"
    result = stylize(clips["silent"], "-o", silent, model=runs["bundle"])
    assert result.returncode == 0, result.stderr
    count, width, height, has_audio, _ = probe(str(silent))
    assert (count, width, height, has_audio) == (10, 64, 36, False)


def test_excerpt_lengths(runs, clips, tmp_path):
    out = tmp_path / "excerpt.mp4"
    result = stylize(clips["letterbox"], "-o", out, "--start", "0.5", "--duration", "1",
                     model=runs["bundle"])
    assert result.returncode == 0, result.stderr
    count, _, _, has_audio, audio_seconds = probe(str(out))
    assert count == 10 and has_audio and abs(audio_seconds - 1.0) < 0.15
    to_end = tmp_path / "to_end.mp4"
    assert stylize(clips["letterbox"], "-o", to_end, "--start", "1.5",
                   model=runs["bundle"]).returncode == 0
    assert probe(str(to_end))[0] == 5


def read_all(path):
    info = frames.probe_video(path)
    return np.stack([f for _, f in frames.video_frames(info)]).astype(np.float32)


def test_smoothing_reduces_frame_to_frame_change(runs, clips, tmp_path):
    rough, smooth = tmp_path / "rough.mp4", tmp_path / "smooth.mp4"
    for path, strength in ((rough, "0"), (smooth, "0.9")):
        result = stylize(clips["letterbox"], "-o", path, "--smoothing", strength,
                         "--source", "letterbox", "--no-audio", model=runs["bundle"])
        assert result.returncode == 0, result.stderr
    rough_frames, smooth_frames = read_all(str(rough)), read_all(str(smooth))
    change = [np.abs(np.diff(f, axis=0)).mean() for f in (rough_frames, smooth_frames)]
    assert change[1] < 0.5 * change[0], change
    # the first frame has no history: identical up to compression
    assert np.abs(rough_frames[0] - smooth_frames[0]).mean() < 3


def test_inset_shows_the_original_in_a_corner(runs, clips, tmp_path):
    plain, inset = tmp_path / "plain.mp4", tmp_path / "inset.mp4"
    for path, extra in ((plain, []), (inset, ["--inset"])):
        assert stylize(clips["letterbox"], "-o", path, "--smoothing", "0", *extra,
                       model=runs["bundle"]).returncode == 0
    a, b = read_all(str(plain)), read_all(str(inset))
    corner = np.abs(a[:, -20:, -38:] - b[:, -20:, -38:]).mean()
    elsewhere = np.abs(a[:, :40, :80] - b[:, :40, :80]).mean()
    assert corner > 10 and elsewhere < 3, (corner, elsewhere)


@pytest.mark.parametrize("case", ["missing file", "not a video", "no video stream",
                                  "missing bundle", "broken bundle", "unknown style",
                                  "style is a video", "unknown source", "start past end",
                                  "range past end", "bad smoothing"])
def test_bad_input_exit_2_no_output(case, runs, clips, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    clip, model, extra = clips["letterbox"], runs["bundle"], []
    if case == "missing file":
        clip = str(tmp_path / "nope.mp4")
    elif case == "not a video":
        clip = clips["text"]
    elif case == "no video stream":
        clip = clips["audio_only"]
    elif case == "missing bundle":
        model = str(tmp_path / "no-bundle")
    elif case == "broken bundle":
        model = str(broken)
    else:
        extra = {"unknown style": ["--style", "monet"],
                 "style is a video": ["--style", "letterbox"],
                 "unknown source": ["--source", "holiday"],
                 "start past end": ["--start", "100"],
                 "range past end": ["--start", "1", "--duration", "30"],
                 "bad smoothing": ["--smoothing", "1.5"]}[case]
    out = tmp_path / "out.mp4"
    result = stylize(clip, "-o", out, *extra, model=model)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not (tmp_path / "out.mp4.partial.mp4").exists()


def test_ctrl_c_leaves_no_partial_file(runs, clips, tmp_path):
    out = tmp_path / "long.mp4"
    partial = tmp_path / "long.mp4.partial.mp4"
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO, "process_video.py"), clips["long"], "-o", str(out),
         "--model", runs["bundle"], "--batch-size", "4"], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=REPO))
    deadline = time.time() + 120
    while not partial.exists() and time.time() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not out.exists() and not partial.exists()


def test_help():
    result = run_script("process_video.py", "--help")
    assert result.returncode == 0
    for flag in ("--style", "--source", "--alpha", "--beta", "--smoothing", "--inset",
                 "--no-audio", "--start", "--duration"):
        assert flag in result.stdout
