"""export_graph.py and evaluate_embeddings.py on tiny trained runs, checked from fresh processes."""
import json
import os
import shutil
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import REPO, make_clip, read_records, run_main, run_script

CHECK_IN_FRESH_PROCESS = r"""
import json, os, sys
import numpy as np, tensorflow as tf
bundle = sys.argv[1]
model = tf.saved_model.load(os.path.join(bundle, "saved_model"))
print("signatures", sorted(model.signatures))
images = tf.random.uniform((3, 18, 32, 3), seed=1)
codes = model.encode(images)
out = {"z_mean": codes["z_mean"].shape.as_list()}
out["decode"] = model.decode(codes["z_mean"])["images"].shape.as_list()
out["refine"] = model.refine(images)["images"].shape.as_list()
styl = model.stylize(images, tf.zeros(16))["images"]
plain = model.refine(model.decode(codes["z_mean"])["images"])["images"]
out["stylize_zero_shift_diff"] = float(tf.reduce_max(tf.abs(styl - plain)))
with open(os.path.join(bundle, "frozen", "signatures.json")) as f:
    names = json.load(f)
for name, entry in names.items():
    graph_def = tf.compat.v1.GraphDef()
    with open(os.path.join(bundle, "frozen", entry["file"]), "rb") as f:
        graph_def.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    for tensor in entry["inputs"] + list(entry["outputs"].values()):
        graph.get_tensor_by_name(tensor)
    assert not [n for n in graph_def.node if n.op in ("VarHandleOp", "ReadVariableOp")], name
    out.setdefault("frozen", []).append(name)
print(json.dumps(out))
"""


