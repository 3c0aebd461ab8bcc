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


def test_a_record_damaged_before_its_checksum_is_one_line_naming_the_shard(runs, tmp_path):
    """The shard's sha256 in manifest.json was taken after the damage (a shared folder, a
    disk that lied): the trainer meets it while reading, and says where, in one line."""
    import hashlib

    data = tmp_path / "data"
    shutil.copytree(runs["data"], data)
    manifest = json.loads((data / "manifest.json").read_text())
    shard = data / manifest["shards"][-1]["file"]
    content = shard.read_bytes()
    middle = len(content) // 2
    shard.write_bytes(content[:middle] + bytes(64) + content[middle + 64:])
    manifest["shards"][-1]["sha256"] = hashlib.sha256(shard.read_bytes()).hexdigest()
    (data / "manifest.json").write_text(json.dumps(manifest))
    for script, args in [
            ("train_vae.py", ["--data", data, "--logdir", tmp_path / "run", *TINY, "--steps",
                              "40", "--preview-every", "1000"]),
            ("export_graph.py", ["--vae", runs["vae"], "--refiner", runs["refiner"], "--data",
                                 data, "--out", tmp_path / "bundle"])]:
        refused(run_main(script, *args), "damaged data folder", shard.name, "from record",
                "validate_records.py")
    # the run never wrote a checkpoint, the bundle never appeared
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
    ("process_video.py", ["{clip}", "-o", "{out}.mp4", "--inset", "--crop", "17,0,17,0"]),
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


# --- Round two: what only a bundle, a run, a data folder or a report has decides what may be
# replaced; outputs never land inside an input; scratch names are new; checkpoints survive a
# lost index; a manifest is untrusted; signals clean up.

def export_args(runs, out):
    return ["--vae", runs["vae"], "--refiner", runs["refiner"], "--data", runs["data"],
            "--out", out]


@pytest.mark.parametrize("target", ["another vae run", "another refiner run",
                                    "data folder once a logdir", "bundle look-alike", "empty"])
def test_export_replaces_only_what_only_a_bundle_has(runs, tmp_path, target):
    """A run folder's config.json has an integer format too: that made it look like a bundle."""
    if target == "empty":
        out = ""
    elif target == "data folder once a logdir":
        out = tmp_path / "data"
        shutil.copytree(runs["data"], out)
        shutil.copy(os.path.join(runs["vae"], "config.json"), out / "config.json")
    elif target == "bundle look-alike":
        out = tmp_path / "lookalike"
        out.mkdir()
        (out / "config.json").write_text(json.dumps({"format": 1, "kind": "model bundle"}))
        (out / "mine.txt").write_text("keep me")
    else:
        out = tmp_path / "run"
        shutil.copytree(runs["vae" if target == "another vae run" else "refiner"], out)
    before = folder_digest(tmp_path)
    refused(run_main("export_graph.py", *export_args(runs, out)), "--out")
    assert folder_digest(tmp_path) == before
    assert not [n for n in os.listdir(tmp_path) if ".partial" in n]


@pytest.mark.parametrize("inside", ["bundle/config.json", "bundle/new.mp4",
                                    "bundle/saved_model/x.mp4"])
def test_process_video_never_writes_inside_the_bundle(runs, tmp_path, inside):
    bundle = tmp_path / "bundle"
    shutil.copytree(runs["bundle"], bundle)
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    before = folder_digest(tmp_path)
    refused(run_main("process_video.py", clip, "-o", tmp_path / inside, "--model", bundle),
            "-o", "input")
    assert folder_digest(tmp_path) == before


@pytest.mark.parametrize("trap", ["old scratch name links to the input",
                                  "the input has the old scratch name"])
def test_scratch_files_have_new_names_and_only_they_are_removed(runs, tmp_path, trap):
    """The scratch file was `<output>.partial.mp4`, opened with ffmpeg's -y: a link there
    overwrote its target, and the cleanup deleted an input of that name."""
    out = tmp_path / "out.mp4"
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    if trap == "old scratch name links to the input":
        os.symlink(clip, tmp_path / "out.mp4.partial.mp4")
    else:
        clip = shutil.move(clip, tmp_path / "out.mp4.partial.mp4")
    before = folder_digest(tmp_path)
    result = run_main("process_video.py", clip, "-o", out, "--model", runs["bundle"])
    assert result.returncode == 0, result.stderr
    after = folder_digest(tmp_path)
    assert {k: v for k, v in after.items() if k != "out.mp4"} == before
    assert out.stat().st_size > 0 and os.path.exists(clip)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".out.mp4.partial")]


