#!/usr/bin/env python3
"""Train the convolutional VAE on the records of a data folder.

Stop it at any time (Ctrl-C or SIGTERM save a checkpoint); run the same command again to resume.
Watch it with `tensorboard --logdir runs`; <logdir>/preview.png and progress.mp4 show the
reconstructions improving.

Example:
  python train_vae.py --data data --logdir runs/vae --steps 20000
"""
import sys

from cli import add_training_flags, int_list, parser_for, positive_int, run
from vae.gallery import stack_rows
from vae.model import DEFAULT_CODE_SIZE, DEFAULT_FILTERS, DEFAULT_KERNELS

PREVIEW_FRAMES = 6


def parse_args(argv):
    parser = parser_for(__doc__)
    add_training_flags(parser, "runs/vae", 2e-4)
    parser.add_argument("--filters", type=int_list, default=list(DEFAULT_FILTERS),
                        metavar="N,N,...", help="feature maps of the encoder's conv layers; the "
                        f"decoder mirrors them (default: {','.join(map(str, DEFAULT_FILTERS))})")
    parser.add_argument("--kernels", type=int_list, default=list(DEFAULT_KERNELS),
                        metavar="K,K,...", help="kernel sizes of those layers "
                        f"(default: {','.join(map(str, DEFAULT_KERNELS))})")
    parser.add_argument("--code-size", type=positive_int, default=DEFAULT_CODE_SIZE,
                        metavar="N", help=f"latent code size (default: {DEFAULT_CODE_SIZE})")
    args = parser.parse_args(argv)
    if len(args.filters) != len(args.kernels):
        parser.error(f"--filters lists {len(args.filters)} layers but --kernels {len(args.kernels)}")
    return args


def train(args):
    import tensorflow as tf

    from vae import model, records, training

    manifest = records.load_manifest(args.data)
    width, height = records.frame_size(manifest)
    config = model.VAEConfig(width, height, args.filters, args.kernels, args.code_size)
    run_config = {
        "kind": "vae", "model": config.to_dict(),
        "training": {"data": args.data, "batch_size": args.batch_size,
                     "learning_rate": args.learning_rate, "seed": args.seed},
    }
    strategy = training.make_strategy(args.strategy)
    chief = training.is_chief(strategy)
    resumed, dataset = training.start_run(args, strategy, run_config, manifest)

    with strategy.scope():
        encoder, decoder = model.build_encoder(config), model.build_decoder(config)
        optimizer = training.make_optimizer(args.learning_rate, args.mixed_precision)
        optimizer.build(encoder.trainable_variables + decoder.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        checkpoint = tf.train.Checkpoint(step=step, encoder=encoder, decoder=decoder,
                                         optimizer=optimizer)

    preview_frames = records.load_frames(args.data, manifest, PREVIEW_FRAMES)

    def preview():
        z_mean, _ = encoder(preview_frames, training=False)
        reconstruction = decoder(z_mean, training=False).numpy()
        return stack_rows([preview_frames, reconstruction]), "input_vs_reconstruction"

    loop = training.TrainingLoop(args.logdir, strategy, checkpoint,
                                 lambda: model.evaluate(encoder, decoder, preview_frames),
                                 checkpoint_every=args.checkpoint_every,
                                 preview_every=args.preview_every, preview=preview,
                                 learning_rate=args.learning_rate)
    start = loop.restore()
    optimizer.learning_rate = args.learning_rate  # the flag wins over the checkpoint's rate
    num_records = records.record_count(manifest)
    steps = training.total_steps(args.steps, args.epochs, num_records, args.batch_size)
    training.announce(args.logdir, resumed, start, steps, args.data, manifest, args.batch_size,
                      strategy)
    if start == 0:
        loop.write_preview()

    train_step = model.make_train_step(encoder, decoder, optimizer, strategy, args.batch_size,
                                       jit_compile=training.use_xla(args.xla))
    try:
        result = loop.run(train_step, iter(dataset), steps, args.batch_size)
    except training.NonFiniteLoss as err:
        print(training.non_finite_message(err, args.logdir), file=sys.stderr)
        return 1
    return training.report(result, args.logdir, chief, ["loss", "reconstruction", "kl"])


def main(argv=None):
    return run(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
