"""Figures of image and video quality that a person would agree with on sight.

All functions take float frames in [0, 1], shaped (N, H, W, 3) (luma: (N, H, W)).
- structure: correlation of the gradient magnitudes of input and output luma, SSIM of luma
- style: colour moments, colour histogram and texture statistics (Gram matrices of two fixed
  banks of random filters, after Ustyuzhaninov et al. 2016), and the fraction of the gap to a
  target (the paintings) that an output closes; the distance of an output's patches to the
  nearest painting patch (a painter that pastes pieces of paintings brings it near 0)
- temporal stability: mean frame-to-frame change, and the warping error of Lai et al. 2018
  (frame t against frame t-1 warped by the input's optical flow, occlusions masked)
- sharpness: variance of the Laplacian
"""
import numpy as np
import tensorflow as tf

HISTOGRAM_BINS = 8  # per channel: an 8x8x8 joint colour histogram
TEXTURE_FILTERS = 16
TEXTURE_KERNEL = 7
TEXTURE_SEED = 2016
SECOND_TEXTURE_SEED = 7  # a second bank: a figure that one bank's quirks cannot fake
PATCH_SIZE = 8
PATCHES = 2048  # painting patches kept in style_stats.npz
PAINTING_VIEWS = 8  # views of each painting file, at the frame's scale, for the texture figures


def luma(images):
    """Rec. 601 luma of RGB frames."""
    images = np.asarray(images, np.float32)
    return images[..., 0] * 0.299 + images[..., 1] * 0.587 + images[..., 2] * 0.114


def gradient_magnitude(lumas):
    dy, dx = np.gradient(np.asarray(lumas, np.float32), axis=(1, 2))
    return np.hypot(dx, dy)


def _correlation(a, b):
    a, b = a - a.mean(), b - b.mean()
    norm = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / norm) if norm > 0 else 0.0


def edge_correlation(inputs, outputs):
    """Mean over frames of the correlation of input and output gradient magnitudes: 1 keeps
    every edge where it was, 0 keeps none (a flat output scores 0)."""
    grad_in, grad_out = gradient_magnitude(luma(inputs)), gradient_magnitude(luma(outputs))
    return float(np.mean([_correlation(a, b) for a, b in zip(grad_in, grad_out)]))


GHOST_SCALE = 8  # ghosts are shapes: edges of the frames shrunk this many times


