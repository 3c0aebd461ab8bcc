#!/usr/bin/env python3
"""Train the convolutional VAE on the records of a data folder.

Stop it at any time (Ctrl-C or SIGTERM save a checkpoint); run the same command again to resume.
Watch it with `tensorboard --logdir runs`; <logdir>/preview.png and progress.mp4 show the
reconstructions improving.

Example:
  python train_vae.py --data data --logdir runs/vae --steps 20000
"""
import sys

from vae.cli import train_main
from vae.train.options import VAETraining


def main(argv=None):
    return train_main(__doc__, VAETraining(), argv)


if __name__ == "__main__":
    sys.exit(main())
