"""The paintings' style as statistics of a frozen ImageNet network's features, and the painter's
perceptual terms that pull toward it.

A style is carried by the per-channel mean and spread of a pretrained network's activations
at several depths (Huang and Belongie 2017, AdaIN; Gatys et al. 2016 use their Gram matrices):
a feed-forward network trained to match them paints in a few thousand steps (Johnson et al.
2016; Ulyanov et al. 2016), where a GAN must learn what "painted" means from scratch. The
target is the collection's style: the statistics over every position of many crops of the
data's paintings, taken at the size the painter sees, against those of a batch of painted
crops together (matching each crop to the average of distinct paintings would pull toward a
mean no painting has). Content is kept in the same network's deeper
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


def channel_statistics(activations, axes=(1, 2)):
    """(mean, spread) of every channel of (B, H, W, C) activations over the given axes: each
    (B, C) over each image's positions, (C,) over axes (0, 1, 2)."""
    mean, variance = tf.nn.moments(activations, axes=list(axes))
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
        # per block: sum and sum of squares of every channel over every position of every
        # crop, and the number of positions
        totals = [[0.0, 0.0, 0] for _ in self.style_blocks]
        for start in range(0, len(pieces), batch):
            images = pieces[start:start + batch].astype(np.float32) / 255.0
            for total, a in zip(totals, self.network.features(images, self.style_blocks)):
                a = tf.cast(a, tf.float64)
                total[0] += tf.reduce_sum(a, [0, 1, 2]).numpy()
                total[1] += tf.reduce_sum(tf.square(a), [0, 1, 2]).numpy()
                total[2] += int(np.prod(a.shape[:3]))
        self.targets = []
        for sum_, squares, n in totals:
            mean = sum_ / n
            spread = np.sqrt(np.maximum(squares / n - mean ** 2, 0) + 1e-6)
            self.targets.append(tf.constant(np.concatenate([mean, spread]), tf.float32))

    def style_distance(self, style_features):
        """The mean over STYLE_BLOCKS of the mean squared difference between the channels'
        (mean, spread) over every position of every image given and the paintings' over
        every position of every crop: the batch's feature distribution against the
        collection's (one value, repeated for each image)."""
        distances = [tf.reduce_mean(tf.square(
            tf.concat(channel_statistics(a, (0, 1, 2)), 0) - target))
            for a, target in zip(style_features, self.targets)]
        return tf.fill([tf.shape(style_features[0])[0]], tf.add_n(distances) / len(distances))

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
