#!/usr/bin/env python3
"""Train the residual refiner on the output of a trained, frozen VAE.

The refiner learns to turn the VAE's blurry reconstructions back toward the real frames. Its
objective (--objective) is l1-ssim by default: L1 and SSIM toward the real frame, which cannot
reward noise; toward-away pulls toward the real frame and pushes away from the VAE's output
(an MSE each way, per pixel); adversarial adds a PatchGAN discriminator to l1-ssim (a VAE-GAN
refiner: feature matching + a small hinge GAN term), trained alongside with its own optimizer.
The VAE run folder is only read. Stop and resume exactly like train_vae.py.

Example:
  python train_refiner.py --vae runs/vae --logdir runs/refiner --steps 20000
"""
import sys

from vae.cli import parser_for, report_input_errors
from vae.flags import parse
from vae.train.options import RefinerTraining


def parse_args(argv):
    return parse(parser_for(__doc__), RefinerTraining(), argv)


def train(options):
    from vae.train.refiner_recipe import RefinerRecipe
    from vae.train.training import train

    return train(RefinerRecipe(options))


def main(argv=None):
    return report_input_errors(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