def test_scratch_names_are_new_files_each_time(tmp_path):
    from vae.media import atomic

    target = tmp_path / "video.mp4"
    names = {atomic.temporary_name(str(target), ".mp4") for _ in range(5)}
    assert len(names) == 5 and all(os.path.isfile(n) and not os.path.islink(n) for n in names)
    assert all(os.path.dirname(n) == str(tmp_path) for n in names)
    mode = os.stat(names.pop()).st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # readable like any other output, not mkstemp's 0600


def users_report_folder(tmp_path):
    folder = tmp_path / "my-notes"
    folder.mkdir()
    (folder / "report.md").write_text("# my own report")
    (folder / "holiday.png").write_bytes(b"\x89PNG a user's picture")
    return folder


@pytest.mark.parametrize("target", ["a user's folder", "the data folder", "inside the data",
                                    "the paintings", "inside the bundle"])
def test_evaluation_never_writes_over_or_into_what_it_did_not_write(runs, media, tmp_path,
                                                                    target):
    data, bundle = tmp_path / "data", tmp_path / "bundle"
    shutil.copytree(runs["data"], data)
    shutil.copytree(runs["bundle"], bundle)
    manifest = json.loads((data / "manifest.json").read_text())
    paintings = next(s["path"] for s in manifest["sources"] if s["kind"] == "painting")
    out = {"a user's folder": users_report_folder(tmp_path), "the data folder": data,
           "inside the data": data / "report", "the paintings": paintings,
           "inside the bundle": bundle / "evaluation"}[target]
    before, paintings_before = folder_digest(tmp_path), folder_digest(paintings)
    refused(run_main("evaluate_embeddings.py", "--model", bundle, "--data", data, "--out", out,
                     "--samples", "2"), "--out")
    assert folder_digest(tmp_path) == before and folder_digest(paintings) == paintings_before


