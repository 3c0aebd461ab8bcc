#!/usr/bin/env python3
"""Train the residual refiner on the output of a trained, frozen VAE.

The refiner learns to turn the VAE's blurry reconstructions back toward the real frames. Its
objective (--objective) is l1-ssim by default: L1 and SSIM toward the real frame, which cannot
reward noise; seed is the original loss (toward the real frame, away from the VAE's output),
made per pixel. The VAE run folder is only read. Stop and resume exactly like train_vae.py.

Example:
  python train_refiner.py --vae runs/vae --logdir runs/refiner --steps 20000
"""
import sys

from cli import (add_training_flags, int_list, parser_for, positive_float, positive_int, run,
                 unit_float)
from vae.gallery import stack_rows
from vae.refiner import DEFAULT_FILTERS, DEFAULT_KERNEL, DEFAULT_RESIDUAL_FILTERS
from vae.refiner import OBJECTIVES as refiner_objectives

PREVIEW_FRAMES = 6


def parse_args(argv):
    parser = parser_for(__doc__)
    add_training_flags(parser, "runs/refiner", 1e-4, steps=20000)
    parser.add_argument("--vae", default="runs/vae", metavar="DIR",
                        help="the VAE's run folder (its latest checkpoint is used; default: "
                             "runs/vae)")
    parser.add_argument("--pretrain-steps", type=int, default=200, metavar="N",
                        help="identity pre-training steps before the main phase: real frames "
                             "in, the same frames out (default: 200; 0 skips it)")
    parser.add_argument("--pretrain-learning-rate", type=positive_float, default=1e-3,
                        metavar="LR", help="learning rate of the pre-training (default: 0.001)")
    parser.add_argument("--objective", choices=refiner_objectives, default="l1-ssim",
                        help="l1-ssim (default): (1 - W) * L1 + W * (1 - SSIM) toward the real "
                             "frame, W = --ssim-weight; seed: --input-weight * MSE(refined, "
                             "input) + --vae-weight * s / MSE(refined, VAE output), the original "
                             "loss per pixel (s makes it equal to 1e4 / SSE at 320x180)")
    parser.add_argument("--ssim-weight", type=unit_float, default=0.84, metavar="W",
                        help="l1-ssim: weight of the SSIM term, in [0, 1] (default: 0.84)")
    parser.add_argument("--input-weight", type=positive_float, default=0.6, metavar="W",
                        help="seed: weight of MSE(refined, input) (default: 0.6)")
    parser.add_argument("--vae-weight", type=positive_float, default=0.4, metavar="W",
                        help="seed: weight of the away-from-the-VAE-output term (default: 0.4)")
    parser.add_argument("--filters", type=positive_int, default=DEFAULT_FILTERS, metavar="N",
                        help=f"feature maps of the full- and half-size convs "
                             f"(default: {DEFAULT_FILTERS})")
    parser.add_argument("--residual-filters", type=int_list,
                        default=list(DEFAULT_RESIDUAL_FILTERS), metavar="N,N,...",
                        help="feature maps of the residual convs at half size (default: "
                             f"{','.join(map(str, DEFAULT_RESIDUAL_FILTERS))})")
    parser.add_argument("--kernel", type=positive_int, default=DEFAULT_KERNEL, metavar="K",
                        help=f"kernel size of every conv (default: {DEFAULT_KERNEL})")
    args = parser.parse_args(argv)
    if args.pretrain_steps < 0:
        parser.error("--pretrain-steps must be 0 or more")
    return args


