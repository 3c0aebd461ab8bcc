"""The paintings' style as statistics of a frozen ImageNet network's features, and the painter's
perceptual terms that pull toward it.

A style is carried by the per-channel mean and spread of a pretrained network's activations
at several depths (Huang and Belongie 2017, AdaIN; Gatys et al. 2016 use their Gram matrices):
a feed-forward network trained to match them paints in a few thousand steps (Johnson et al.
2016; Ulyanov et al. 2016), where a GAN must learn what "painted" means from scratch. The
target is the collection's style: the statistics averaged over many crops of the data's
paintings, taken at the size the painter sees. Content is kept in the same network's deeper
features, which hold layout and objects but leave the strokes free.

The network is EfficientNet-Lite0 (vae/models/features.py). The painting probe that grades
the output (vae/metrics/painting_probe.py) uses Magenta's style predictor, a different
network: the painter is never graded by the features it was trained on.
"""
import numpy as np
import tensorflow as tf

# The ends of EfficientNet-Lite0's first four stages (16, 24, 40, 80 channels at 1/2 to 1/16
# of the size): strokes and textures live there; the fifth stage's end carries the layout.
STYLE_BLOCKS = (0, 2, 4, 7)
CONTENT_BLOCK = 10
TARGET_CROPS = 4  # crops of each painting frame the target statistics average over


def channel_statistics(activations):
    """(mean, spread) of every channel of (B, H, W, C) activations, each (B, C)."""
    mean, variance = tf.nn.moments(activations, axes=[1, 2])
    return mean, tf.sqrt(variance + 1e-6)


def total_variation(images):
    """Per-image mean squared difference of neighbouring pixels: penalises pixel noise and
    the checkerboards a painter can hide its style in."""
    dy = images[:, 1:] - images[:, :-1]
    dx = images[:, :, 1:] - images[:, :, :-1]
    return tf.reduce_mean(tf.square(dy), axis=[1, 2, 3]) + \
        tf.reduce_mean(tf.square(dx), axis=[1, 2, 3])


class StyleTarget:
    """The paintings' statistics at STYLE_BLOCKS of a feature network, and the terms that
    compare painted frames with them (style) and with their references (content).

    paintings: uint8 painting images (H, W, 3), all of one size unless crop is given; crop:
    the side of the square crops the painter trains on (0: whole images), at which the
    statistics are taken, crops_per_image random crops of each."""

    def __init__(self, network, paintings, crop=0, style_blocks=STYLE_BLOCKS,
                 content_block=CONTENT_BLOCK, batch=32, seed=0, crops_per_image=TARGET_CROPS):
        self.network = network
        self.style_blocks, self.content_block = tuple(style_blocks), content_block
        self.blocks = sorted(set(self.style_blocks) | {content_block})
        rng = np.random.default_rng(seed)
        pieces = np.stack([piece for image in paintings for piece in (
            _random_crops(image, crop, crops_per_image, rng) if crop else [image])])
        sums = None
        for start in range(0, len(pieces), batch):
            images = pieces[start:start + batch].astype(np.float32) / 255.0
            stats = [tf.concat(channel_statistics(a), 1).numpy().sum(0) for a in
                     self.network.features(images, self.style_blocks)]
            sums = stats if sums is None else [s + t for s, t in zip(sums, stats)]
        self.targets = [tf.constant(s / len(pieces), tf.float32) for s in sums]

    def style_distance(self, style_features):
        """Per image: the mean over STYLE_BLOCKS of the mean squared difference between its
        channels' (mean, spread) and the paintings'."""
        distances = [tf.reduce_mean(tf.square(tf.concat(channel_statistics(a), 1)
                                              - target[tf.newaxis]), axis=1)
                     for a, target in zip(style_features, self.targets)]
        return tf.add_n(distances) / len(distances)

    def terms(self, painted, references):
        """{"style", "perceptual_content"} per image, unweighted: painted against the
        paintings' statistics, and against its references' features at CONTENT_BLOCK."""
        activations = dict(zip(self.blocks, self.network.features(painted, self.blocks)))
        reference = tf.stop_gradient(self.network.features(references, [self.content_block])[0])
        content = tf.reduce_mean(tf.square(activations[self.content_block] - reference),
                                 axis=[1, 2, 3])
        return {"style": self.style_distance([activations[b] for b in self.style_blocks]),
                "perceptual_content": content}

    def style_of(self, images):
        """Per-image style distance of images (float in [0, 1]) to the paintings."""
        return self.style_distance(self.network.features(images, self.style_blocks))


def _random_crops(image, side, count, rng):
    """count side x side crops of one image (H, W, 3), at random places."""
    height, width = image.shape[:2]
    side = min(side, height, width)
    ys = rng.integers(0, height - side + 1, count)
    xs = rng.integers(0, width - side + 1, count)
    return [image[y:y + side, x:x + side] for y, x in zip(ys, xs)]
