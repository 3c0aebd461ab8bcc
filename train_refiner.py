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

from vae.cli import train_main
from vae.train.options import RefinerTraining


def main(argv=None):
    return train_main(__doc__, RefinerTraining(), argv)


if __name__ == "__main__":
    sys.exit(main())
