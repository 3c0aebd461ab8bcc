"""The stylising formula, in one place: y = S(z + shift) + detail * (x - S(z)), S = decode, then
refine (when refining). The painter's training input, process_video.py's frames, the exported
signatures, the export's check, the evaluation and the benchmarks all call stylize(): computed
by two paths, the same formula can differ in its last bits, and a change of summing order alone
once moved the demo painter's loss from 1.69 to 1.82.
"""
import tensorflow as tf


class Stylized:
    """S(z + shift) and, with detail, S(z) of a batch: the formula's result and its part at the
    model's size."""

    def __init__(self, styled, reconstructed, detail):
        self.styled, self.reconstructed, self.detail = styled, reconstructed, detail

    def with_detail(self, frames):
        """S(z + shift) + detail * (x - S(z)), x the frames at the model's size. Not
        model_part() + detail * x: that sums in another order."""
        if self.reconstructed is None:
            return self.styled
        return self.styled + self.detail * (frames - self.reconstructed)

    def model_part(self):
        """S(z + shift) - detail * S(z): the part at the model's size, which process_video.py
        scales up before adding detail * x at the output's (the upscale is linear), so that
        the frame's own detail comes back at full resolution."""
        if self.reconstructed is None:
            return self.styled
        return self.styled - self.detail * self.reconstructed


def stylize(encode, decode, images, shift, detail=0.0, refine=None):
    """Stylized images: encode(images) -> z_mean, decode(z) -> images, refine(images) -> images
    (None: no refiner); shift: one code-sized vector, or one row per image. With detail, both
    codes go through one batched decode."""
    z = encode(images)
    shift = tf.convert_to_tensor(shift, z.dtype)
    shifted = z + (shift[tf.newaxis] if shift.shape.rank == 1 else shift)

    def decoded(codes):
        images = decode(codes)
        return images if refine is None else refine(images)

    if not detail:
        return Stylized(decoded(shifted), None, 0.0)
    styled, reconstructed = tf.split(decoded(tf.concat([shifted, z], 0)), 2)
    return Stylized(styled, reconstructed, detail)
