"""The benchmarks are run by users too: a bad flag, folder or setting is one `error:` line and
exit 2, found before any work (no clip is stylised, no model built), as with the scripts."""
import pytest

from helpers import make_clip, run_main


def refused(result, *words):
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr
    assert all(word.lower() in errors[0].lower() for word in words), result.stderr
    assert "stylizing" not in result.stderr and result.stdout == ""  # no work began


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-inputs")
    broken, empty = root / "broken", root / "empty"
    broken.mkdir()
    empty.mkdir()
    (broken / "painting.png").write_bytes(b"not a picture")
    return {"missing": str(root / "missing"), "broken": str(broken), "empty": str(empty),
            "clip": make_clip(root / "clip.mp4", 64, 36, seconds=1)}


@pytest.mark.parametrize("args, words", [
    (["--peer-paintings", "{missing}"], ["--peer-paintings", "no such folder"]),
    (["--peer-paintings", "{broken}"], ["holds no readable painting"]),
    (["--paintings", "{empty}"], ["--paintings", "holds no readable painting"]),
    (["--probe-data", "{missing}"], ["no manifest.json"]),
    (["--probe-data", "{empty}"], ["no manifest.json"]),
    (["--probe-data", "{data}", "--probe-paintings", "{empty}"],
     ["--probe-paintings", "holds no readable painting"]),
    (["--probe-data", "{data}", "--probe-pictures", "{broken}"],
     ["--probe-pictures", "holds no readable picture"]),
    (["--setting", "alpha=nan"], ["alpha must be a number"]),
    (["--setting", "beta=x"], ["beta must be a number"]),
    (["--duration", "-1"], ["--duration"]),
    (["--analysis-width", "0"], ["--analysis-width"]),
    (["--paint-scale", "2"], ["--paint-scale must be in (0, 1]"]),
    (["--setting", "painter=trained"], ["needs a bundle with a painter"]),
    (["--setting", "painter=oils"], ["painter must be one of auto, brush, trained"]),
    (["--still", "{empty}"], ["--still", "is a folder"]),
])
def test_bench_quality_refuses_bad_input_before_any_work(runs, places, args, words):
    values = {**places, "data": runs["data"]}
    result = run_main("benchmarks.bench_quality.py", places["clip"], "--model", runs["bundle"],
                      *[a.format(**values) for a in args])
    refused(result, *words)


def test_bench_quality_names_a_clip_that_is_not_a_video(runs, places):
    refused(run_main("benchmarks.bench_quality.py", places["empty"], "--model", runs["bundle"]),
            "is a folder, not a video file")
    refused(run_main("benchmarks.bench_quality.py", places["clip"], "--model", places["empty"]),
            "not a complete model bundle")


@pytest.mark.parametrize("script, args, words", [
    ("bench_process", ["--precisions", "float99"], ["--precisions"]),
    ("bench_process", ["--paint-scales", "0.5,2"], ["--paint-scales"]),
    ("bench_process", ["--seconds", "0"], ["--seconds"]),
    ("bench_process", ["--preset", "warp"], ["--preset"]),
    ("bench_process", ["--detail", "nan"], ["--detail"]),
    ("bench_train", ["--steps", "0"], ["--steps"]),
    ("bench_train", ["--batch-size", "-5"], ["--batch-size"]),
    ("bench_train", ["--precisions", ""], ["--precisions"]),
    ("bench_live", ["--seconds", "inf"], ["--seconds"]),
    ("bench_live", ["--changes", "0"], ["--changes"]),
])
def test_the_other_benchmarks_refuse_bad_flags(script, args, words):
    refused(run_main(f"benchmarks.{script}.py", *args), *words)


def test_the_quality_table_names_a_missing_or_foreign_report(tmp_path):
    refused(run_main("benchmarks.quality_table.py", tmp_path / "missing.json"),
            "missing.json", "no such file")
    (tmp_path / "other.json").write_text('{"kind": "something else"}')
    refused(run_main("benchmarks.quality_table.py", tmp_path / "other.json"),
            "not bench_quality.py's JSON")
