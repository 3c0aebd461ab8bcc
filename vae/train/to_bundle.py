"""export_graph.py's work: a training's run folders (the VAE, the refiner, the painter) loaded,
checked to belong together, and exported as a model bundle (vae/bundle/export.py), reloaded
and checked against the checkpoints."""
import os
import sys
import time

import numpy as np
import tensorflow as tf

from vae import InputError
from vae.bundle.export import SAMPLE_FRAMES, TOLERANCE, source_statistics, verify, write_bundle
from vae.bundle.format import StyleModel, is_bundle
from vae.data.records import damaged_data
from vae.media import storage, targets


def load_runs(args):
    """The VAE run and the refiner run (None when there is none or --no-refiner), checked to
    share the data's frame size."""
    from vae.data import datafolder, records
    from vae.train import run_folder

    manifest = datafolder.load_manifest(args.data)
    records.verify_shards(args.data, manifest)
    vae = run_folder.load_vae(args.vae)
    datafolder.check_frame_size(manifest, args.data, vae.config.frame_size, "the VAE")
    if args.no_refiner:
        print("--no-refiner: exporting the VAE alone")
        return manifest, vae, None
    if not storage.exists(args.refiner):
        print(f"no refiner run at {args.refiner}: exporting the VAE alone "
              "(process_video.py will not refine)")
        return manifest, vae, None
    refiner = run_folder.load_refiner(args.refiner)
    if refiner.config.frame_size != vae.config.frame_size:
        raise InputError("the refiner was trained on {}x{} frames, the VAE on {}x{}".format(
            *refiner.config.frame_size, *vae.config.frame_size))
    return manifest, vae, refiner


def load_painter(args, vae):
    """The painter run of --painter (None without it), checked to have been trained on this
    VAE's output."""
    from vae.train import run_folder

    if args.painter is None:
        return None
    painter = run_folder.load_painter(args.painter)
    trained_on = painter.bundle.get("vae_step")
    if trained_on != vae.step or painter.bundle.get("vae_model") != vae.config.to_dict():
        raise InputError(f"the painter {args.painter} was trained on the output of VAE step "
                         f"{trained_on}, but {args.vae} is at step {vae.step}: train the "
                         "painter again on a bundle of this VAE")
    return painter


def brush_styles(manifest):
    """The brush's styles of the data's painting sources, read from their files where they
    still are (vae/models/brush.py); None, said, when none can be read: such a bundle paints
    only with a trained painter."""
    from vae.models.brush import BrushStyles

    folders = {source["name"]: source["path"] for source in manifest["sources"]
               if source["kind"] == "painting"}
    missing = [path for path in folders.values() if not os.path.isdir(path)]
    styles = BrushStyles.of_folders({name: path for name, path in folders.items()
                                     if path not in missing})
    for path in missing:
        print(f"note: the paintings at {path} are gone: the brush has no style from them")
    if styles is None:
        print("note: no painting files to read: the bundle has no brush (process_video.py "
              "paints only with a trained painter)")
    else:
        print(f"brush styles: {', '.join(styles.names)}")
    return styles


def export(args):
    """export_graph.py: the runs of `args` (vae.options.ExportOptions) exported as a bundle,
    reloaded and checked against the checkpoints; prints the summary; -> the exit code."""
    from vae.console import format_table, progress_bar
    from vae.data import datafolder, records

    started = time.time()
    targets.check_target(args.out, "--out", folder=True, what="model bundle",
                        inputs=(args.vae, args.refiner, args.data, args.painter),
                        replaceable=is_bundle)
    manifest, vae, trained_refiner = load_runs(args)
    refiner = trained_refiner.net if trained_refiner else None
    trained_painter = load_painter(args, vae)
    painter = trained_painter.net if trained_painter else None
    try:
        with progress_bar(total=datafolder.record_count(manifest), unit="frame",
                          desc="latent means") as bar:
            means, style_stats = source_statistics(vae.encoder, vae.config.code_size,
                                                   args.data, manifest, args.batch_size,
                                                   progress=bar.update)
    except tf.errors.DataLossError as err:  # a record damaged before its checksum was taken
        raise damaged_data(args.data, manifest, err) from None
    size = vae.config.frame_size
    config = {
        "frame_size": {"width": size[0], "height": size[1]}, "code_size": vae.config.code_size,
        "vae": vae.info(), "refiner": trained_refiner and trained_refiner.info(),
        "painter": trained_painter and trained_painter.info(),
        "data": os.path.abspath(args.data), "sources": manifest["sources"],
    }
    module = StyleModel(vae.config, vae.encoder, vae.decoder, refiner, painter)
    styles = brush_styles(manifest)
    frozen = write_bundle(args.out, module, config, means, style_stats,
                          styles and styles.to_arrays())

    differences = verify(args.out, module, frozen,
                         records.load_frames(args.data, manifest, SAMPLE_FRAMES), means.means[0])
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