def test_evaluation_replaces_its_own_report_and_defaults_beside_the_bundle(runs, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(runs["bundle"], bundle)
    before = folder_digest(bundle)
    args = ["--model", bundle, "--data", runs["data"], "--samples", "2"]
    result = run_main("evaluate_embeddings.py", *args)
    assert result.returncode == 0, result.stderr
    report = tmp_path / "bundle-evaluation"
    assert json.loads((report / "report.json").read_text())["kind"] == "evaluation report"
    (report / "stale.png").write_bytes(b"from an earlier report")
    result = run_main("evaluate_embeddings.py", *args, "--out", report)
    assert result.returncode == 0, result.stderr
    assert not (report / "stale.png").exists() and (report / "report.md").exists()
    assert folder_digest(bundle) == before


def vae_run_copy(runs, tmp_path):
    run = tmp_path / "vae"
    shutil.copytree(runs["vae"], run)
    return run


@pytest.mark.parametrize("index", ["missing", "names a checkpoint that is not there"])
def test_checkpoints_without_a_usable_index_are_resumed_never_overwritten(runs, tmp_path,
                                                                          index):
    from helpers import checkpoint_steps

    run = vae_run_copy(runs, tmp_path)
    if index == "missing":
        (run / "checkpoint").unlink()
    else:
        (run / "checkpoint").write_text('model_checkpoint_path: "ckpt-999"\n'
                                        'all_model_checkpoint_paths: "ckpt-999"\n')
    last = checkpoint_steps(run)[-1]
    kept = {k: v for k, v in folder_digest(run).items() if k.startswith("ckpt-")}
    result = run_main("train_vae.py", "--data", runs["data"], "--logdir", run, *TINY,
                      "--steps", str(last + 2), "--learning-rate", "2e-3",
                      "--preview-every", "1000")
    assert result.returncode == 0, result.stderr
    assert f"resuming {run} from step {last}" in result.stdout
    after = folder_digest(run)
    assert all(after.get(k) == v for k, v in kept.items())
    assert checkpoint_steps(run)[-1] == last + 2


@pytest.mark.parametrize("target", ["the data folder", "inside the data", "the frozen VAE",
                                    "a user's folder", "a bundle"])
def test_a_trainer_never_writes_its_run_into_an_input_or_a_stranger(runs, tmp_path, target):
    data = tmp_path / "data"
    shutil.copytree(runs["data"], data)
    vae = vae_run_copy(runs, tmp_path)
    logdir = {"the data folder": data, "inside the data": data / "run", "the frozen VAE": vae,
              "a user's folder": unrelated_folder(tmp_path), "a bundle": tmp_path / "bundle"}
    logdir = logdir[target]
    if target == "a bundle":
        shutil.copytree(runs["bundle"], logdir)
    before = folder_digest(tmp_path)
    refused(run_main("train_refiner.py", "--data", data, "--vae", vae, "--logdir", logdir,
                     "--steps", "1"), "--logdir")
    assert folder_digest(tmp_path) == before


def write_manifest_field(data, change):
    manifest = json.loads((data / "manifest.json").read_text())
    text = change(manifest)
    (data / "manifest.json").write_text(text if isinstance(text, str) else json.dumps(manifest))


MANIFEST_DAMAGE = {
    "source name escapes": lambda m: m["sources"][0].update(name="../../escaped"),
    "source name absolute": lambda m: m["sources"][0].update(name="/tmp/escaped"),
    "shard file escapes": lambda m: m["shards"][0].update(file="../elsewhere.tfrecord.gz"),
    "id a string": lambda m: m["sources"][0].update(id="0"),
    "duplicate id": lambda m: m["sources"][1].update(id=m["sources"][0]["id"]),
    "count negative": lambda m: m["shards"][0].update(count=-5),
    "kind unknown": lambda m: m["sources"][0].update(kind="sculpture"),
    "width a float": lambda m: m["frame_size"].update(width=32.5),
    "height huge": lambda m: m["frame_size"].update(height=10 ** 9),
    "sources not a list": lambda m: m.update(sources={"a": 1}),
    "shard not an object": lambda m: m["shards"].__setitem__(0, "shard.gz"),
    "source without name": lambda m: m["sources"][0].pop("name"),
    "deep nesting": lambda m: '{"format": 1, "x": ' + "[" * 100000 + "]" * 100000 + "}",
    "not UTF-8": lambda m: b"\xff\xfe{}".decode("latin-1"),
}


@pytest.mark.parametrize("damage", sorted(MANIFEST_DAMAGE))
@pytest.mark.parametrize("script", ["validate_records.py", "train_vae.py"])
def test_a_manifest_is_untrusted_input(runs, tmp_path, damage, script):
    data = tmp_path / "data"
    shutil.copytree(runs["data"], data)
    write_manifest_field(data, MANIFEST_DAMAGE[damage])
    if damage == "not UTF-8":
        (data / "manifest.json").write_bytes(b"\xff\xfe{}")
    before = folder_digest(tmp_path)
    args = {"validate_records.py": ["--data", data],
            "train_vae.py": ["--data", data, "--logdir", tmp_path / "run", *TINY, "--steps",
                             "1"]}[script]
    refused(run_main(script, *args), "manifest.json")
    assert folder_digest(tmp_path) == before
    assert not os.path.exists("/tmp/escaped") or damage != "source name absolute"


@pytest.mark.parametrize("script, args", [
    ("extract_frames.py", ["--out", "{out}", "--video", "{clip}"]),
    ("validate_records.py", ["--data", "{data}"]),
    ("evaluate_embeddings.py", ["--model", "{bundle}", "--data", "{data}"]),
    ("train_vae.py", ["--data", "{data}", "--logdir", "{out}"]),
])
def test_a_negative_seed_is_a_usage_error(runs, tmp_path, script, args):
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    values = {"out": tmp_path / "out", "clip": clip, "data": runs["data"],
              "bundle": runs["bundle"]}
    result = run_main(script, *[a.format(**values) for a in args], "--seed", "-3")
    refused(result, "--seed")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["the paintings", "inside the paintings",
                                    "a user's folder"])
