#!/usr/bin/env python3
"""Train the convolutional VAE on the records of a data folder.

Stop it at any time (Ctrl-C or SIGTERM save a checkpoint); run the same command again to resume.
Watch it with `tensorboard --logdir runs`; <logdir>/preview.png and progress.mp4 show the
reconstructions improving.

Example:
  python train_vae.py --data data --logdir runs/vae --steps 20000
"""
import sys

from vae.argtypes import int_list, positive_int
from vae.cli import add_training_flags, parser_for, report_input_errors
from vae.models.configs import VAE_CODE_SIZE, VAE_FILTERS, VAE_KERNELS


def parse_args(argv):
    parser = parser_for(__doc__)
    add_training_flags(parser, "runs/vae", 2e-4)
    parser.add_argument("--filters", type=int_list, default=list(VAE_FILTERS),
                        metavar="N,N,...", help="feature maps of the encoder's conv layers; the "
                        f"decoder mirrors them (default: {','.join(map(str, VAE_FILTERS))})")
    parser.add_argument("--kernels", type=int_list, default=list(VAE_KERNELS),
                        metavar="K,K,...", help="kernel sizes of those layers "
                        f"(default: {','.join(map(str, VAE_KERNELS))})")
    parser.add_argument("--code-size", type=positive_int, default=VAE_CODE_SIZE,
                        metavar="N", help=f"latent code size (default: {VAE_CODE_SIZE})")
    args = parser.parse_args(argv)
    if len(args.filters) != len(args.kernels):
        parser.error(f"--filters lists {len(args.filters)} layers but --kernels "
                     f"{len(args.kernels)}")
    return args


def train(args):
    from vae.train.options import TrainOptions
    from vae.train.training import train
    from vae.train.vae_recipe import VAERecipe

    return train(TrainOptions.from_args(args),
                 VAERecipe(args.learning_rate, args.filters, args.kernels, args.code_size))


def main(argv=None):
    return report_input_errors(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
