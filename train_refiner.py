#!/usr/bin/env python3
"""Train the residual refiner on the output of a trained, frozen VAE.

The refiner learns to turn the VAE's blurry reconstructions back toward the real frames. Its
objective (--objective) is l1-ssim by default: L1 and SSIM toward the real frame, which cannot
reward noise; seed is the original loss (toward the real frame, away from the VAE's output),
made per pixel; adversarial adds a PatchGAN discriminator to l1-ssim (a VAE-GAN refiner:
feature matching + a small hinge GAN term), trained alongside with its own optimizer. The VAE
run folder is only read. Stop and resume exactly like train_vae.py.

Example:
  python train_refiner.py --vae runs/vae --logdir runs/refiner --steps 20000
"""
import sys

from vae.argtypes import int_list, non_negative_float, positive_float, positive_int, unit_float
from vae.cli import (
    add_discriminator_flags,
    add_pretraining_flags,
    add_training_flags,
    parser_for,
    report_input_errors,
)
from vae.models.configs import (
    DISCRIMINATOR_FILTERS,
    DISCRIMINATOR_KERNEL,
    OBJECTIVES,
    REFINER_FILTERS,
    REFINER_KERNEL,
    REFINER_RESIDUAL_FILTERS,
    RefinerObjective,
)


def parse_args(argv):
    parser = parser_for(__doc__)
    add_training_flags(parser, "runs/refiner", 1e-4, steps=20000)
    parser.add_argument("--vae", default="runs/vae", metavar="DIR",
                        help="the VAE's run folder (its latest checkpoint is used; default: "
                             "runs/vae)")
    add_pretraining_flags(parser, "real frames in, the same frames out")
    parser.add_argument("--objective", choices=OBJECTIVES, default="l1-ssim",
                        help="l1-ssim (default): (1 - W) * L1 + W * (1 - SSIM) toward the real "
                             "frame, W = --ssim-weight; seed: --input-weight * MSE(refined, "
                             "input) + --vae-weight * s / MSE(refined, VAE output), the original "
                             "loss per pixel (s makes it equal to 1e4 / SSE at 320x180); "
                             "adversarial: l1-ssim + --feature-weight * feature matching + "
                             "--adversarial-weight * hinge GAN term, against a PatchGAN "
                             "discriminator")
    parser.add_argument("--ssim-weight", type=unit_float, default=0.84, metavar="W",
                        help="l1-ssim: weight of the SSIM term, in [0, 1] (default: 0.84)")
    parser.add_argument("--input-weight", type=positive_float, default=0.6, metavar="W",
                        help="seed: weight of MSE(refined, input) (default: 0.6)")
    parser.add_argument("--vae-weight", type=positive_float, default=0.4, metavar="W",
                        help="seed: weight of the away-from-the-VAE-output term (default: 0.4)")
    gan = parser.add_argument_group("adversarial objective")
    gan.add_argument("--feature-weight", type=non_negative_float,
                     default=RefinerObjective.feature_weight, metavar="W",
                     help="weight of the distance of the discriminator's hidden activations "
                          "for the real and the refined frame (default: "
                          f"{RefinerObjective.feature_weight})")
    gan.add_argument("--adversarial-weight", type=non_negative_float,
                     default=RefinerObjective.adversarial_weight, metavar="W",
                     help="weight of the hinge GAN term, -D(refined) (default: "
                          f"{RefinerObjective.adversarial_weight})")
    add_discriminator_flags(gan, DISCRIMINATOR_FILTERS, DISCRIMINATOR_KERNEL)
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
    return args


def train(args):
    from vae.train.options import TrainOptions
    from vae.train.refiner_recipe import RefinerRecipe, RefinerTraining
    from vae.train.training import train

    return train(TrainOptions.from_args(args), RefinerRecipe(RefinerTraining.from_args(args)))


def main(argv=None):
    return report_input_errors(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