def test_extraction_never_mixes_its_records_into_inputs_or_strangers(media, tmp_path, target):
    paintings = tmp_path / "paintings"
    shutil.copytree(media["paintings"], paintings)
    out = {"the paintings": paintings, "inside the paintings": paintings / "data",
           "a user's folder": unrelated_folder(tmp_path)}[target]
    before = folder_digest(tmp_path)
    refused(run_main("extract_frames.py", "--out", out, "--size", "32x18", "--paintings",
                     paintings), "--out")
    assert folder_digest(tmp_path) == before


def test_extraction_skips_what_is_not_a_regular_file_and_one_clip_is_one_source(media,
                                                                               tmp_path):
    paintings = tmp_path / "paintings"
    shutil.copytree(media["paintings"], paintings)
    os.mkfifo(paintings / "pipe.png")  # a read would wait for a writer for ever
    os.symlink(media["plain"], tmp_path / "same.mp4")
    result = run_script("extract_frames.py", "--out", tmp_path / "data", "--size", "32x18",
                        "--paintings", paintings, "--video", media["plain"], "--video",
                        tmp_path / "same.mp4", timeout=120)
    refused(result, "already a source")
    result = run_script("extract_frames.py", "--out", tmp_path / "data", "--size", "32x18",
                        "--paintings", paintings, timeout=120)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["sources"][0]["count"] >= 2


def test_an_image_that_promises_too_many_pixels_is_skipped(tmp_path):
    """A forged header would make Pillow allocate gigabytes for a picture of nothing."""
    import struct
    import zlib

    from vae.media import frames

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 10000, 8000, 8, 2, 0, 0, 0)  # under Pillow's own bound
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                        + chunk(b"IDAT", zlib.compress(b"\0" * 100)))
    with pytest.raises(ValueError, match="million pixels"):
        frames.load_image(tmp_path / "huge.png")


