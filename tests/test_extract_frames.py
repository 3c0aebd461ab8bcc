"""extract_frames.py and validate_records.py, run as a user runs them, on generated media."""
import json
import os
import shutil
from collections import Counter

import numpy as np
import pytest

from helpers import read_records, run_main, run_script

SIZE = "32x18"


def extract(out, *args):
    return run_script("extract_frames.py", "--out", out, "--size", SIZE, *args)


def manifest_of(data):
    with open(os.path.join(data, "manifest.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def dataset(media, tmp_path_factory):
    """Paintings + letterboxed + pillarboxed clips, every 3rd frame, in two shards."""
    out = str(tmp_path_factory.mktemp("extract") / "data")
    result = extract(out, "--paintings", media["paintings"], "--video", media["letterbox"],
                     "--video", media["pillarbox"], "--frame-step", "3", "--shards", "2",
                     "--holdout", "0")
    assert result.returncode == 0, result.stderr
    return out, result


def test_counts_per_source_and_summary(dataset):
    out, result = dataset
    manifest, recs = read_records(out)
    by_name = {s["name"]: s for s in manifest["sources"]}
    assert by_name["paintings"]["kind"] == "painting"
    assert by_name["paintings"]["count"] == 2 and by_name["paintings"]["skipped"] == 1
    # 30 frames per clip, every 3rd kept
    assert by_name["letterbox"]["count"] == 10 and by_name["letterbox"]["kind"] == "video"
    assert by_name["pillarbox"]["count"] == 10 and by_name["letterbox"]["frame_step"] == 3
    assert Counter(r[1] for r in recs) == {s["id"]: s["count"] for s in manifest["sources"]}
    assert [s["id"] for s in manifest["sources"]] == [0, 1, 2]
    assert len(manifest["shards"]) == 2
    assert sum(s["count"] for s in manifest["shards"]) == len(recs) == 22
    assert all(r[3].shape == (18, 32, 3) for r in recs)
    assert "broken.png" in result.stderr  # the warning names the skipped file
    for name in ("paintings", "letterbox", "pillarbox"):
        assert name in result.stdout  # summary table


def test_borders_detected_stored_and_removed(dataset):
    out, result = dataset
    manifest, recs = read_records(out)
    crops = {s["name"]: s["crop"] for s in manifest["sources"]}
    assert crops["paintings"] is None
    assert np.abs(np.subtract(crops["letterbox"], [16, 0, 16, 0])).max() <= 1
    assert np.abs(np.subtract(crops["pillarbox"], [0, 20, 0, 20])).max() <= 1
    # the summary's row for each clip names the crop that was detected and stored
    for name in ("letterbox", "pillarbox"):
        row = next(line for line in result.stdout.splitlines() if f" {name} " in line)
        assert ",".join(map(str, crops[name])) in row, row
    ids = {s["name"]: s["id"] for s in manifest["sources"]}
    for name in ("letterbox", "pillarbox"):
        frames = np.stack([r[3] for r in recs if r[1] == ids[name]]).astype(float)
        edges = [frames[:, 0].mean(), frames[:, -1].mean(),
                 frames[:, :, 0].mean(), frames[:, :, -1].mean()]
        assert min(edges) > 30, f"{name} still has a black edge: {edges}"


def test_records_are_shuffled_across_sources(dataset):
    out, _ = dataset
    _, recs = read_records(out)
    for shard in {r[0] for r in recs}:
        sources = [r[1] for r in recs if r[0] == shard]
        assert sources != sorted(sources), f"{shard} is not shuffled: {sources}"
    origins = [r[2] for r in recs]
    assert len(set(origins)) == len(origins)
    assert any(o.startswith("letterbox.mp4#") for o in origins)


def test_validate_passes_and_writes_contact_sheets(dataset, tmp_path):
    out, _ = dataset
    result = run_script("validate_records.py", "--data", out, "--previews", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
    import imageio.v3 as iio
    for name, count in (("paintings", 2), ("letterbox", 10), ("pillarbox", 10)):
        sheet = iio.imread(tmp_path / f"contact-{name}.png")
        columns = min(count, 6)
        rows = -(-count // 6)
        assert sheet.shape == (rows * 20 + 2, columns * 34 + 2, 3)


def test_validate_names_truncated_shard(dataset, tmp_path):
    out, _ = dataset
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    shard = manifest_of(out)["shards"][1]["file"]
    data = (bad / shard).read_bytes()
    (bad / shard).write_bytes(data[: len(data) // 2])
    result = run_script("validate_records.py", "--data", bad)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    damaged = [line for line in result.stderr.splitlines() if line.startswith("damaged:")]
    assert damaged and all(shard in line for line in damaged)
    assert any("record" in line for line in damaged)
    assert manifest_of(out)["shards"][0]["file"] not in result.stderr


def test_validate_detects_corrupt_bytes(dataset, tmp_path):
    out, _ = dataset
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    shard = manifest_of(out)["shards"][0]["file"]
    data = bytearray((bad / shard).read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    (bad / shard).write_bytes(bytes(data))
    result = run_script("validate_records.py", "--data", bad)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"damaged: {shard}" in result.stderr


@pytest.mark.slow
def test_append_keeps_ids_and_old_shards(media, tmp_path):
    out = str(tmp_path / "data")
    first = extract(out, "--paintings", media["paintings"], "--video", media["letterbox"],
                    "--holdout", "0")
    assert first.returncode == 0, first.stderr
    before = manifest_of(out)
    old_bytes = {s["file"]: (tmp_path / "data" / s["file"]).read_bytes() for s in before["shards"]}

    again = run_script("extract_frames.py", "--out", out, "--append", "--video",
                       media["pillarbox"], "--frame-step", "5", "--holdout", "0")
    assert again.returncode == 0, again.stderr
    after = manifest_of(out)
    assert after["sources"][:2] == before["sources"]
    assert after["sources"][2]["name"] == "pillarbox" and after["sources"][2]["id"] == 2
    assert after["sources"][2]["count"] == 6
    assert after["frame_size"] == before["frame_size"]  # taken from the manifest
    for name, data in old_bytes.items():
        assert (tmp_path / "data" / name).read_bytes() == data
    assert len(after["shards"]) == len(before["shards"]) + 1
    _, recs = read_records(out)
    assert Counter(r[1] for r in recs)[2] == 6
    assert run_main("validate_records.py", "--data", out).returncode == 0

    twice = run_main("extract_frames.py", "--out", out, "--append", "--video", media["pillarbox"])
    assert twice.returncode == 2 and "already a source" in twice.stderr
    assert manifest_of(out) == after


def test_refuses_to_overwrite_without_append(dataset):
    out, _ = dataset
    before = manifest_of(out)
    result = extract(out, "--video", dataset_media_clip(out))
    assert result.returncode == 2
    assert "--append" in result.stderr and "Traceback" not in result.stderr
    assert manifest_of(out) == before


def dataset_media_clip(out):
    return manifest_of(out)["sources"][1]["path"]


@pytest.mark.parametrize("case", ["missing video", "not a video", "empty folder", "bad size",
                                  "bad crop", "crop too big", "nothing to do", "holdout nan",
                                  "holdout too large"])
def test_bad_input_exit_2_and_nothing_written(case, media, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is text, not a video")
    out = tmp_path / "out"
    args = {
        "missing video": ["--video", tmp_path / "nope.mp4"],
        "not a video": ["--video", fake],
        "empty folder": ["--paintings", empty],
        "bad size": ["--video", media["plain"], "--size", "320by180"],
        "bad crop": ["--video", media["plain"], "--crop", "1,2,3"],
        "crop too big": ["--video", media["plain"], "--crop", "20,0,20,0"],
        "nothing to do": [],
        "holdout nan": ["--video", media["plain"], "--holdout", "nan"],
        "holdout too large": ["--video", media["plain"], "--holdout", "0.7"],
    }[case]
    result = run_main("extract_frames.py", "--out", out, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_all_paintings_unreadable_leaves_nothing(tmp_path):
    folder = tmp_path / "paintings"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"garbage")
    out = tmp_path / "out"
    result = run_script("extract_frames.py", "--out", out, "--paintings", folder)
    assert result.returncode == 2 and "error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_validate_bad_arguments(tmp_path):
    missing = run_main("validate_records.py", "--data", tmp_path / "none")
    assert missing.returncode == 2 and "error:" in missing.stderr
    no_manifest = run_main("validate_records.py", "--data", tmp_path)
    assert no_manifest.returncode == 2 and "extract_frames.py" in no_manifest.stderr
    assert "Traceback" not in missing.stderr + no_manifest.stderr
    assert run_main("validate_records.py", "--bogus").returncode == 2


@pytest.mark.parametrize("script", ["extract_frames.py", "validate_records.py"])
def test_help(script):
    result = run_main(script, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


def test_painting_crops_are_larger_scale_pieces_of_their_painting_in_its_split(tmp_path):
    """--painting-crops 4: every painting gives its whole frame and 4 crops, each showing
    0.3 to 0.6 of the painting's width (read off a horizontal gradient), held out with it."""
    import imageio.v3 as iio

    folder = tmp_path / "gradients"
    folder.mkdir()
    ramp = np.linspace(0, 255, 320)
    for number in range(3):
        image = np.zeros((180, 320, 3), np.uint8)
        image[..., 0] = ramp  # red rises left to right over the whole width
        image[..., 1] = 60 * number
        iio.imwrite(folder / f"p{number}.png", image)
    out = tmp_path / "data"
    result = extract(out, "--paintings", folder, "--painting-crops", "4", "--holdout", "0.34")
    assert result.returncode == 0, result.stderr
    manifest, train = read_records(out)
    _, held = read_records(out, "holdout_shards")
    assert manifest["sources"][0]["painting_crops"] == 4
    assert len(train) == 10 and len(held) == 5  # one of three paintings held out, crops too
    for records in (train, held):
        assert len({r[3][..., 1].mean().round() for r in records}) == len(records) // 5
    origins = sorted(r[2] for r in held)
    assert origins[0].endswith(".png") and [o.split("#")[1] for o in origins[1:]] == [
        f"crop{k}" for k in range(4)]
    for _, _, origin, image in train + held:
        span = float(image[9, -1, 0]) - float(image[9, 0, 0])
        if "#crop" in origin:
            assert 0.3 * 255 * 0.9 < span < 0.6 * 255 * 1.05, (origin, span)
        else:
            assert span > 0.95 * 255, (origin, span)
    again = extract(tmp_path / "again", "--paintings", folder, "--painting-crops", "4",
                    "--holdout", "0.34")
    assert again.returncode == 0
    assert sorted(r[3].tobytes() for r in read_records(tmp_path / "again")[1]) == sorted(
        r[3].tobytes() for r in train)  # the seed fixes the crops
