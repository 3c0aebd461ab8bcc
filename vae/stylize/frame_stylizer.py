"""One batch of frames through the model: FrameStylizer, with detail transfer and smoothing.

With detail transfer a frame keeps what the model cannot encode of it, at the output's full
resolution:

    y = up(S(z + shift)) + detail * (x - up(S(z)))        S = decode, then refine

computed as up(S(z + shift) - detail * S(z)) + detail * x, since the upscale is linear: one
upscale per frame. Smoothing applies to the model's part only; x is the clip's own frame.

When paint > 0 the plan's painter repaints y, and the frame is y + paint * (P - y):
- the brush (vae/stylize/brush_painter.py): P = Magenta's network on y at its working size
  (BRUSH_SIDE on the longer side, or paint_scale of the output's size), scaled up, with the
  frame's own fine detail and the previous output carried along the optical flow;
- the trained painter: P = y + up(P(y') - y'), y' = y scaled down to the painting size, by
  default the model's size, the size it was trained at, so that its strokes keep their
  trained size relative to the frame; a paint_scale paints at that fraction of the output's
  size instead (1: at full size, the finest strokes, at the most cost).
"""
import functools

import numpy as np
import tensorflow as tf

from vae.media.gallery import to_uint8

PAINT_PIXELS = 1280 * 720  # pixels the painter paints per call: its activations' memory bound


class Smoother:
    """Exponential moving average over output frames: out_t = s * out_(t-1) + (1 - s) * y_t."""

    def __init__(self, strength):
        self.strength = float(strength)
        self.previous = None

    def __call__(self, batch):
        if self.strength <= 0:
            return batch
        out = np.empty_like(batch)
        for i, frame in enumerate(batch):
            if self.previous is None:
                self.previous = frame
            else:
                self.previous = self.strength * self.previous + (1 - self.strength) * frame
            out[i] = self.previous
        return out


def resize_matrix(source, target, method, antialias=False):
    """The (target, source) matrix of tf.image.resize along one axis.

    tf.image.resize is linear and separable, so a resize is two matrix products: the same
    numbers (to 1e-6) as the resize op, and on 720p frames on a CPU less time than the
    lanczos op.
    """
    impulses = tf.eye(source)[:, :, tf.newaxis, tf.newaxis]  # `source` images of source x 1
    columns = tf.image.resize(impulses, (target, 1), method=method, antialias=antialias)
    return tf.transpose(columns[:, :, 0, 0])


@functools.lru_cache(maxsize=8)
def detail_transfer(frame_size, model_size):
    """The DetailTransfer between these sizes, made (and compiled) once per process: the live
    page's renders and the benchmarks' rows reuse it."""
    return DetailTransfer(frame_size, model_size)


class DetailTransfer:
    """The full-resolution half of detail transfer, for frames of one size.

    shrink: uint8 frames -> float frames at the model's size (antialiased bilinear, as for
    paintings). combine: up(model_part) + detail * x as uint8 frames, up = lanczos3 (the
    filter ffmpeg's lanczos scaler uses when the writer upscales without detail transfer).
    Both are compiled with XLA, which fuses the casts, products and rounding over these large
    frames.
    """

    def __init__(self, frame_size, model_size):
        (width, height), (model_width, model_height) = frame_size, model_size
        self.down_h = resize_matrix(height, model_height, "bilinear", antialias=True)
        self.down_w = resize_matrix(width, model_width, "bilinear", antialias=True)
        self.up_h = resize_matrix(model_height, height, "lanczos3")
        self.up_w = resize_matrix(model_width, width, "lanczos3")

    @tf.function(jit_compile=True)
    def shrink(self, frames_uint8):
        images = tf.cast(frames_uint8, tf.float32) / 255.0
        rows = tf.einsum("hH,bHWc->bhWc", self.down_h, images)
        return tf.einsum("bhWc,wW->bhwc", rows, self.down_w)

    @tf.function(jit_compile=True)
    def combine(self, model_part, frames_uint8, detail):
        columns = tf.einsum("bHWc,wW->bHwc", model_part, self.up_w)
        upscaled = tf.einsum("hH,bHwc->bhwc", self.up_h, columns)
        out = upscaled + detail * tf.cast(frames_uint8, tf.float32) / 255.0
        return tf.cast(tf.round(tf.clip_by_value(out, 0.0, 1.0) * 255.0), tf.uint8)


# The smallest side the painter paints: its reflection padding needs a few pixels.
MIN_PAINT_SIDE = 8


def paint_size(width, height, paint_scale):
    """The size frames of width x height are painted at, at paint_scale of it."""
    return max(1, round(width * paint_scale)), max(1, round(height * paint_scale))


