"""The held-out split: which frames are kept out, and that no trainer ever reads them."""
import json
import os

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import read_records, run_script
from vae.data import datafolder, holdout, records


def test_video_stretches_guard_and_share():
    ten = holdout.VideoHoldout(10.0, 0.05)  # 0.5 s held out: one stretch in the middle
    assert ten.stretches == [(4.75, 5.25)] and ten.guard == 0.5
    assert [ten.split(t) for t in (3.0, 4.3, 4.8, 5.2, 5.7, 6.0)] == [
        "train", "guard", "holdout", "holdout", "guard", "train"]
    long = holdout.VideoHoldout(600.0, 0.05)  # 30 s: 15 stretches of 2 s, spread out
    assert len(long.stretches) == 15
    assert sum(e - s for s, e in long.stretches) == pytest.approx(30.0)
    times = np.arange(0, 600, 0.04)
    splits = [long.split(t) for t in times]
    assert splits.count("holdout") / len(times) == pytest.approx(0.05, abs=0.002)
    assert splits.count("guard") / len(times) == pytest.approx(15 * 1.0 / 600, abs=0.002)
    assert all(s == "train" for s in (holdout.VideoHoldout(10.0, 0).split(t) for t in times[:250]))
    assert holdout.VideoHoldout(0.0, 0.05).stretches == []  # unknown duration: nothing held out


def test_whole_paintings_held_out():
    assert len(holdout.held_out_paintings(11, 0.05, seed=0)) == 1
    assert len(holdout.held_out_paintings(40, 0.1, seed=0)) == 4
    assert holdout.held_out_paintings(2, 0.05, seed=0) == set()
    assert holdout.held_out_paintings(1, 0.4, seed=0) == set()  # one is left to train on
    assert holdout.held_out_paintings(40, 0.1, seed=1) != holdout.held_out_paintings(40, 0.1, 0)
    with pytest.raises(ValueError):
        holdout.check_fraction(float("nan"))


@pytest.fixture(scope="module")
def split_data(media, tmp_path_factory):
    root = tmp_path_factory.mktemp("holdout")
    paintings = root / "paintings"
    paintings.mkdir()
    rng = np.random.default_rng(3)
    for i in range(5):
        iio.imwrite(paintings / f"p{i}.png", rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    data = str(root / "data")
    result = run_script("extract_frames.py", "--out", data, "--size", "32x18", "--frame-step", "1",
                        "--holdout", "0.2", "--paintings", paintings, "--video", media["letterbox"])
    assert result.returncode == 0, result.stderr
    return data, result


def frame_numbers(recs, source):
    return sorted(int(r[2].split("#")[1]) for r in recs if r[1] == source)


def test_extract_keeps_stretches_and_paintings_out(split_data):
    data, result = split_data
    manifest, train = read_records(data)
    _, held = read_records(data, "holdout_shards")
    by_name = {s["name"]: s for s in manifest["sources"]}
    video = by_name["letterbox"]["id"]
    # 3 s at 10 fps: 0.6 s held out around 1.5 s (frames 12-18), 0.5 s unused either side
    assert frame_numbers(held, video) == list(range(12, 19))
    assert frame_numbers(train, video) == list(range(0, 7)) + list(range(24, 30))
    assert by_name["letterbox"]["holdout_count"] == 7 and by_name["letterbox"]["count"] == 13
    assert by_name["letterbox"]["guard_dropped"] == 10
    assert by_name["letterbox"]["holdout_seconds"] == [[1.2, 1.8]]
    painting = by_name["paintings"]["id"]
    held_paintings = {r[2] for r in held if r[1] == painting}
    assert len(held_paintings) == 1 and by_name["paintings"]["count"] == 4
    assert not held_paintings & {r[2] for r in train if r[1] == painting}
    assert all(s["file"].startswith("holdout-") for s in manifest["holdout_shards"])
    assert datafolder.record_count(manifest, "holdout") == len(held) == 8
    assert "held out" in result.stdout


def test_held_out_frames_never_reach_a_training_batch(split_data):
    data, _ = split_data
    manifest = datafolder.load_manifest(data)
    _, train = read_records(data)
    _, held = read_records(data, "holdout_shards")
    seen = set()
    for batch in records.make_dataset(data, manifest, 5, shuffle=True, repeat=False, seed=1):
        seen.update(np.rint(image * 255).astype(np.uint8).tobytes()
                    for image in batch["image"].numpy())
    assert seen == {r[3].tobytes() for r in train}
    assert not seen & {r[3].tobytes() for r in held}


@pytest.mark.slow
def test_validate_checks_held_out_shards(split_data, tmp_path):
    data, _ = split_data
    good = run_script("validate_records.py", "--data", data)
    assert good.returncode == 0, good.stderr
    assert "8 records held out" in good.stdout
    manifest = json.loads(open(os.path.join(data, "manifest.json")).read())
    shard = manifest["holdout_shards"][0]["file"]
    broken = tmp_path / "broken"
    os.makedirs(broken)
    for name in os.listdir(data):
        if name.endswith((".gz", ".json")):
            with open(os.path.join(data, name), "rb") as f:
                content = f.read()
            (broken / name).write_bytes(content[: len(content) // 2] if name == shard else content)
    result = run_script("validate_records.py", "--data", broken)
    assert result.returncode == 1 and f"damaged: {shard}" in result.stderr
    assert "Traceback" not in result.stderr
