"""Data, runs and bundles on a file system other than the local disk: TensorFlow's in-memory
ram:// file system stands in for gs:// and friends (it needs no network). It lives inside one
process, so the scripts run in-process here (run_main)."""
import json
import os
import uuid

import pytest
import tensorflow as tf

from helpers import REPO, TINY, TINY_REFINER, run_main
from vae import InputError
from vae.media import atomic, storage


def ram_folder():
    return f"ram://vae-test-{uuid.uuid4().hex[:8]}"


def test_atomic_writes_to_another_file_system():
    root = ram_folder()
    path = f"{root}/sub/config.json"
    atomic.write_json(path, {"a": 1})
    assert json.loads(storage.read_text(path)) == {"a": 1}
    with pytest.raises(RuntimeError):
        with atomic.writing(path) as tmp:
            assert storage.is_local(tmp)  # tools such as ffmpeg write it
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("interrupted")
    assert json.loads(storage.read_text(path)) == {"a": 1}  # the old file, untouched
    assert not os.path.exists(tmp)
    ours = lambda folder: storage.exists(f"{folder}/inner/weights.bin")  # noqa: E731
    with atomic.writing_folder(f"{root}/bundle", ours) as tmp:
        os.makedirs(os.path.join(tmp, "inner"))
        with open(os.path.join(tmp, "inner", "weights.bin"), "wb") as f:
            f.write(b"\0\1")
    assert storage.read_bytes(f"{root}/bundle/inner/weights.bin") == b"\0\1"
    with atomic.writing_folder(f"{root}/bundle", ours) as tmp:  # replaces the whole folder
        with open(os.path.join(tmp, "new.txt"), "w") as f:
            f.write("new")
    assert tf.io.gfile.listdir(f"{root}/bundle") == ["new.txt"]
    with pytest.raises(InputError, match="did not write"):  # not ours any more: never replaced
        with atomic.writing_folder(f"{root}/bundle", ours) as tmp:
            pass
    assert tf.io.gfile.listdir(f"{root}/bundle") == ["new.txt"]
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(f"{root}/missing.json")


@pytest.mark.slow
def test_whole_pipeline_on_another_file_system(media, tmp_path):
    root = ram_folder()
    data, vae, refiner, bundle = (f"{root}/{name}" for name in
                                  ("data", "runs/vae", "runs/refiner", "exported"))
    steps = [
        ("extract_frames.py", "--out", data, "--size", "32x18", "--frame-step", "1",
         "--paintings", media["paintings"], "--video", media["letterbox"]),
        ("validate_records.py", "--data", data),
        ("train_vae.py", "--data", data, "--logdir", vae, *TINY, "--steps", "6",
         "--checkpoint-every", "3", "--preview-every", "3"),
        ("train_vae.py", "--data", data, "--logdir", vae, *TINY, "--steps", "8"),  # resumes
        ("train_refiner.py", "--data", data, "--vae", vae, "--logdir", refiner, *TINY_REFINER,
         "--pretrain-steps", "2", "--steps", "3", "--preview-every", "5"),
        ("export_graph.py", "--vae", vae, "--refiner", refiner, "--data", data, "--out", bundle),
        ("process_video.py", media["plain"], "-o", tmp_path / "out.mp4", "--model", bundle),
    ]
    outputs = []
    for script, *args in steps:
        result = run_main(script, *args)
        assert result.returncode == 0, (script, result.stderr)
        outputs.append(result.stdout)
    assert f"resuming {vae} from step 6" in outputs[3]
    for path in (f"{data}/manifest.json", f"{data}/contact-letterbox.png",
                 f"{vae}/config.json", f"{vae}/ckpt-8.index", f"{vae}/preview.png",
                 f"{vae}/progress.mp4", f"{refiner}/ckpt-5.index",
                 f"{bundle}/saved_model/saved_model.pb", f"{bundle}/latent_means.npz",
                 f"{bundle}/frozen/signatures.json"):
        assert tf.io.gfile.exists(path), path
    manifest = json.loads(storage.read_text(f"{data}/manifest.json"))
    assert all(tf.io.gfile.exists(f"{data}/{s['file']}") for s in manifest["shards"])
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert not os.path.exists(os.path.join(REPO, "ram:"))  # nothing went to a local "ram:"
