"""What a script writes never replaces what it did not write: a folder, an input, or a folder
that holds an input is refused with one `error:` line and exit 2, and every file there stays
byte for byte as it was. Damaged input is named before any work starts."""
import json
import os
import shutil

import pytest

from helpers import TINY, folder_digest, make_clip, run_main, run_script


def unrelated_folder(tmp_path):
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(b"\xff\xd8 a user's photo")
    (folder / "notes.txt").write_text("keep me")
    return folder


def refused(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    # `error: ...`, or argparse's `script.py: error: ...` after its usage line
    error_lines = [line for line in result.stderr.splitlines()
                   if line.startswith("error:") or ".py: error:" in line]
    assert len(error_lines) == 1, result.stderr
    assert all(w.lower() in error_lines[0].lower() for w in words), result.stderr


@pytest.mark.parametrize("target", ["vae run", "refiner run", "data folder", "runs parent",
                                    "unrelated folder", "a file"])
def test_export_never_replaces_what_it_did_not_write(runs, tmp_path, target):
    root = tmp_path / "work"
    shutil.copytree(os.path.dirname(runs["vae"]), root, ignore=shutil.ignore_patterns("bundle"))
    vae, refiner, data = root / "vae", root / "refiner", root / "data"
    out = {"vae run": vae, "refiner run": refiner, "data folder": data, "runs parent": root,
           "unrelated folder": unrelated_folder(tmp_path), "a file": tmp_path / "f.txt"}[target]
    if target == "a file":
        out.write_text("not a folder")
    before = folder_digest(tmp_path)
    result = run_main("export_graph.py", "--vae", vae, "--refiner", refiner, "--data", data,
                      "--out", out)
    refused(result, "--out", str(out))
    assert folder_digest(tmp_path) == before
    assert not [n for n in os.listdir(out.parent) if ".partial" in n]


def test_export_replaces_its_own_bundle_only(runs, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(runs["bundle"], bundle)
    (bundle / "stale.txt").write_text("from an earlier export")
    result = run_main("export_graph.py", "--vae", runs["vae"], "--refiner", runs["refiner"],
                      "--data", runs["data"], "--out", bundle)
    assert result.returncode == 0, result.stderr
    assert not (bundle / "stale.txt").exists() and (bundle / "config.json").exists()


@pytest.mark.parametrize("target", ["existing folder", "current folder", "the input",
                                    "the bundle"])
def test_process_video_never_replaces_a_folder_or_its_input(runs, tmp_path, target):
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    folder = unrelated_folder(tmp_path)
    out = {"existing folder": str(folder), "current folder": ".", "the input": clip,
           "the bundle": runs["bundle"]}[target]
    before, bundle_before = folder_digest(tmp_path), folder_digest(runs["bundle"])
    if target == "current folder":  # as a user types it, in a shell in that folder
        result = run_script("process_video.py", clip, "-o", out, "--model", runs["bundle"],
                            cwd=tmp_path)
    else:
        result = run_main("process_video.py", clip, "-o", out, "--model", runs["bundle"])
    refused(result, "-o")
    assert folder_digest(tmp_path) == before and folder_digest(runs["bundle"]) == bundle_before
    assert not [n for n in os.listdir(tmp_path) if ".partial" in n]


@pytest.mark.parametrize("damage", ["bit flipped", "truncated", "empty", "missing"])
def test_a_damaged_shard_is_named_before_training_or_export(runs, tmp_path, damage):
    data = tmp_path / "data"
    shutil.copytree(runs["data"], data)
    shard = data / json.loads((data / "manifest.json").read_text())["shards"][0]["file"]
    content = shard.read_bytes()
    if damage == "bit flipped":
        middle = len(content) // 2
        shard.write_bytes(content[:middle] + bytes([content[middle] ^ 1]) + content[middle + 1:])
    elif damage == "truncated":
        shard.write_bytes(content[:len(content) // 2])
    elif damage == "empty":
        shard.write_bytes(b"")
    else:
        shard.unlink()
    for script, args in [
            ("train_vae.py", ["--data", data, "--logdir", tmp_path / "run", *TINY, "--steps", "2"]),
            ("export_graph.py", ["--vae", runs["vae"], "--refiner", runs["refiner"], "--data",
                                 data, "--out", tmp_path / "bundle"])]:
        refused(run_main(script, *args), "damaged data folder", shard.name)
    assert not (tmp_path / "run").exists() and not (tmp_path / "bundle").exists()



def damage_bundle(folder, damage):
    if damage == "truncated variables":
        path = folder / "saved_model" / "variables" / "variables.data-00000-of-00001"
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "truncated means":
        path = folder / "latent_means.npz"
        path.write_bytes(path.read_bytes()[:50])
    elif damage == "means of another code size":
        import numpy as np
        with np.load(folder / "latent_means.npz") as means:
            arrays = {k: means[k] for k in means.files}
        arrays["means"] = arrays["means"][:, :3]
        np.savez(folder / "latent_means.npz", **arrays)
    else:
        config = json.loads((folder / "config.json").read_text())
        if damage == "wrong frame size":
            config["frame_size"]["width"] += 4
        elif damage == "wrong code size":
            config["code_size"] += 1
        elif damage == "config not an object":
            config = [config]
        (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize("damage", ["truncated variables", "truncated means",
                                    "means of another code size", "wrong frame size",
                                    "wrong code size", "config not an object"])
def test_a_damaged_bundle_is_one_error_line(runs, tmp_path, damage):
    bundle = tmp_path / "bundle"
    shutil.copytree(runs["bundle"], bundle)
    damage_bundle(bundle, damage)
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    result = run_main("process_video.py", clip, "-o", tmp_path / "out.mp4", "--model", bundle)
    refused(result, str(bundle))
    assert not (tmp_path / "out.mp4").exists()
    result = run_main("evaluate_embeddings.py", "--model", bundle, "--data", runs["data"],
                      "--out", tmp_path / "evaluation", "--samples", "2")
    refused(result, str(bundle))


@pytest.mark.parametrize("script, args", [
    ("evaluate_embeddings.py", ["--out", "{file}", "--samples", "2"]),
    ("extract_frames.py", ["--out", "{file}", "--video", "{clip}"]),
    ("extract_frames.py", ["--out", "{out}", "--video", "{clip}", "--size", "100000x100000"]),
    ("process_video.py", ["{clip}", "-o", "{out}.mp4", "--duration", "1e-9"]),
    ("process_video.py", ["{clip}", "-o", "{out}.mp4", "--start", "0.95"]),
])
def test_bad_targets_and_ranges_are_one_error_line(runs, tmp_path, script, args):
    target = tmp_path / "a-file.txt"
    target.write_text("keep me")
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    values = {"file": target, "clip": clip, "out": tmp_path / "out"}
    args = [a.format(**values) for a in args]
    extra = {"evaluate_embeddings.py": ["--model", runs["bundle"], "--data", runs["data"]],
             "process_video.py": ["--model", runs["bundle"]]}.get(script, [])
    refused(run_main(script, *args, *extra))
    assert target.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["a-file.txt", "clip.mp4"]


def file_size_limit(limit_bytes):
    """A preexec_fn giving the child a file-size limit, as `ulimit -f` does."""
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))


@pytest.mark.parametrize("script", ["process_video.py", "export_graph.py"])
def test_a_file_size_limit_is_one_error_line_and_leaves_nothing(runs, tmp_path, script):
    import subprocess
    import sys

    from helpers import REPO

    clip = make_clip(tmp_path / "clip.mp4", 160, 90, seconds=3)
    out = tmp_path / "out"
    args = {"process_video.py": [clip, "-o", f"{out}.mp4", "--model", runs["bundle"]],
            "export_graph.py": ["--vae", runs["vae"], "--refiner", runs["refiner"], "--data",
                                runs["data"], "--out", out]}[script]
    result = subprocess.run([sys.executable, os.path.join(REPO, script), *map(str, args)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600,
                            env=dict(os.environ, PYTHONPATH=REPO),
                            preexec_fn=file_size_limit(20000))
    refused(result, str(out))
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]


def dead_pid():
    """The pid of a process that has ended."""
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_the_next_run_removes_what_a_killed_run_left(runs, tmp_path, media):
    """kill -9 leaves scratch folders; the next run of the same script removes those of dead
    processes beside its own target, and keeps those of live ones."""
    out = tmp_path / "bundle"
    stale = tmp_path / f".bundle.partial-{dead_pid()}-x1y2"
    live = tmp_path / f".bundle.partial-{os.getpid()}-a3b4"
    for folder in (stale, live):
        (folder / "saved_model").mkdir(parents=True)
    result = run_main("export_graph.py", "--vae", runs["vae"], "--refiner", runs["refiner"],
                      "--data", runs["data"], "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"removed {stale}, left by a run that was stopped" in result.stderr
    assert not stale.exists() and live.exists() and (out / "config.json").exists()
    data = tmp_path / "data"
    shutil.copytree(runs["data"], data)
    stale_extract = data / f".extract-{dead_pid()}-q9"
    stale_extract.mkdir()
    (stale_extract / "bucket-0.tfrecord").write_bytes(b"\0" * 1000)
    result = run_main("extract_frames.py", "--out", data, "--append", "--video", media["plain"])
    assert result.returncode == 0, result.stderr
    assert not stale_extract.exists() and "left by a run that was stopped" in result.stderr


@pytest.fixture
def small_disk(tmp_path):
    """mount(options) mounts a fresh tmpfs under tmp_path and returns its folder: a read-only
    one ("ro") or a nearly full one ("size=8k"). Needs root, as mounting does."""
    import subprocess

    mounted = []

    def mount(options):
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("script", ["process_video.py", "export_graph.py"])
@pytest.mark.parametrize("disk, message", [("ro", "read-only file system"),
                                           ("size=8k", "no space left on device")])
def test_a_read_only_or_full_disk_is_one_error_line_and_leaves_nothing(
        runs, tmp_path, small_disk, script, disk, message):
    clip = make_clip(tmp_path / "clip.mp4", 160, 90, seconds=3)
    folder = small_disk(disk)
    out = folder / "out"
    args = {"process_video.py": [clip, "-o", f"{out}.mp4", "--model", runs["bundle"]],
            "export_graph.py": ["--vae", runs["vae"], "--refiner", runs["refiner"], "--data",
                                runs["data"], "--out", out]}[script]
    refused(run_main(script, *args), message)
    assert os.listdir(folder) == []
