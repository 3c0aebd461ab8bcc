#!/usr/bin/env python3
"""Export the trained VAE (and refiner, and painter) as a self-contained model bundle for
process_video.py.

Writes a SavedModel with the signatures encode, decode, refine, stylize and paint (with
--painter, a painter trained by train_painter.py on a bundle of this VAE), the same functions
as frozen GraphDef .pb files, config.json, and the mean latent code of every source of the data
(latent_means.npz/.json), and the paintings' colour and texture statistics (style_stats.npz,
what benchmarks/bench_quality.py compares a stylised clip with). The bundle is reloaded and
checked against the checkpoints before the command ends; it appears under --out only when
complete.

Example:
  python export_graph.py --vae runs/vae --refiner runs/refiner --data data --out exported
  python export_graph.py --vae runs/vae --refiner runs/refiner --data data --out exported \
      --painter runs/painter
"""
import sys

from vae.cli import parse_options, report_input_errors
from vae.options import ExportOptions


def export(options):
    from vae.train.to_bundle import export

    return export(options)


def main(argv=None):
    return report_input_errors(export, parse_options(__doc__, ExportOptions(), argv))


if __name__ == "__main__":
    sys.exit(main())