def test_a_png_whose_data_ends_before_its_rows_is_skipped(media, tmp_path):
    """A header that promises 7900x7900 with four rows of data: Pillow would give 187 MB of
    black; it is a damaged file, skipped with a warning like the others."""
    import struct
    import zlib

    from vae.media import frames

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    paintings = tmp_path / "paintings"
    paintings.mkdir()
    shutil.copy(os.path.join(media["paintings"], "landscape.png"), paintings)
    rows = b"".join(b"\0" + bytes(range(256)) * 93 for _ in range(4))[:4 * (1 + 7900 * 3)]
    (paintings / "cut.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 7900, 7900, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    with pytest.raises(ValueError, match="ends after 4 of its 7900 rows"):
        frames.load_image(paintings / "cut.png")
    result = run_main("extract_frames.py", "--out", tmp_path / "data", "--size", "32x18",
                      "--paintings", paintings, "--holdout", "0")
    assert result.returncode == 0, result.stderr
    assert "skipping unreadable image" in result.stderr and "cut.png" in result.stderr
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["sources"][0]["skipped"] == 1 and manifest["sources"][0]["count"] == 1


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    from vae.media import frames

    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    image.save(tmp_path / "photo.jpg", exif=exif)
    assert frames.load_image(tmp_path / "photo.jpg").shape == (40, 20, 3)


@pytest.mark.parametrize("script", ["extract_frames.py", "export_graph.py"])
def test_sigterm_cleans_up_as_ctrl_c_does(runs, media, tmp_path, script):
    import signal
    import subprocess
    import sys
    import time

    from helpers import REPO

    out = tmp_path / "out"
    args = {"extract_frames.py": ["--out", out, "--size", "64x36", "--frame-step", "1",
                                  "--video", media["letterbox"], "--video", media["pillarbox"],
                                  "--paintings", media["paintings"]],
            "export_graph.py": export_args(runs, out)}[script]
    process = subprocess.Popen([sys.executable, os.path.join(REPO, script), *map(str, args)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env=dict(os.environ, PYTHONPATH=REPO))
    deadline = time.time() + 120
    while not [n for n in os.listdir(tmp_path) if n.startswith(".")] and \
            not [n for n in (os.listdir(out) if out.exists() else []) if n.startswith(".")]:
        assert process.poll() is None and time.time() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "error: stopped by SIGTERM" in stderr and "Traceback" not in stderr
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith(".")]
    if out.exists():
        leftovers += [n for n in os.listdir(out) if n.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize("kind, words", [("folder", "is a folder, not a video file"),
                                         ("fifo", "is a FIFO (named pipe), not a video file"),
                                         ("missing", "video not found")])
def test_an_input_that_is_not_a_video_file_is_named_as_what_it_is(runs, tmp_path, kind, words):
    path = tmp_path / "clip.mp4"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opening it would wait for a writer forever
    result = run_main("process_video.py", path, "-o", tmp_path / "out.mp4", "--model",
                      runs["bundle"])
    refused(result, str(path), words)
    assert not (tmp_path / "out.mp4").exists()


def test_a_run_whose_config_is_cut_short_is_called_damaged_and_kept(runs, tmp_path):
    logdir = tmp_path / "vae"
    shutil.copytree(runs["vae"], logdir)
    config = logdir / "config.json"
    config.write_text(config.read_text()[:40])
    before = folder_digest(logdir)
    result = run_main("train_vae.py", "--data", runs["data"], "--logdir", logdir, *TINY,
                      "--steps", "50")
    refused(result, f"{config} is damaged", "kept as it is")
    assert folder_digest(logdir) == before


def test_a_run_that_cannot_write_its_first_checkpoint_leaves_no_folder(runs, tmp_path):
    """Past a file-size limit the first checkpoint fails: nothing of the run can be resumed,
    so the folder it made is gone; a folder that was there before stays."""
    import subprocess
    import sys

    from helpers import REPO

    def train(logdir):
        return subprocess.run(
            [sys.executable, os.path.join(REPO, "train_vae.py"), "--data", runs["data"],
             "--logdir", str(logdir), *TINY, "--steps", "3", "--checkpoint-every", "1",
             "--preview-every", "1000"],
            capture_output=True, text=True, cwd=tmp_path, timeout=600,
            env=dict(os.environ, PYTHONPATH=REPO), preexec_fn=file_size_limit(20000))

    refused(train(tmp_path / "new-run"), "too large")
    assert not (tmp_path / "new-run").exists()
    empty = tmp_path / "made-by-the-user"
    empty.mkdir()
    refused(train(empty), "too large")
    assert empty.is_dir()


def test_export_through_links_and_paths_that_cannot_be_reached(runs, tmp_path):
    """A dangling link and a path through a missing folder are refused before any work,
    naming what was typed; a link to the bundle is followed: the bundle it names is replaced
    and the link stays, with nothing left beside either."""
    export = ["--vae", runs["vae"], "--refiner", runs["refiner"], "--data", runs["data"]]
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    refused(run_main("export_graph.py", *export, "--out", dangling),
            f"--out {dangling} is a link to {tmp_path / 'nowhere'}, which does not exist")
    through = f"{tmp_path / 'missing'}/../bundle"
    refused(run_main("export_graph.py", *export, "--out", through),
            f"{tmp_path / 'missing'} is not a folder")
    assert sorted(os.listdir(tmp_path)) == ["dangling"]
    real = tmp_path / "disk" / "bundle"
    real.parent.mkdir()
    shutil.copytree(runs["bundle"], real)
    link = tmp_path / "exported"
    link.symlink_to(real)
    result = run_main("export_graph.py", *export, "--out", link)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads((real / "config.json").read_text())["kind"] == "model bundle"
    assert sorted(os.listdir(tmp_path)) == ["dangling", "disk", "exported"]
    assert os.listdir(real.parent) == ["bundle"]


def test_process_video_output_through_a_missing_folder_or_empty(runs, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    refused(run_main("process_video.py", clip, "-o", "", "--model", runs["bundle"]),
            "-o is empty")
    output = f"{tmp_path / 'missing'}/../x.mp4"
    refused(run_main("process_video.py", clip, "-o", output, "--model", runs["bundle"]),
            f"-o {output}", f"{tmp_path / 'missing'} is not a folder")
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]