def test_bundle_reloads_in_a_fresh_process(runs):
    result = subprocess.run([sys.executable, "-c", CHECK_IN_FRESH_PROCESS, runs["bundle"]],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["z_mean"] == [3, 16]
    assert out["decode"] == out["refine"] == [3, 18, 32, 3]
    assert out["stylize_zero_shift_diff"] < 1e-5
    assert sorted(out["frozen"]) == ["decode", "encode", "refine", "stylize",
                                     "stylize_and_reconstruct"]
    assert "saved_model stylize" in runs["export"].stdout
    assert "max |difference|" in runs["export"].stdout


def test_latent_means_one_row_per_source_and_correct(runs):
    import tensorflow as tf

    with np.load(os.path.join(runs["bundle"], "latent_means.npz")) as means:
        names, counts, rows = list(means["names"]), list(means["counts"]), means["means"]
    manifest, recs = read_records(runs["data"])
    assert names == [s["name"] for s in manifest["sources"]]
    assert counts == [s["count"] for s in manifest["sources"]]
    assert rows.shape == (len(manifest["sources"]), 16)
    model = tf.saved_model.load(os.path.join(runs["bundle"], "saved_model"))
    letterbox = [r[3] for r in recs if r[1] == names.index("letterbox")]
    z = model.encode(tf.constant(np.stack(letterbox), tf.float32) / 255.0)["z_mean"].numpy()
    np.testing.assert_allclose(rows[names.index("letterbox")], z.mean(0), atol=1e-4)
    summary = json.loads(open(os.path.join(runs["bundle"], "latent_means.json")).read())
    assert [s["name"] for s in summary["sources"]] == names
    config = json.loads(open(os.path.join(runs["bundle"], "config.json")).read())
    assert config["frame_size"] == {"width": 32, "height": 18} and config["code_size"] == 16
    assert config["vae"]["step"] == 40 and config["refiner"]["step"] == 10


def test_export_without_refiner_and_atomic_replace(runs, tmp_path):
    out = tmp_path / "bundle"
    shutil.copytree(runs["bundle"], out)  # an earlier export: replaced whole
    (out / "stale.txt").write_text("from the earlier export")
    result = run_script("export_graph.py", "--vae", runs["vae"], "--refiner", tmp_path / "none",
                        "--data", runs["data"], "--out", out)
    assert result.returncode == 0, result.stderr
    assert "exporting the VAE alone" in result.stdout
    assert not (out / "stale.txt").exists()
    signatures = json.loads((out / "frozen" / "signatures.json").read_text())
    assert sorted(signatures) == ["decode", "encode", "stylize", "stylize_and_reconstruct"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no scratch left


def test_export_bad_input(runs, tmp_path):
    for args in (["--vae", tmp_path / "missing"], ["--vae", runs["refiner"]],
                 ["--data", tmp_path / "nodata"]):
        result = run_main("export_graph.py", "--out", tmp_path / "out", *args)
        assert result.returncode == 2, result.stderr
        assert "error:" in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()


def test_evaluation_report(runs, tmp_path):
    out = tmp_path / "evaluation"
    result = run_script("evaluate_embeddings.py", "--model", runs["bundle"], "--data",
                        runs["data"], "--out", out, "--samples", "8")
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert set(report["sources"]) == {"paintings", "letterbox", "pillarbox"}
    for metrics in report["sources"].values():
        for key in ("psnr_vae", "psnr_refined", "ssim_vae", "ssim_refined"):
            assert np.isfinite(metrics[key])
    assert set(report["style_shift"]["sources"]) == {"letterbox", "pillarbox"}
    # latent health is computed from the sampled frames' codes and the bundle's means
    from vae.bundle.loader import Bundle
    from vae.data import datafolder, records

    bundle = Bundle(runs["bundle"])
    manifest = datafolder.load_manifest(runs["data"])
    sampled = records.sample_by_source(runs["data"], manifest, 8)
    codes = np.concatenate([bundle.encode(f)["z_mean"].numpy() for f in sampled.values()])
    health = report["latent_health"]
    varying = int(np.sum(np.var(codes, axis=0) > 0.01))  # active: variance above 0.01
    assert health["active_units"] == varying
    distance = np.linalg.norm(bundle.means.mean("letterbox") - bundle.means.mean("pillarbox"))
    assert distance > 0
    assert health["source_mean_distances"]["letterbox"]["pillarbox"] == pytest.approx(
        distance, abs=1e-4)
    markdown = (out / "report.md").read_text()
    for name in report["images"].values():
        assert (out / name).exists() and f"({name})" in markdown
    assert "PSNR" in result.stdout
    # the held-out frames of conftest's --holdout 0.2: four per clip, one of the three painting
    # files (round(0.2 x 3); the unreadable one is skipped, so this is seed-dependent but fixed)
    holdout = report["holdout"]
    manifest = json.loads(open(os.path.join(runs["data"], "manifest.json")).read())
    assert {n: holdout[n]["frames"] for n in holdout} == {
        s["name"]: s["holdout_count"] for s in manifest["sources"] if s["holdout_count"]}
    assert holdout["letterbox"]["frames"] == holdout["pillarbox"]["frames"] == 4
    for metrics in holdout.values():
        assert metrics["sharpness_real"] > metrics["sharpness_vae"] > 0
        assert 5 < metrics["psnr_vae"] < 60 and -1 <= metrics["ssim_refined"] <= 1
    assert "## Held-out frames" in markdown and "holdout-letterbox.png" in markdown
    # the style-shift grid: the input row, four alphas, and the detail row, four betas each
    grid = iio.imread(out / report["images"]["style-shift-letterbox"])
    assert grid.shape == (6 * 20 + 2, 4 * 34 + 2, 3)


@pytest.mark.slow
def test_evaluation_of_a_folder_without_held_out_frames(runs, tmp_path):
    old = tmp_path / "old-data"
    shutil.copytree(runs["data"], old)
    manifest = json.loads((old / "manifest.json").read_text())
    for key in ("holdout_shards", "holdout"):  # a folder made before --holdout existed
        del manifest[key]
    for source in manifest["sources"]:
        for key in ("holdout_count", "guard_dropped", "holdout_seconds"):
            del source[key]
    (old / "manifest.json").write_text(json.dumps(manifest))
    result = run_script("evaluate_embeddings.py", "--model", runs["bundle"], "--data", old,
                        "--out", tmp_path / "evaluation", "--samples", "4")
    assert result.returncode == 0, result.stderr
    assert "has no held-out frames" in result.stdout
    report = json.loads((tmp_path / "evaluation" / "report.json").read_text())
    assert report["holdout"] == {} and set(report["sources"]) == {"paintings", "letterbox",
                                                                  "pillarbox"}
    assert "has no held-out frames" in (tmp_path / "evaluation" / "report.md").read_text()
    assert run_script("validate_records.py", "--data", old).returncode == 0


def test_bundle_style_statistics_are_the_paintings(runs):
    from vae.bundle.loader import Bundle
    from vae.metrics import quality

    manifest, recs = read_records(runs["data"])
    painting = [s["id"] for s in manifest["sources"] if s["kind"] == "painting"][0]
    paintings = np.stack([r[3] for r in recs if r[1] == painting]) / np.float32(255)
    stats = Bundle(runs["bundle"]).style_stats()
    expected = {**quality.style_statistics(paintings), "patches": quality.patches(paintings)}
    assert set(stats) == set(expected)
    for name in stats:
        np.testing.assert_allclose(stats[name], expected[name], rtol=1e-4, atol=1e-6)


def test_evaluation_bad_input(tmp_path):
    result = run_script("evaluate_embeddings.py", "--model", tmp_path / "none")
    assert result.returncode == 2 and "export_graph.py" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("script", ["export_graph.py", "evaluate_embeddings.py"])
def test_help(script):
    assert run_main(script, "--help").returncode == 0


@pytest.mark.parametrize("format_value", [None, 0, 2, "1"])
def test_folders_of_another_format_are_refused(runs, tmp_path, format_value):
    """A bundle, a run folder or a data folder whose JSON names another format (or none) is
    refused with what to do, and nothing is written."""
    def copy_with_format(source, name, filename):
        folder = tmp_path / name
        shutil.copytree(source, folder)
        content = json.loads((folder / filename).read_text())
        assert content.pop("format") == 1  # what the scripts write today
        if format_value is not None:
            content["format"] = format_value
        (folder / filename).write_text(json.dumps(content))
        return str(folder)

    bundle = copy_with_format(runs["bundle"], "bundle", "config.json")
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    result = run_main("process_video.py", clip, "--model", bundle, "-o", tmp_path / "o.mp4")
    assert result.returncode == 2
    assert "re-export it with export_graph.py" in result.stderr, result.stderr
    vae = copy_with_format(runs["vae"], "vae", "config.json")
    result = run_main("export_graph.py", "--vae", vae, "--refiner", runs["refiner"], "--data",
                      runs["data"], "--out", tmp_path / "out")
    assert result.returncode == 2 and "train again into a new --logdir" in result.stderr
    data = copy_with_format(runs["data"], "data", "manifest.json")
    result = run_main("validate_records.py", "--data", data)
    assert result.returncode != 0 and "extract the frames again" in result.stderr, result.stderr
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "out").exists()
