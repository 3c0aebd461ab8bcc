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

from cli import (add_training_flags, int_list, parser_for, positive_float, positive_int,
                 report_input_errors, unit_float)
from vae.configs import OBJECTIVES, REFINER_FILTERS, REFINER_KERNEL, REFINER_RESIDUAL_FILTERS


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
    parser.add_argument("--objective", choices=OBJECTIVES, default="l1-ssim",
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
    parser.add_argument("--filters", type=positive_int, default=REFINER_FILTERS, metavar="N",
                        help=f"feature maps of the full- and half-size convs "
                             f"(default: {REFINER_FILTERS})")
    parser.add_argument("--residual-filters", type=int_list,
                        default=list(REFINER_RESIDUAL_FILTERS), metavar="N,N,...",
                        help="feature maps of the residual convs at half size (default: "
                             f"{','.join(map(str, REFINER_RESIDUAL_FILTERS))})")
    parser.add_argument("--kernel", type=positive_int, default=REFINER_KERNEL, metavar="K",
                        help=f"kernel size of every conv (default: {REFINER_KERNEL})")
    args = parser.parse_args(argv)
    if args.pretrain_steps < 0:
        parser.error("--pretrain-steps must be 0 or more")
    return args


class RefinerRecipe:
    """The refiner's own part of training: a frozen VAE, an identity pre-training phase, then
    the objective on the VAE's output. vae.training.train does the rest."""
    kind = "refiner"
    preview_title = "input_vae_refined"

    def __init__(self, args):
        self.args = args

    def prepare(self, manifest, data_dir):
        from vae import datafolder, runs
        from vae.configs import RefinerConfig, RefinerObjective

        args = self.args
        self.vae = runs.load_vae(args.vae)
        datafolder.check_frame_size(manifest, data_dir, self.vae.config.frame_size, "the VAE")
        print(f"frozen VAE: {self.vae.checkpoint} (step {self.vae.step})")
        self.config = RefinerConfig(*datafolder.frame_size(manifest), args.filters,
                                    args.residual_filters, args.kernel)
        self.objective = RefinerObjective(args.objective, args.ssim_weight, args.input_weight,
                                          args.vae_weight)
        return {"model": self.config.to_dict(), "vae": self.vae.info(), "training": {
            "pretrain_steps": args.pretrain_steps,
            "pretrain_learning_rate": args.pretrain_learning_rate,
            "objective": self.objective.name, "ssim_weight": self.objective.ssim_weight,
            "input_weight": args.input_weight, "vae_weight": args.vae_weight}}

    def build(self, make_optimizer):
        from vae import refiner

        self.net = refiner.build_refiner(self.config)
        self.pretrain_optimizer = make_optimizer(self.args.pretrain_learning_rate)
        self.optimizer = make_optimizer(self.args.learning_rate)
        for optimizer in (self.pretrain_optimizer, self.optimizer):
            optimizer.build(self.net.trainable_variables)
        return {"refiner": self.net, "optimizer": self.optimizer,
                "pretrain_optimizer": self.pretrain_optimizer}

    def phases(self, steps):
        from vae import refiner
        from vae.training import Phase

        args, net, vae = self.args, self.net, self.vae
        variables = net.trainable_variables
        return [
            Phase("pretraining", args.pretrain_steps, self.pretrain_optimizer,
                  args.pretrain_learning_rate, variables,
                  lambda images: refiner.identity_terms(net, images), "identity_loss"),
            Phase("training", args.pretrain_steps + steps, self.optimizer, args.learning_rate,
                  variables, lambda images: refiner.loss_terms(
                      net, vae.encoder, vae.decoder, images, self.objective, training=True)),
        ]

    def fixed_batch_loss(self, images):
        from vae import refiner
        from vae.training import batch_means

        return batch_means(refiner.loss_terms(self.net, self.vae.encoder, self.vae.decoder,
                                              images, self.objective))

    def preview_rows(self, images):
        from vae import refiner

        blurry = refiner.vae_output(self.vae.encoder, self.vae.decoder, images)
        return [images, blurry.numpy(), self.net(blurry, training=False).numpy()]


def train(args):
    from vae import training

    return training.train(args, RefinerRecipe(args))


def main(argv=None):
    return report_input_errors(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
