"""Image grids (contact sheets, previews, experiment panels) and atomic PNG output."""
import imageio.v3 as iio
import numpy as np

from vae.media import atomic


def to_uint8(images):
    """float images in [0, 1] (or uint8 already) -> uint8."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)


def make_grid(images, columns, pad=2, background=32):
    """Tile equally sized (H, W, 3) images row by row into one uint8 image, pad pixels apart."""
    images = to_uint8(images)
    if len(images) == 0:
        raise ValueError("make_grid needs at least one image")
    height, width = images[0].shape[:2]
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    grid = np.full((rows * (height + pad) + pad, columns * (width + pad) + pad, 3),
                   background, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        y, x = pad + r * (height + pad), pad + c * (width + pad)
        grid[y:y + height, x:x + width] = image
    return grid


def stack_rows(rows):
    """Rows of equally sized images (inputs over outputs ...) as one grid, a row per list."""
    rows = [np.asarray(r) for r in rows]
    return make_grid(np.concatenate(rows), columns=len(rows[0]))


def write_png(path, image):
    """Write a PNG so that it appears under its name only when complete."""
    with atomic.writing(path, ".png") as tmp:
        iio.imwrite(tmp, to_uint8(image))
