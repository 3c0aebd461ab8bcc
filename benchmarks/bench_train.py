#!/usr/bin/env python3
"""Training-step speed of the full-size VAE against this machine's float32 matmul peak.

Prints one JSON object: images/s of a training step (batch 50, 320x180, default filters) in
float32 and in the precision --precision auto picks here (side by side, with the CPU flags
that decided it), the model's training FLOPs per image, the measured float32 matmul peak
(GFLOP/s) and the fraction of that peak each step reaches. The step runs exactly as in
train_vae.py (same step function, same optimizer), on frames already in memory, so the number
is the model's, not the disk's; --pipeline also feeds it through the real tf.data reader over
generated records.

  python -m benchmarks.bench_train [--steps 10] [--xla auto|on|off] [--pipeline]
      [--precisions float32,auto]
"""
import argparse
import json
import tempfile
import time

import numpy as np
import tensorflow as tf

import vae  # noqa: F401
from benchmarks import machine
from vae.argtypes import positive_int
from vae.data import datafolder, records
from vae.models import autoencoder, configs, precision
from vae.train.distribute import use_xla
from vae.train.distributed_step import make_optimizer, make_train_step
from vae.train.recipe import Update


def matmul_peak(n=2048, repeats=10, trials=7):
    """Best float32 GFLOP/s of an n x n matmul, the yardstick for 'fraction of peak'."""
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))

    @tf.function
    def chain():
        c = a
        for _ in range(repeats):
            c = tf.matmul(c, b) * 1e-3
        return c

    chain().numpy()  # warm-up
    best = float("inf")
    for _ in range(trials):
        start = time.perf_counter()
        chain().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 * repeats / best / 1e9


def write_records(folder, count, width, height):
    rng = np.random.default_rng(0)
    manifest = datafolder.new_manifest(width, height)
    with records.ShuffledShardWriter(folder, 2) as writer:
        for i in range(count):
            writer.add(records.encode_example(
                rng.integers(0, 255, (height, width, 3), dtype=np.uint8), 0, f"bench#{i}"))
        manifest["shards"] = writer.finish()
    manifest["sources"] = [{"id": 0, "name": "bench", "kind": "video", "count": count}]
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=positive_int, default=10,
                        help="timed steps (default: 10)")
    parser.add_argument("--batch-size", type=positive_int, default=50)
    parser.add_argument("--xla", choices=("auto", "on", "off"), default="auto",
                        help="as in train_vae.py (default: auto, on only with a GPU)")
    parser.add_argument("--precisions", type=machine.precision_list, default="float32,auto",
                        help="comma-separated precisions to time side by side, as "
                             "--precision takes them (default: float32,auto)")
    parser.add_argument("--pipeline", action="store_true",
                        help="read batches through records.make_dataset from generated shards")
    args = parser.parse_args(argv)

    config = configs.VAEConfig()
    if args.pipeline:
        folder = tempfile.mkdtemp(prefix="bench-train-")
        manifest = write_records(folder, 4 * args.batch_size, config.width, config.height)
        dataset = records.make_dataset(folder, manifest, args.batch_size)
    else:
        images = tf.random.uniform((args.batch_size, config.height, config.width, 3))
        dataset = tf.data.Dataset.from_tensors({"image": images}).repeat()
    xla = use_xla(args.xla)
    flops = autoencoder.training_flops_per_image(config)
    peak = matmul_peak()
    about = machine.describe()
    rows = {}
    for name in args.precisions:
        arithmetic = about["auto_precision"] if name == "auto" else name
        if arithmetic not in rows:
            images_per_second = time_steps(config, arithmetic, dataset, xla, args)
            rows[arithmetic] = {
                "images_per_second": round(images_per_second, 2),
                "achieved_gflop_per_second": round(images_per_second * flops / 1e9, 1),
                "fraction_of_float32_peak": round(images_per_second * flops / 1e9 / peak, 3)}
    auto = rows.get(about["auto_precision"], {}).get("images_per_second")
    print(json.dumps({
        "benchmark": "train_vae step", **about, "frame": f"{config.width}x{config.height}",
        "batch_size": args.batch_size, "xla": xla, "input": "tf.data records" if args.pipeline
        else "in memory", "training_gflop_per_image": round(flops / 1e9, 3),
        "matmul_peak_gflop_per_second": round(peak, 1), "by_precision": rows,
        "auto_to_float32_speed": round(auto / rows["float32"]["images_per_second"], 3)
        if auto and "float32" in rows else None,
    }, indent=2))


def time_steps(config, arithmetic, dataset, xla, args):
    """images/s of train_vae.py's step in one precision."""
    strategy = tf.distribute.get_strategy()
    with precision.policy(arithmetic):
        encoder, decoder = autoencoder.build_encoder(config), autoencoder.build_decoder(config)
        variables = encoder.trainable_variables + decoder.trainable_variables
        optimizer = make_optimizer(2e-4)
        optimizer.build(variables)
        step = make_train_step(
            strategy, [Update(optimizer, 2e-4, variables)],
            lambda batch: autoencoder.loss_terms(encoder, decoder, batch["image"],
                                                 training=True),
            args.batch_size, jit_compile=xla)
        iterator = iter(dataset)
        for _ in range(2):  # compile and warm up
            step(iterator)["loss"].numpy()
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = step(iterator)["loss"]
        loss.numpy()
        return args.steps * args.batch_size / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
