"""Export of the trained networks as a model bundle (vae/bundle/format.py): the SavedModel,
frozen graphs, the sources' mean codes and the paintings' statistics, written to a scratch
folder and checked against the checkpoints before it takes its name; export() is
export_graph.py's whole work.
"""
import errno
import os
import sys
import time

import numpy as np
import tensorflow as tf

from vae import InputError
from vae.bundle.format import (
    BUNDLE_FORMAT,
    BUNDLE_KIND,
    CONFIG,
    FROZEN,
    MEANS,
    MEANS_JSON,
    SAVED_MODEL,
    STYLE_STATS,
    StyleModel,
    is_bundle,
)
from vae.media import atomic, storage, targets

# The reloaded bundle must reproduce the checkpoints' outputs to within this (images in [0, 1]).
TOLERANCE = 1e-4
# The paintings' colour and texture statistics use at most this many painting frames.
STYLE_FRAMES = 512
SAMPLE_FRAMES = 4  # frames on which the reloaded bundle is checked against the checkpoints


def freeze(concrete_function):
    """A concrete function as a GraphDef with variables folded into constants, and the names
    of its input and output tensors."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(concrete_function)
    inputs = [t.name for t in frozen.inputs if t.dtype != tf.resource]
    outputs = {name: t.name for name, t in zip(
        sorted(concrete_function.structured_outputs), frozen.outputs)}
    return frozen.graph.as_graph_def(), inputs, outputs


def run_frozen(graph_def, inputs, outputs, *values):
    """Run a frozen GraphDef on numpy inputs: {output name: array}."""
    def import_graph():
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(import_graph, [])
    graph = wrapped.graph
    pruned = wrapped.prune([graph.get_tensor_by_name(n) for n in inputs],
                           {k: graph.get_tensor_by_name(v) for k, v in outputs.items()})
    return {k: v.numpy() for k, v in pruned(*[tf.constant(v) for v in values]).items()}


def write_bundle(out_dir, module, config, means, style_stats=None):
    """Write the whole bundle to a scratch folder beside out_dir, then move it into place.

    Returns {signature: (graph_def, inputs, outputs)} of the frozen graphs for verification.
    """
    try:
        return _write_bundle(out_dir, module, config, means, style_stats)
    except tf.errors.OpError as err:  # a full disk or a file-size limit, met by TensorFlow
        reason = err.message.split("; ")[-1].split(" [Op:")[0]
        raise OSError(errno.EIO, f"cannot write the bundle: {reason}", out_dir) from None


def _write_bundle(out_dir, module, config, means, style_stats):
    with atomic.writing_folder(out_dir, is_bundle) as tmp:
        signatures = module.signatures()
        tf.saved_model.save(module, os.path.join(tmp, SAVED_MODEL), signatures=signatures)
        frozen_dir = os.path.join(tmp, FROZEN)
        os.makedirs(frozen_dir)
        frozen, names = {}, {}
        for name, function in signatures.items():
            graph_def, inputs, outputs = freeze(function)
            with open(os.path.join(frozen_dir, f"{name}.pb"), "wb") as f:
                f.write(graph_def.SerializeToString())
            frozen[name] = (graph_def, inputs, outputs)
            names[name] = {"file": f"{name}.pb", "inputs": inputs, "outputs": outputs}
        atomic.write_json(os.path.join(frozen_dir, "signatures.json"), names)
        atomic.write_json(os.path.join(tmp, CONFIG),
                          {"format": BUNDLE_FORMAT, "kind": BUNDLE_KIND, **config})
        np.savez(os.path.join(tmp, MEANS), **means.to_arrays())
        atomic.write_json(os.path.join(tmp, MEANS_JSON), means.summary())
        if style_stats is not None:
            np.savez(os.path.join(tmp, STYLE_STATS), **style_stats)
    return frozen


def source_statistics(encoder, code_size, data_dir, manifest, batch_size, progress=None):
    """One pass over the training records: the mean z_mean of every source (LatentMeans), and
    the colour and texture statistics of up to STYLE_FRAMES painting frames (None without
    paintings). progress(n) is called as n more frames are encoded."""
    from vae.bundle.means import compute_means
    from vae.data.records import make_dataset
    from vae.metrics.quality import patches, style_statistics

    dataset = make_dataset(data_dir, manifest, batch_size, shuffle=False, repeat=False,
                           cache=False)
    painting_ids = [s["id"] for s in manifest["sources"] if s["kind"] == "painting"]
    paintings = []

    def keep_paintings(batches):
        """The batches, unchanged, keeping up to STYLE_FRAMES painting frames on the way."""
        for batch in batches:
            is_painting = np.isin(batch["source"].numpy(), painting_ids)
            if is_painting.any() and len(paintings) < STYLE_FRAMES:
                paintings.extend(batch["image"].numpy()[is_painting])
            yield batch

    def encode(images):
        if progress:
            progress(len(images))
        return encoder(images, training=False)[0]

    means = compute_means(encode, keep_paintings(dataset), manifest["sources"], code_size)
    stats = None
    if paintings:
        kept = np.stack(paintings[:STYLE_FRAMES])
        stats = {**style_statistics(kept), "patches": patches(kept)}
    return means, stats


def verify(folder, module, frozen, images, shift):
    """Max abs difference between the StyleModel of the checkpoints' Keras models and the
    reloaded bundle (the SavedModel and every frozen graph) on a sample batch."""
    from vae.bundle.loader import Bundle

    loaded = Bundle(folder)
    z_mean, z_log_sigma = (t.numpy() for t in module.encoder(images, training=False))
    decoded = module.decoder(z_mean, training=False).numpy()
    expected = {"encode": {"z_mean": z_mean, "z_log_sigma": z_log_sigma},
                "decode": {"images": decoded}}
    inputs = {"encode": (images,), "decode": (z_mean,), "stylize": (images, shift),
              "stylize_and_reconstruct": (images, shift)}
    if module.refiner is not None:
        expected["refine"] = {"images": module.refiner(decoded, training=False).numpy()}
        inputs["refine"] = (decoded,)
    if module.painter is not None:
        from vae.models.painter import paint

        expected["paint"] = {"images": paint(module.painter, images).numpy()}
        inputs["paint"] = (images,)
    both = module.stylized(images, shift, 1.0)
    expected["stylize"] = {"images": module.stylized(images, shift).styled.numpy()}
    expected["stylize_and_reconstruct"] = {"images": both.styled.numpy(),
                                           "reconstructions": both.reconstructed.numpy()}

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
