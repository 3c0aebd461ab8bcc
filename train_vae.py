#!/usr/bin/env python3
"""Train the convolutional VAE on the records of a data folder.

Stop it at any time (Ctrl-C or SIGTERM save a checkpoint); run the same command again to resume.
Watch it with `tensorboard --logdir runs`; <logdir>/preview.png and progress.mp4 show the
reconstructions improving.

Example:
  python train_vae.py --data data --logdir runs/vae --steps 20000
"""
import sys

from vae.cli import parser_for, report_input_errors
from vae.flags import parse
from vae.train.options import VAETraining


def parse_args(argv):
    return parse(parser_for(__doc__), VAETraining(), argv)


def train(options):
    from vae.train.training import train
    from vae.train.vae_recipe import VAERecipe

    return train(VAERecipe(options))


def main(argv=None):
    return report_input_errors(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
