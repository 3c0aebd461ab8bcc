"""Export of the trained networks as a model bundle (vae/bundle/format.py): the SavedModel,
frozen graphs, the sources' mean codes and the paintings' statistics, written to a scratch
folder and checked against the checkpoints before it takes its name; export() is
export_graph.py's whole work.
"""
import errno
import os

import numpy as np
import tensorflow as tf

from vae.bundle.format import (
    BRUSH_STYLES,
    BUNDLE_FORMAT,
    BUNDLE_KIND,
    CONFIG,
    FROZEN,
    MEANS,
    MEANS_JSON,
    SAVED_MODEL,
    STYLE_STATS,
    is_bundle,
)
from vae.media import atomic

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


def write_bundle(out_dir, module, config, means, style_stats=None, brush_styles=None):
    """Write the whole bundle to a scratch folder beside out_dir, then move it into place.
    brush_styles: {"names", "vectors", "collection"} arrays (BrushStyles.to_arrays), or None.

    Returns {signature: (graph_def, inputs, outputs)} of the frozen graphs for verification.
    """
    try:
        return _write_bundle(out_dir, module, config, means, style_stats, brush_styles)
    except tf.errors.OpError as err:  # a full disk or a file-size limit, met by TensorFlow
        reason = err.message.split("; ")[-1].split(" [Op:")[0]
        raise OSError(errno.EIO, f"cannot write the bundle: {reason}", out_dir) from None


def _write_bundle(out_dir, module, config, means, style_stats, brush_styles):
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
        if brush_styles is not None:
            np.savez(os.path.join(tmp, BRUSH_STYLES), **brush_styles)
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