def train(args):
    import tensorflow as tf

    from vae import records, refiner, runs, training

    manifest = records.load_manifest(args.data)
    width, height = records.frame_size(manifest)
    config = refiner.RefinerConfig(width, height, args.filters, args.residual_filters,
                                   args.kernel)
    objective = refiner.RefinerObjective(args.objective, args.ssim_weight, args.input_weight,
                                         args.vae_weight)
    strategy = training.make_strategy(args.strategy)
    chief = training.is_chief(strategy)
    with strategy.scope():
        encoder, decoder, vae_info = runs.load_vae(args.vae)
    records.check_frame_size(manifest, args.data,
                             (vae_info["model"]["width"], vae_info["model"]["height"]), "the VAE")
    run_config = {
        "kind": "refiner", "model": config.to_dict(), "vae": vae_info,
        "training": {"data": args.data, "batch_size": args.batch_size,
                     "learning_rate": args.learning_rate, "pretrain_steps": args.pretrain_steps,
                     "pretrain_learning_rate": args.pretrain_learning_rate,
                     "objective": objective.name, "ssim_weight": objective.ssim_weight,
                     "input_weight": args.input_weight, "vae_weight": args.vae_weight,
                     "seed": args.seed},
    }
    resumed, dataset = training.start_run(args, strategy, run_config, manifest)
    print(f"frozen VAE: {vae_info['checkpoint']} (step {vae_info['step']})")

    with strategy.scope():
        net = refiner.build_refiner(config)
        pretrain_optimizer = training.make_optimizer(args.pretrain_learning_rate,
                                                     args.mixed_precision)
        optimizer = training.make_optimizer(args.learning_rate, args.mixed_precision)
        for opt in (pretrain_optimizer, optimizer):
            opt.build(net.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        checkpoint = tf.train.Checkpoint(step=step, refiner=net, optimizer=optimizer,
                                         pretrain_optimizer=pretrain_optimizer)

    preview_frames = records.load_frames(args.data, manifest, PREVIEW_FRAMES)

    def preview():
        blurry = refiner.vae_output(encoder, decoder, preview_frames)
        refined = net(blurry, training=False)
        return (stack_rows([preview_frames, blurry.numpy(), refined.numpy()]),
                "input_vae_refined")

    loop = training.TrainingLoop(
        args.logdir, strategy, checkpoint,
        lambda: refiner.evaluate(net, encoder, decoder, preview_frames, objective),
        checkpoint_every=args.checkpoint_every, preview_every=args.preview_every,
        preview=preview)
    start = loop.restore()
    pretrain_optimizer.learning_rate = args.pretrain_learning_rate
    optimizer.learning_rate = args.learning_rate  # the flags win over the checkpoint's rates
    num_records = records.record_count(manifest)
    steps = args.pretrain_steps + training.total_steps(args.steps, args.epochs, num_records,
                                                       args.batch_size)
    training.announce(args.logdir, resumed, start, steps, args.data, manifest, args.batch_size,
                      strategy)
    if start == 0:
        loop.write_preview()

    iterator = iter(dataset)
    jit = training.use_xla(args.xla)
    phases = [("pretraining", args.pretrain_steps, pretrain_optimizer,
               args.pretrain_learning_rate, True, ["identity_loss"]),
              ("training", steps, optimizer, args.learning_rate, False,
               ["loss", *objective.terms])]
    for name, until, opt, rate, identity, metrics in phases:
        if int(step.numpy()) >= until:
            continue
        loop.learning_rate = rate
        train_step = refiner.make_train_step(net, encoder, decoder, opt, strategy,
                                             args.batch_size, objective, identity=identity,
                                             jit_compile=jit)
        try:
            result = loop.run(train_step, iterator, until, args.batch_size, desc=name)
        except training.NonFiniteLoss as err:
            print(training.non_finite_message(err, args.logdir), file=sys.stderr)
            return 1
        if result["reason"] != "done" or until == steps:
            return training.report(result, args.logdir, chief, metrics)
        print(f"pretraining done at step {result['step']} (identity loss "
              f"{result['metrics'].get('identity_loss', float('nan')):.4g})")
    print(f"{args.logdir} is already at step {steps}; nothing to do")
    return 0


def main(argv=None):
    return run(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
