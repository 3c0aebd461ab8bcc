"""Frames as pictures: image folders, crops and black-border detection, resizing to a frame
size. Reading and writing videos is vae/media/video.py's.
"""
import os
import sys
from dataclasses import dataclass

import numpy as np

from vae import InputError, is_utf8

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
MAX_SIDE = 4096  # the largest frame side --size takes (a 4K frame's width)
ALPHA_BACKGROUND = (255, 255, 255)  # what shows through a transparent painting

# A row or column of an RGB frame counts as a black border when its mean brightness stays at or
# below this level (0..255) in every sampled frame; compressed black is rarely exactly 0.
BORDER_THRESHOLD = 24


@dataclass(frozen=True)
class Crop:
    """Pixels removed from each edge, in CSS order: top, right, bottom, left."""

    top: int = 0
    right: int = 0
    bottom: int = 0
    left: int = 0

    def as_list(self):
        return [self.top, self.right, self.bottom, self.left]

    def __str__(self):
        return ",".join(str(v) for v in self.as_list())

    def cropped_size(self, width, height):
        return width - self.left - self.right, height - self.top - self.bottom


def parse_size(text):
    """'320x180' -> (320, 180); ValueError on anything else."""
    parts = str(text).lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"size must look like WIDTHxHEIGHT (e.g. 320x180), got {text!r}")
    width, height = (int(p) for p in parts)
    if width < 2 or height < 2:
        raise ValueError(f"size must be at least 2x2, got {text!r}")
    if max(width, height) > MAX_SIDE:
        raise ValueError(f"size must be at most {MAX_SIDE} pixels a side, got {text!r}")
    return width, height


def parse_crop(text):
    """'auto' -> 'auto', 'none' -> Crop(), 'T,R,B,L' -> Crop(T, R, B, L); ValueError otherwise."""
    text = str(text).strip().lower()
    if text == "auto":
        return "auto"
    if text == "none":
        return Crop()
    parts = text.split(",")
    if len(parts) != 4 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(
            "crop must be auto, none or TOP,RIGHT,BOTTOM,LEFT in pixels (e.g. 60,0,60,0), "
            f"got {text!r}")
    return Crop(*(int(p) for p in parts))


CROP_SCALE = (0.3, 0.6)  # random_crops: a crop's width, as a fraction of the whole


def fill_region(width, height, target_width, target_height):
    """The largest centred (x, y, w, h) box of width x height with the target's aspect ratio.

    Cutting this box out and resizing it fills the target frame without stretching.
    """
    if width * target_height > height * target_width:  # too wide: cut the sides
        w, h = max(1, round(height * target_width / target_height)), height
    else:  # too tall: cut top and bottom
        w, h = width, max(1, round(width * target_height / target_width))
    return (width - w) // 2, (height - h) // 2, w, h