class FrameStylizer:
    """uint8 frames -> stylised, smoothed uint8 frames, as a StylePlan says.

    At the model's size (plan.full_size false: detail 0, no paint_scale): frames come at the
    model's size and leave at it (the writer upscales), exactly the original stylisation. At
    the output's size: the model sees the frames scaled down, and the result is
    y = up(S(z') - detail * S(z)) + detail * x at full size. configure() changes the plan and
    shift between batches (the live page); the frames' size stays.
    """

    def __init__(self, bundle, plan, shift):
        self.bundle = bundle
        self.full_size = plan.full_size
        self.smooth = Smoother(plan.settings.smoothing)
        self.transfer = None  # a DetailTransfer, made for the size of the first frames
        self.paint_transfer = None  # the same between the output and the painting size
        self.brush = None  # a BrushPainter, made for the first batch that the brush paints
        self.configure(plan, shift)

    def configure(self, plan, shift):
        settings = plan.settings
        if plan.paint_scale is not None and not self.full_size:
            raise ValueError("painting at a paint_scale needs frames at the output size")
        if (settings.detail > 0 or plan.painter == "brush") and not self.full_size:
            raise ValueError("detail transfer and the brush need frames at the output size "
                             "(full_size)")
        why = self.bundle.cannot_paint(settings.paint, settings.painter)
        if why:
            raise ValueError(why)
        if self.brush is not None and (plan.painter, plan.settings.style, plan.paint_scale) != \
                (self.plan.painter, self.plan.settings.style, self.plan.paint_scale):
            self.brush = None  # another style or size: a new brush at the next batch
        self.plan, self.shift = plan, np.asarray(shift, np.float32)
        self.detail, self.paint = float(settings.detail), float(settings.paint)
        self.smooth.strength = float(settings.smoothing)

    def forget(self):
        """Start over in time: no smoothing history, no strokes carried from earlier frames
        (the live page's held frame shows its steady state)."""
        self.smooth.previous = None
        if self.brush is not None:
            self.brush.previous = None

    def _stylized(self, images):
        return self.bundle.stylize(images, self.shift, self.detail, self.plan.refine)

    def _painted(self, images):
        """y + paint * (P(y) - y), float32: the painter called on as many images at a time
        as fit PAINT_PIXELS (a batch of 720p frames at once would need tens of GB)."""
        images = tf.convert_to_tensor(images, tf.float32)
        per_call = max(1, PAINT_PIXELS // (int(images.shape[1]) * int(images.shape[2])))
        painted = tf.concat([self.bundle.paint(images[i:i + per_call])
                             for i in range(0, int(images.shape[0]), per_call)], 0)
        return images + self.paint * (painted - images)

    def __call__(self, batch):
        if not self.full_size:
            out = self.smooth(self._stylized(batch.astype(np.float32) / 255.0).styled.numpy())
            return to_uint8(self._painted(out).numpy() if self.paint > 0 else out)
        if self.transfer is None:
            self.transfer = detail_transfer((batch.shape[2], batch.shape[1]),
                                            (self.bundle.width, self.bundle.height))
        # the formula's part at the model's size; combine adds detail * x at the output's
        part = self._stylized(self.transfer.shrink(batch)).model_part()
        out = self.transfer.combine(self.smooth(part.numpy()), batch, tf.constant(self.detail))
        if self.paint <= 0:
            return out.numpy()
        if self.plan.painter == "brush":
            return self._brushed(out.numpy(), batch)
        return self._repainted(out)

    def _brushed(self, frames, originals):
        """uint8 frames at the output size, repainted by the brush."""
        if self.brush is None:
            from vae.models.brush import BRUSH_SIDE, Brush
            from vae.stylize.brush_painter import BrushPainter

            height, width = frames.shape[1:3]
            side = (BRUSH_SIDE if self.plan.paint_scale is None
                    else round(self.plan.paint_scale * max(width, height)))
            self.brush = BrushPainter(Brush(self.bundle.brush_style(self.plan.settings.style),
                                            side))
        return self.brush(frames, originals, self.paint)

    def _repainted(self, frames):
        """uint8 frames at the output size, repainted at the painting size."""
        height, width = frames.shape[1:3]
        if self.plan.paint_scale is None:
            size = (self.bundle.width, self.bundle.height)
        else:
            size = paint_size(width, height, self.plan.paint_scale)
        if size == (width, height):  # no resize: spare two large identity products
            return to_uint8(self._painted(tf.cast(frames, tf.float32) / 255.0).numpy())
        if self.paint_transfer is None:
            self.paint_transfer = (self.transfer if size == (self.bundle.width, self.bundle.height)
                                   else detail_transfer((width, height), size))
        small = self.paint_transfer.shrink(frames)
        return self.paint_transfer.combine(self._painted(small) - small, frames,
                                           tf.constant(1.0)).numpy()
