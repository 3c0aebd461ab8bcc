"""vae-style-transfer: a convolutional VAE that moves video frames toward a painting style.

The package holds the library; the top-level scripts are thin command-line wrappers.
"""
import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile

# TensorFlow prints pages of C++ start-up logs; keep the scripts' output readable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class InputError(Exception):
    """Bad user input (missing file, undecodable video, wrong flag value).

    The scripts turn it into `error: <message>` and exit code 2, without a traceback.
    """


def is_utf8(text):
    """False for a str holding a name that was not valid UTF-8 (Python keeps its bytes as
    surrogates): such a name cannot go into JSON, a record or a message as it is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextlib.contextmanager
def _stderr_held():
    """File descriptor 2 goes to a temporary file inside the block; what was written there is
    shown after all when the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            os.write(2, held.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _stderr_held():
            self.loader.exec_module(module)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """TensorFlow's C++ libraries write start-up lines to stderr while they load (absl's
    pre-initialisation warning, the CUDA stub's search for a GPU) whatever
    TF_CPP_MIN_LOG_LEVEL says, so a script's `error: ...` would come after four lines of
    noise. The first `import tensorflow` runs with stderr held; a failing import shows it."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlow)
                                               for f in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlow())