def find_images(folder):
    """Every image file below folder (recursively), in a stable order: regular files only (a
    FIFO or a device named like an image would hang or never end a read) whose names are
    valid UTF-8 (they are written into the records)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".") and \
                    os.path.isfile(path):
                found.append(path)
    for path in found:
        if not is_utf8(path):
            print(f"warning: skipping {ascii(path)}: its name is not valid UTF-8",
                  file=sys.stderr)
    return [path for path in found if is_utf8(path)]


def readable_images(folder):
    """Every image below folder that loads (load_image), in find_images' order; unreadable
    ones are skipped, as extract_frames.py skips them (it also counts them)."""
    for path in find_images(folder):
        try:
            yield load_image(path)
        except Exception:  # any undecodable file, whatever the codec says
            continue


# The largest painting read: far above any scan a user trains on, far below what a forged
# header can make Pillow allocate.
MAX_IMAGE_PIXELS = 64 * 10 ** 6


# A PNG's channels by colour type: grey, RGB, palette, grey + alpha, RGBA.
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7's passes: (first column, first row, column step, row step).
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2))


def check_png_complete(data):
    """ValueError when a PNG's image data (the file's bytes) ends before its last row: Pillow
    fills what is missing with black without a word, so a file cut short (or a header that
    promises more than the file holds) would pass for a dark picture."""
    import struct
    import zlib

    position, header, compressed = 8, None, []
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    if header is None or header[3] not in PNG_CHANNELS:
        return  # Pillow has refused or will refuse it itself
    width, height, depth, colour, _, _, interlaced = header
    bits = depth * PNG_CHANNELS[colour]
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    sizes = [(-(-(width - x) // dx), -(-(height - y) // dy)) for x, y, dx, dy in passes]
    expected = sum(h * (1 + -(-w * bits // 8)) for w, h in sizes if w > 0 and h > 0)
    decoder = zlib.decompressobj()
    found = 0
    try:
        for piece in compressed:  # counted, never held: a bomb cannot fill the memory
            while piece and found < expected:
                found += len(decoder.decompress(piece, 1 << 20))
                piece = decoder.unconsumed_tail
    except zlib.error as err:
        raise ValueError(f"damaged PNG data ({err})") from None
    if found < expected:
        rows = found // (1 + -(-width * bits // 8)) if not interlaced else "some"
        raise ValueError(f"the PNG's data ends after {rows} of its {height} rows")


def _contents(source):
    """The bytes of a file given by its path or as a file object (left where it was)."""
    if hasattr(source, "read"):
        position = source.tell()
        source.seek(0)
        data = source.read()
        source.seek(position)
        return data
    with open(source, "rb") as f:
        return f.read()


def load_image(path, background=ALPHA_BACKGROUND):
    """An image file as uint8 RGB (H, W, 3), whatever its mode: CMYK is converted to RGB,
    grey to three equal channels, 16-bit to 8-bit, a palette to its colours, and transparency
    composited on `background` (white: the paper or wall a cut-out painting hangs on). An
    animated file gives its first frame; an EXIF orientation is applied, as viewers do. An
    image of more than MAX_IMAGE_PIXELS is ValueError before its data is read, and so is a
    PNG whose data ends before its rows do; Pillow's errors (OSError, ValueError: a
    truncated file among them) pass through."""
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        if opened.width * opened.height > MAX_IMAGE_PIXELS:
            raise ValueError(f"{opened.width}x{opened.height} is more than "
                             f"{MAX_IMAGE_PIXELS // 10 ** 6} million pixels")
        if opened.format == "PNG":
            check_png_complete(_contents(path))
        opened.load()
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("I;16", "I;16L", "I;16B", "I"):  # 16-bit grey
            grey = (np.asarray(image, np.uint32) >> 8).clip(0, 255).astype(np.uint8)
            image = Image.fromarray(grey, "L")
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        if image.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGBA", rgba.size, tuple(background) + (255,))
            image = Image.alpha_composite(flat, rgba)
        rgb = np.asarray(image.convert("RGB"), np.uint8)
    if min(rgb.shape[:2]) < 1:
        raise ValueError(f"unsupported image shape {rgb.shape}")
    return np.ascontiguousarray(rgb)


def fill_resize(image, size):
    """Centre-crop image to the aspect of size=(width, height), then resize with antialiasing."""
    import tensorflow as tf  # deferred: only painting extraction needs it here

    width, height = size
    x, y, w, h = fill_region(image.shape[1], image.shape[0], width, height)
    region = image[y:y + h, x:x + w]
    resized = tf.image.resize(region, (height, width), method="bilinear", antialias=True)
    return np.clip(np.rint(resized.numpy()), 0, 255).astype(np.uint8)


def random_crops(image, size, count, rng, scale=CROP_SCALE):
    """`count` random boxes of image with the aspect of size=(width, height), each `scale`
    (a range) of the largest such box wide, resized to size: the image's texture at a larger
    scale than the whole image resized."""
    x0, y0, w_full, h_full = fill_region(image.shape[1], image.shape[0], *size)
    crops = []
    for _ in range(count):
        fraction = rng.uniform(*scale)
        w, h = max(1, round(w_full * fraction)), max(1, round(h_full * fraction))
        x = x0 + int(rng.integers(0, w_full - w + 1))
        y = y0 + int(rng.integers(0, h_full - h + 1))
        crops.append(fill_resize(image[y:y + h, x:x + w], size))
    return crops


def detect_borders(frames, threshold=BORDER_THRESHOLD):
    """The black letterbox/pillarbox borders shared by all frames, as a Crop.

    A row (column) is border when its mean brightness is at most threshold in every frame;
    borders are counted inward from each edge. Frames that are black all over give no crop.
    """
    frames = np.asarray(frames, dtype=np.float32)
    brightness = frames.mean(axis=-1)  # (n, H, W)
    rows = brightness.mean(axis=2).max(axis=0)  # brightest occurrence of each row
    cols = brightness.mean(axis=1).max(axis=0)

    def edge_run(values):
        dark = values <= threshold
        if dark.all():
            return 0, 0
        first = int(np.argmax(~dark))
        last = int(np.argmax(~dark[::-1]))
        return first, last

    top, bottom = edge_run(rows)
    left, right = edge_run(cols)
    return Crop(top, right, bottom, left)


def check_crop(crop, width, height, what):
    """InputError when crop leaves nothing of a width x height frame."""
    w, h = crop.cropped_size(width, height)
    if w < 2 or h < 2:
        raise InputError(f"crop {crop} leaves no picture of the {width}x{height} frames of {what}")
