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
import os
import sys
import time

import numpy as np

from vae import InputError
from vae.argtypes import positive_int
from vae.cli import parser_for, report_input_errors
from vae.media import storage

SAMPLE_FRAMES = 4  # frames on which the reloaded bundle is checked against the checkpoints


def parse_args(argv):
    parser = parser_for(__doc__)
    parser.add_argument("--vae", default="runs/vae", metavar="DIR",
                        help="VAE run folder (latest checkpoint; default: runs/vae)")
    parser.add_argument("--refiner", default="runs/refiner", metavar="DIR",
                        help="refiner run folder (default: runs/refiner); when it does not "
                             "exist the VAE is exported alone")
    parser.add_argument("--no-refiner", action="store_true",
                        help="export the VAE alone even if a refiner run exists")
    parser.add_argument("--painter", metavar="DIR",
                        help="painter run folder (train_painter.py) to add to the bundle as its "
                             "paint signature (default: none); it must have been trained on a "
                             "bundle of the same VAE checkpoint")
    parser.add_argument("--data", default="data", metavar="DIR",
                        help="data folder whose sources get a mean latent code (default: data)")
    parser.add_argument("--out", default="exported", metavar="DIR",
                        help="bundle folder to write (default: exported); an existing bundle "
                             "there is replaced, any other folder is refused")
    parser.add_argument("--batch-size", type=positive_int, default=50, metavar="N",
                        help="batch size for computing the latent means (default: 50)")
    return parser.parse_args(argv)


def load_runs(args):
    """The VAE run and the refiner run (None when there is none or --no-refiner), checked to
    share the data's frame size."""
    from vae.data import datafolder, records
    from vae.train import runs

    manifest = datafolder.load_manifest(args.data)
    records.verify_shards(args.data, manifest)
    vae = runs.load_vae(args.vae)
    datafolder.check_frame_size(manifest, args.data, vae.config.frame_size, "the VAE")
    if args.no_refiner:
        print("--no-refiner: exporting the VAE alone")
        return manifest, vae, None
    if not storage.exists(args.refiner):
        print(f"no refiner run at {args.refiner}: exporting the VAE alone "
              "(process_video.py will not refine)")
        return manifest, vae, None
    refiner = runs.load_refiner(args.refiner)
    if refiner.config.frame_size != vae.config.frame_size:
        raise InputError("the refiner was trained on {}x{} frames, the VAE on {}x{}".format(
            *refiner.config.frame_size, *vae.config.frame_size))
    return manifest, vae, refiner


def load_painter(args, vae):
    """The painter run of --painter (None without it), checked to have been trained on this
    VAE's output."""
    from vae.train import runs

    if args.painter is None:
        return None
    painter = runs.load_painter(args.painter)
    trained_on = painter.bundle.get("vae_step")
    if trained_on != vae.step or painter.bundle.get("vae_model") != vae.config.to_dict():
        raise InputError(f"the painter {args.painter} was trained on the output of VAE step "
                         f"{trained_on}, but {args.vae} is at step {vae.step}: train the "
                         "painter again on a bundle of this VAE")
    return painter


def export(args):
    from vae.bundle.export import TOLERANCE, source_statistics, verify, write_bundle
    from vae.bundle.format import StyleModel, is_bundle
    from vae.console import format_table, progress_bar
    from vae.data import datafolder, records
    from vae.media import atomic

    started = time.time()
    atomic.check_target(args.out, "--out", folder=True, what="model bundle",
                        inputs=(args.vae, args.refiner, args.data, args.painter),
                        replaceable=is_bundle)
    manifest, vae, trained_refiner = load_runs(args)
    refiner = trained_refiner.net if trained_refiner else None
    trained_painter = load_painter(args, vae)
    painter = trained_painter.net if trained_painter else None
    with progress_bar(total=datafolder.record_count(manifest), unit="frame",
                      desc="latent means") as bar:
        means, style_stats = source_statistics(vae.encoder, vae.config.code_size, args.data,
                                               manifest, args.batch_size, progress=bar.update)
    size = vae.config.frame_size
    config = {
        "frame_size": {"width": size[0], "height": size[1]}, "code_size": vae.config.code_size,
        "vae": vae.info(), "refiner": trained_refiner and trained_refiner.info(),
        "painter": trained_painter and trained_painter.info(),
        "data": os.path.abspath(args.data), "sources": manifest["sources"],
    }
    module = StyleModel(vae.config, vae.encoder, vae.decoder, refiner, painter)
    frozen = write_bundle(args.out, module, config, means, style_stats)

    differences = verify(args.out, vae.encoder, vae.decoder, refiner, frozen,
                         records.load_frames(args.data, manifest, SAMPLE_FRAMES),
                         means.means[0], painter)
    worst = max(differences.values())
    for name, diff in differences.items():
        print(f"check {name:24s} max |difference| = {diff:.2e}")
    if worst > TOLERANCE:
        print(f"error: the exported bundle differs from the checkpoints by {worst:.2e} "
              f"(more than {TOLERANCE:g})", file=sys.stderr)
        return 1
    print(format_table(["source", "kind", "frames", "|mean z|"], [
        (n, k, c, f"{np.linalg.norm(m):.3f}")
        for n, k, c, m in zip(means.names, means.kinds, means.counts, means.means)]))
    print(f"exported {args.out}: VAE step {vae.step}, "
          + (f"refiner step {trained_refiner.step}" if trained_refiner else "no refiner")
          + (f", painter step {trained_painter.step}" if trained_painter else "")
          + f", signatures {', '.join(sorted(module.signatures()))}; "
          f"{time.time() - started:.0f} s")
    return 0


def main(argv=None):
    return report_input_errors(export, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