def ghost_edges(inputs, outputs, scale=GHOST_SCALE):
    """Edges the output has and the input does not, at a coarse scale (luma shrunk `scale`
    times, where strokes and noise average out and shapes remain): the mean of the output's
    gradient magnitude in excess of the input's, over the input's mean gradient magnitude.
    0: no shape that the input lacks (a flat or blurred output too); 1: as much new shape as
    the input has."""
    def coarse(images):
        lumas = tf.constant(luma(images)[..., None])
        size = (max(2, lumas.shape[1] // scale), max(2, lumas.shape[2] // scale))
        return gradient_magnitude(tf.image.resize(lumas, size, antialias=True).numpy()[..., 0])

    grad_in, grad_out = coarse(inputs), coarse(outputs)
    return float(np.maximum(grad_out - grad_in, 0).mean() / max(grad_in.mean(), 1e-12))


def ssim_luma(inputs, outputs):
    """Mean SSIM of the luma of input and output frames."""
    return float(tf.reduce_mean(tf.image.ssim(luma(inputs)[..., None], luma(outputs)[..., None],
                                              1.0)))


def psnr(inputs, outputs):
    """Mean PSNR (dB) over frames of RGB images in [0, 1]."""
    return float(tf.reduce_mean(tf.image.psnr(np.float32(inputs), np.float32(outputs), 1.0)))


def ssim(inputs, outputs):
    """Mean SSIM over frames of RGB images in [0, 1]."""
    return float(tf.reduce_mean(tf.image.ssim(np.float32(inputs), np.float32(outputs), 1.0)))


def sharpness(images):
    """Mean over frames of the variance of the 4-neighbour Laplacian of luma."""
    y = luma(images)
    laplacian = (y[:, :-2, 1:-1] + y[:, 2:, 1:-1] + y[:, 1:-1, :-2] + y[:, 1:-1, 2:]
                 - 4 * y[:, 1:-1, 1:-1])
    return float(np.mean(laplacian.reshape(len(y), -1).var(axis=1)))


def colour_moments(images):
    """Per-channel mean and standard deviation over all pixels: 6 numbers."""
    pixels = np.asarray(images, np.float32).reshape(-1, 3)
    return np.concatenate([pixels.mean(0), pixels.std(0)])


def colour_histogram(images, bins=HISTOGRAM_BINS):
    """The joint RGB histogram over all pixels, normalised to sum to 1."""
    pixels = np.asarray(images, np.float32).reshape(-1, 3)
    index = np.minimum((pixels * bins).astype(np.int64), bins - 1)
    flat = (index[:, 0] * bins + index[:, 1]) * bins + index[:, 2]
    counts = np.bincount(flat, minlength=bins ** 3).astype(np.float64)
    return counts / counts.sum()


def _texture_filters(seed=TEXTURE_SEED):
    """A fixed bank of zero-mean random filters (the same on every machine and every run)."""
    rng = np.random.default_rng(seed)
    bank = rng.standard_normal((TEXTURE_KERNEL, TEXTURE_KERNEL, 1, TEXTURE_FILTERS))
    bank -= bank.mean(axis=(0, 1), keepdims=True)
    return (bank / np.sqrt((bank ** 2).sum(axis=(0, 1), keepdims=True))).astype(np.float32)


def texture_gram(images, batch=64, seed=TEXTURE_SEED):
    """The mean over frames of the trace-normalised Gram matrix of rectified random-filter
    responses of luma (flattened): what brushwork looks like, whatever the palette."""
    filters = tf.constant(_texture_filters(seed))
    total, count = np.zeros((TEXTURE_FILTERS, TEXTURE_FILTERS)), 0
    lumas = luma(images)[..., None]
    for start in range(0, len(lumas), batch):
        responses = tf.nn.relu(tf.nn.conv2d(lumas[start:start + batch], filters, 1, "VALID"))
        features = tf.reshape(responses, (responses.shape[0], -1, TEXTURE_FILTERS))
        grams = tf.matmul(features, features, transpose_a=True).numpy().astype(np.float64)
        traces = np.trace(grams, axis1=1, axis2=2)[:, None, None]
        total += (grams / np.maximum(traces, 1e-12)).sum(0)
        count += len(grams)
    return (total / count).ravel()


def style_statistics(images):
    """What the style figures compare: {colour_moments, colour_histogram, texture_gram,
    texture_gram_second}."""
    return {"colour_moments": colour_moments(images), "colour_histogram": colour_histogram(images),
            "texture_gram": texture_gram(images),
            "texture_gram_second": texture_gram(images, seed=SECOND_TEXTURE_SEED)}


def paintings_as_seen(folder, size, crops=PAINTING_VIEWS, seed=0):
    """Views of frame size (width, height) of every painting file below folder, each painting
    scaled to be as tall as the frame (as wide, if it is narrower than the frame's aspect):
    its brushwork at the scale a viewer sees when the painting fills the frame, which is where
    the texture of a stylised frame is compared with it. float [0, 1]; ValueError when there
    is no readable painting."""
    import tensorflow as tf

    from vae.media import frames

    width, height = size
    rng = np.random.default_rng(seed)
    views = []
    for image in frames.readable_images(folder):
        scale = max(height / image.shape[0], width / image.shape[1])
        shape = (max(height, round(image.shape[0] * scale)),
                 max(width, round(image.shape[1] * scale)))
        seen = tf.image.resize(image, shape, antialias=True).numpy() / 255.0
        for _ in range(crops):
            y = int(rng.integers(0, shape[0] - height + 1))
            x = int(rng.integers(0, shape[1] - width + 1))
            views.append(seen[y:y + height, x:x + width])
    if not views:
        raise ValueError(f"{folder}: no readable painting (PNG, JPEG, ...)")
    return np.clip(np.stack(views), 0, 1).astype(np.float32)


def patches(images, count=PATCHES, size=PATCH_SIZE, seed=0):
    """count random size x size RGB patches of the images, flattened: (count, size * size * 3)."""
    rng = np.random.default_rng(seed)
    n, height, width, _ = images.shape
    which = rng.integers(0, n, count)
    rows = rng.integers(0, height - size + 1, count)
    columns = rng.integers(0, width - size + 1, count)
    return np.stack([images[i, r:r + size, c:c + size].ravel()
                     for i, r, c in zip(which, rows, columns)]).astype(np.float32)


def nearest_patch_distance(images, bank, count=1024):
    """Mean distance (RMS per value) of count random patches of the images to their nearest
    patch in bank (from `patches`)."""
    size = int(round(np.sqrt(bank.shape[1] / 3)))
    sample = tf.constant(patches(images, count, size, seed=1))
    bank = tf.constant(bank)
    squared = (tf.reduce_sum(sample ** 2, 1, keepdims=True) - 2 * tf.matmul(sample, bank,
                                                                            transpose_b=True)
               + tf.reduce_sum(bank ** 2, 1)[tf.newaxis])
    nearest = tf.sqrt(tf.maximum(tf.reduce_min(squared, axis=1), 0.0) / bank.shape[1])
    return float(tf.reduce_mean(nearest))


def _distance(name, a, b):
    if name == "colour_histogram":  # total variation: the share of pixels in the wrong bin
        return 0.5 * float(np.abs(a - b).sum())
    return float(np.linalg.norm(a - b))


def gap_closed(before, after, target):
    """{statistic: fraction of the distance from `before` to `target` closed by `after`}:
    0 when the output is as far from the paintings as the input, 1 when it matches them,
    negative when it moved away."""
    closed = {}
    for name in (n for n in target if n in before):  # a bundle may predate a statistic
        gap = _distance(name, before[name], target[name])
        closed[name] = 1 - _distance(name, after[name], target[name]) / gap if gap > 0 else 0.0
    return closed


def mean_frame_change(images):
    """Mean absolute difference between consecutive frames."""
    images = np.asarray(images, np.float32)
    return float(np.mean(np.abs(images[1:] - images[:-1]))) if len(images) > 1 else 0.0


def input_flows(images):
    """For every t >= 1: (map_x, map_y, mask) that warp frame t-1 onto frame t, from the
    optical flow of these frames (OpenCV's Farneback), and the pixels where the forward-backward
    check finds no occlusion. OpenCV is imported only here (and by the brush)."""
    import cv2

    grey = [np.clip(np.rint(y * 255), 0, 255).astype(np.uint8) for y in luma(images)]
    height, width = grey[0].shape
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))

    def flow(a, b):  # where each pixel of a is in b
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    warps = []
    for t in range(1, len(grey)):
        back, forth = flow(grey[t], grey[t - 1]), flow(grey[t - 1], grey[t])
        map_x, map_y = xs + back[..., 0], ys + back[..., 1]
        forth_there = cv2.remap(forth, map_x, map_y, cv2.INTER_LINEAR)
        mismatch = ((back + forth_there) ** 2).sum(-1)
        limit = 0.01 * ((back ** 2).sum(-1) + (forth_there ** 2).sum(-1)) + 0.5
        inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        warps.append((map_x, map_y, (mismatch < limit) & inside))
    return warps


def warping_error(images, warps):
    """Mean over t of the masked mean squared difference between frame t and frame t-1 warped
    by `warps` (from input_flows of the *input* clip)."""
    import cv2

    images = np.asarray(images, np.float32)
    errors = []
    for t, (map_x, map_y, mask) in enumerate(warps, start=1):
        warped = cv2.remap(images[t - 1], map_x, map_y, cv2.INTER_LINEAR)
        if mask.any():
            errors.append(float(((images[t] - warped) ** 2).mean(-1)[mask].mean()))
    return float(np.mean(errors)) if errors else 0.0
