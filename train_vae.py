#!/usr/bin/env python3
"""Train the convolutional VAE on the records of a data folder.

Stop it at any time (Ctrl-C or SIGTERM save a checkpoint); run the same command again to resume.
Watch it with `tensorboard --logdir runs`; <logdir>/preview.png and progress.mp4 show the
reconstructions improving.

Example:
  python train_vae.py --data data --logdir runs/vae --steps 20000
"""
import sys

from vae.cli import add_training_flags, int_list, parser_for, positive_int, report_input_errors
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
        parser.error(f"--filters lists {len(args.filters)} layers but --kernels {len(args.kernels)}")
    return args


class VAERecipe:
    """The VAE's own part of training; vae.training.train does the rest."""
    kind = "vae"
    preview_title = "input_vs_reconstruction"

    def __init__(self, args):
        self.args = args

    def prepare(self, manifest, data_dir):
        from vae.data import datafolder
        from vae.models.configs import VAEConfig

        self.config = VAEConfig(*datafolder.frame_size(manifest), self.args.filters,
                                self.args.kernels, self.args.code_size)
        return {"model": self.config.to_dict()}

    def build(self, make_optimizer):
        from vae.models import autoencoder

        self.encoder = autoencoder.build_encoder(self.config)
        self.decoder = autoencoder.build_decoder(self.config)
        self.variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        self.optimizer = make_optimizer(self.args.learning_rate)
        self.optimizer.build(self.variables)
        return {"encoder": self.encoder, "decoder": self.decoder, "optimizer": self.optimizer}

    def phases(self, steps):
        from vae.models import autoencoder
        from vae.train.training import Phase, Update

        return [Phase("training", steps,
                      lambda images: autoencoder.loss_terms(self.encoder, self.decoder, images,
                                                      training=True),
                      [Update(self.optimizer, self.args.learning_rate, self.variables)])]

    def fixed_batch_loss(self, images):
        from vae.models import autoencoder
        from vae.train.training import batch_means

        return batch_means(autoencoder.loss_terms(self.encoder, self.decoder, images))

    def preview_rows(self, images):
        z_mean, _ = self.encoder(images, training=False)
        return [images, self.decoder(z_mean, training=False).numpy()]


def train(args):
    from vae.train import training

    return training.train(args, VAERecipe(args))


def main(argv=None):
    return report_input_errors(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
