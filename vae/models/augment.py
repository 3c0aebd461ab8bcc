"""Random, differentiable image transforms for training the painter: DiffAugment's policy
(Zhao et al. 2020) for its discriminator, and a small random motion for its temporal loss.

Both work on float batches (B, H, W, 3) in [0, 1] with one random draw per image, and pass
gradients back to the images, so the same transform can stand between a generator and its
discriminator.
"""
import math

import tensorflow as tf


def _uniform(images, low, high, channels=1):
    batch = tf.shape(images)[0]
    return tf.random.uniform([batch, 1, 1, channels], low, high, dtype=images.dtype)


def colour(images, grayscale_probability=0.2):
    """DiffAugment's colour jitter (brightness, saturation, contrast), plus grayscale for some
    images: what is left to judge is the texture, not the palette."""
    x = images + _uniform(images, -0.5, 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * _uniform(images, 0.0, 2.0) + mean
    gray = tf.random.uniform([tf.shape(images)[0], 1, 1, 1]) < grayscale_probability
    x = tf.where(gray, tf.broadcast_to(tf.reduce_mean(x, axis=3, keepdims=True), tf.shape(x)), x)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _uniform(images, 0.5, 1.5) + mean


def affine(images, matrices, fill=0.0):
    """Each image sampled (bilinear) through its own affine map: matrices (B, 8), in the
    convention of tf.raw_ops.ImageProjectiveTransformV3 (output pixel -> input pixel)."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(images, tf.float32), transforms=tf.cast(matrices, tf.float32),
        output_shape=tf.stack([height, width]), fill_value=tf.constant(fill, tf.float32),
        interpolation="BILINEAR", fill_mode="REFLECT")


def translation(images, ratio=0.125):
    """DiffAugment's translation: each image moved by up to ratio of its size (whole pixels),
    the border filled by reflection."""
    batch = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1:3], tf.float32)
    shift = tf.round(tf.random.uniform([batch, 2], -1.0, 1.0) * ratio * size)
    one, zero = tf.ones([batch]), tf.zeros([batch])
    return affine(images, tf.stack([one, zero, shift[:, 1], zero, one, shift[:, 0], zero, zero],
                                   axis=1))


def cutout(images, ratio=0.5):
    """DiffAugment's cutout: a square of ratio of the image's size, at a random place in each
    image, set to 0."""
    batch = tf.shape(images)[0]
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    half_h = tf.cast(tf.cast(height, tf.float32) * ratio / 2, tf.int32)
    half_w = tf.cast(tf.cast(width, tf.float32) * ratio / 2, tf.int32)
    centre_y = tf.random.uniform([batch, 1, 1], 0, height, dtype=tf.int32)
    centre_x = tf.random.uniform([batch, 1, 1], 0, width, dtype=tf.int32)
    rows = tf.range(height)[tf.newaxis, :, tf.newaxis]
    columns = tf.range(width)[tf.newaxis, tf.newaxis, :]
    inside = (tf.abs(rows - centre_y) < half_h) & (tf.abs(columns - centre_x) < half_w)
    return images * tf.cast(~inside, images.dtype)[..., tf.newaxis]


def diff_augment(images):
    """The whole policy, as the painter's discriminator sees real and painted images alike."""
    return cutout(translation(colour(images)))


def random_motion(images, max_shift=2.0, max_degrees=1.0, max_zoom=0.02):
    """Each image moved by a small random rotation, zoom and sub-pixel shift about its centre:
    a smooth stand-in for the motion between two video frames (as ReReVST trains without
    optical flow). Returns (moved images, the matrices, to move other images alike)."""
    batch = tf.shape(images)[0]
    height = tf.cast(tf.shape(images)[1], tf.float32)
    width = tf.cast(tf.shape(images)[2], tf.float32)
    angle = tf.random.uniform([batch], -1.0, 1.0) * max_degrees * math.pi / 180
    zoom = 1.0 + tf.random.uniform([batch], -1.0, 1.0) * max_zoom
    shift = tf.random.uniform([batch, 2], -1.0, 1.0) * max_shift
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    cy, cx = (height - 1) / 2, (width - 1) / 2
    # input = R (output - centre) + centre + shift
    a0, a1, b0, b1 = cos, -sin, sin, cos
    a2 = cx - a0 * cx - a1 * cy + shift[:, 1]
    b2 = cy - b0 * cx - b1 * cy + shift[:, 0]
    zero = tf.zeros([batch])
    matrices = tf.stack([a0, a1, a2, b0, b1, b2, zero, zero], axis=1)
    return affine(images, matrices), matrices
