#!/usr/bin/env python3
"""Export the trained VAE (and refiner) as a self-contained model bundle for process_video.py.

Writes a SavedModel with the signatures encode, decode, refine and stylize, the same functions
as frozen GraphDef .pb files, config.json, and the mean latent code of every source of the data
(latent_means.npz/.json), and the paintings' colour and texture statistics (style_stats.npz,
what benchmarks/bench_quality.py compares a stylised clip with). The bundle is reloaded and checked against the checkpoints before the
command ends; it appears under --out only when complete.

Example:
  python export_graph.py --vae runs/vae --refiner runs/refiner --data data --out exported
"""
import os
import sys
import time

import numpy as np

from vae.cli import parser_for, positive_int, report_input_errors
from vae import InputError
from vae.media import storage

# The reloaded bundle must reproduce the checkpoints' outputs to within this (images in [0, 1]).
TOLERANCE = 1e-4
SAMPLE_FRAMES = 4
# The paintings' colour and texture statistics (for benchmarks/bench_quality.py) use at most
# this many painting frames.
STYLE_FRAMES = 512


def parse_args(argv):
    parser = parser_for(__doc__)
    parser.add_argument("--vae", default="runs/vae", metavar="DIR",
                        help="VAE run folder (latest checkpoint; default: runs/vae)")
    parser.add_argument("--refiner", default="runs/refiner", metavar="DIR",
                        help="refiner run folder (default: runs/refiner); when it does not "
                             "exist the VAE is exported alone")
    parser.add_argument("--no-refiner", action="store_true",
                        help="export the VAE alone even if a refiner run exists")
    parser.add_argument("--data", default="data", metavar="DIR",
                        help="data folder whose sources get a mean latent code (default: data)")
    parser.add_argument("--out", default="exported", metavar="DIR",
                        help="bundle folder to write (default: exported); replaced if present")
    parser.add_argument("--batch-size", type=positive_int, default=50, metavar="N",
                        help="batch size for computing the latent means (default: 50)")
    return parser.parse_args(argv)


def export(args):
    from tqdm import tqdm

    from vae.bundle.export import StyleModel, write_bundle
    from vae.data import datafolder
    from vae.bundle import latent
    from vae.metrics import quality
    from vae.data import records
    from vae.train import runs

    started = time.time()
    manifest = datafolder.load_manifest(args.data)
    vae = runs.load_vae(args.vae)
    encoder, decoder, size = vae.encoder, vae.decoder, vae.config.frame_size
    datafolder.check_frame_size(manifest, args.data, size, "the VAE")
    trained_refiner, refiner = None, None
    if args.no_refiner:
        print("--no-refiner: exporting the VAE alone")
    elif not storage.exists(args.refiner):
        print(f"no refiner run at {args.refiner}: exporting the VAE alone "
              "(process_video.py will not refine)")
    else:
        trained_refiner = runs.load_refiner(args.refiner)
        refiner = trained_refiner.net
        if trained_refiner.config.frame_size != size:
            raise InputError("the refiner was trained on {}x{} frames, the VAE on {}x{}".format(
                *trained_refiner.config.frame_size, *size))
    code_size = vae.config.code_size

    total = datafolder.record_count(manifest)
    dataset = records.make_dataset(args.data, manifest, args.batch_size, shuffle=False,
                                   repeat=False, cache=False)
    painting_ids = [s["id"] for s in manifest["sources"] if s["kind"] == "painting"]
    paintings = []

    def keep_paintings(batches):
        """The batches, unchanged, keeping up to STYLE_FRAMES painting frames on the way."""
        for batch in batches:
            is_painting = np.isin(batch["source"].numpy(), painting_ids)
            if is_painting.any() and len(paintings) < STYLE_FRAMES:
                paintings.extend(batch["image"].numpy()[is_painting])
            yield batch

    with tqdm(total=total, unit="frame", desc="latent means", dynamic_ncols=True) as bar:
        def encode(images):
            bar.update(len(images))
            return encoder(images, training=False)[0]
        means = latent.compute_means(encode, keep_paintings(dataset), manifest["sources"],
                                     code_size)
    style_stats = None
    if paintings:
        style_stats = quality.style_statistics(np.stack(paintings[:STYLE_FRAMES]))

    config = {
        "frame_size": {"width": size[0], "height": size[1]}, "code_size": code_size,
        "vae": vae.info(), "refiner": trained_refiner and trained_refiner.info(),
        "data": os.path.abspath(args.data),
        "sources": manifest["sources"],
    }
    module = StyleModel(vae.config, encoder, decoder, refiner)
    frozen = write_bundle(args.out, module, config, means, style_stats)

    differences = verify(args.out, encoder, decoder, refiner, frozen,
                         records.load_frames(args.data, manifest, SAMPLE_FRAMES),
                         means.means[0])
    worst = max(differences.values())
    for name, diff in differences.items():
        print(f"check {name:24s} max |difference| = {diff:.2e}")
    if worst > TOLERANCE:
        print(f"error: the exported bundle differs from the checkpoints by {worst:.2e} "
              f"(more than {TOLERANCE:g})", file=sys.stderr)
        return 1

    from vae.console import format_table
    print(format_table(["source", "kind", "frames", "|mean z|"], [
        (n, k, c, f"{np.linalg.norm(m):.3f}")
        for n, k, c, m in zip(means.names, means.kinds, means.counts, means.means)]))
    print(f"exported {args.out}: VAE step {vae.step}, "
          + (f"refiner step {trained_refiner.step}" if trained_refiner else "no refiner")
          + f", signatures {', '.join(sorted(module.signatures()))}; "
          f"{time.time() - started:.0f} s")
    return 0


def verify(folder, encoder, decoder, refiner, frozen, images, shift):
    """Max abs difference between the checkpoints' Keras models and the reloaded bundle (the
    SavedModel and every frozen graph) on a sample batch."""
    import tensorflow as tf

    from vae.bundle.loader import Bundle
    from vae.bundle.export import run_frozen

    loaded = Bundle(folder)
    z_mean, z_log_sigma = (t.numpy() for t in encoder(images, training=False))
    decoded = decoder(z_mean, training=False).numpy()
    expected = {"encode": {"z_mean": z_mean, "z_log_sigma": z_log_sigma},
                "decode": {"images": decoded}}
    inputs = {"encode": (images,), "decode": (z_mean,), "stylize": (images, shift),
              "stylize_and_reconstruct": (images, shift)}
    stylized = decoder(z_mean + shift, training=False)
    reconstructed = decoded
    if refiner is not None:
        expected["refine"] = {"images": refiner(decoded, training=False).numpy()}
        inputs["refine"] = (decoded,)
        stylized = refiner(stylized, training=False)
        reconstructed = expected["refine"]["images"]
    expected["stylize"] = {"images": stylized.numpy()}
    expected["stylize_and_reconstruct"] = {"images": stylized.numpy(),
                                           "reconstructions": np.asarray(reconstructed)}

    differences = {}
    for name, outputs in expected.items():
        saved = getattr(loaded.model, name)(*[tf.constant(v) for v in inputs[name]])
        graph_def, graph_inputs, graph_outputs = frozen[name]
        graph = run_frozen(graph_def, graph_inputs, graph_outputs, *inputs[name])
        differences[f"saved_model {name}"] = max(
            float(np.abs(saved[k].numpy() - v).max()) for k, v in outputs.items())
        differences[f"frozen {name}"] = max(
            float(np.abs(graph[k] - v).max()) for k, v in outputs.items())
    return differences


def main(argv=None):
    return report_input_errors(export, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
