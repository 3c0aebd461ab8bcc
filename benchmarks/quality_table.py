#!/usr/bin/env python3
"""Print bench_quality.py's JSON (a file, or stdin) as a table: one row per setting.

  python -m benchmarks.quality_table demo_output/quality.json
"""
import contextlib
import json
import sys

COLUMNS = ("method", "alpha", "beta", "detail", "smoothing", "paint", "painter",
           "edge_correlation",
           "ssim_luma", "ghost_edges",
           "colour_moments_gap_closed", "colour_histogram_gap_closed", "texture_gap_closed",
           "texture_second_gap_closed", "texture_gap_closed_as_seen",
           "texture_second_gap_closed_as_seen", "patch_distance_ratio", "frame_change_ratio",
           "warping_error_ratio", "sharpness_ratio", "painting_probability", "frames_per_second")


def cell(value):
    if value is None:
        return "-"
    return value if isinstance(value, str) else f"{value:g}"


def read_report(argv):
    """bench_quality.py's JSON from the file argv names, or stdin; SystemExit 2 with one
    `error:` line when it is missing or not such a report."""
    where = argv[0] if argv else "standard input"
    try:
        with open(argv[0]) if argv else contextlib.nullcontext(sys.stdin) as source:
            report = json.load(source)
        report["settings"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        detail = err.strerror if isinstance(err, OSError) else "not bench_quality.py's JSON"
        print(f"error: {where}: {detail}", file=sys.stderr)
        raise SystemExit(2) from None
    return report


def main(argv):
    report = read_report(argv)
    rows = report["settings"]
    columns = [c for c in COLUMNS if any(c in row for row in rows)]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        print("| " + " | ".join(cell(row.get(c)) for c in columns) + " |")
    if report.get("probe"):
        print("\npainting probe, sanity: " + ", ".join(
            f"{name.replace('_', ' ')} {value:g}" for name, value in report["probe"].items()))


if __name__ == "__main__":
    main(sys.argv[1:])
