#!/usr/bin/env python3
"""Latent-space experiments on a model bundle, as pictures and numbers.

- reconstruction: input / VAE / refined for frames of every source; PSNR and SSIM per source,
  on training frames and on the held-out frames (extract_frames.py --holdout), with the
  sharpness (variance of the Laplacian) of real, VAE and refined held-out frames
- salting: Gaussian noise added to the codes ("slightly new images")
- swapping and shuffling code dimensions between frames
- the style shift z - alpha * mean_source + beta * mean_paintings on every video source, as a
  grid over alpha and beta (plus a row with detail transfer, --detail), and how far it moves
  the codes toward the paintings' mean
- latent health: KL per dimension, active units, distances between source means
Writes PNG grids, report.json and report.md (which shows the PNGs) to a new folder --out,
which appears when complete; an earlier report there is replaced, any other folder refused.

Example:
  python evaluate_embeddings.py --model exported --data data --out exported-evaluation
"""
import sys

from vae.cli import parse_options, report_input_errors
from vae.options import EvaluationOptions


def evaluate(options):
    from vae.metrics.evaluation import evaluate

    return evaluate(options)


def main(argv=None):
    return report_input_errors(evaluate, parse_options(__doc__, EvaluationOptions(), argv))


if __name__ == "__main__":
    sys.exit(main())
