"""vae-style-transfer: a convolutional VAE that moves video frames toward a painting style.

The package holds the library; the top-level scripts are thin command-line wrappers.
"""
import os

# TensorFlow prints pages of C++ start-up logs; keep the scripts' output readable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class InputError(Exception):
    """Bad user input (missing file, undecodable video, wrong flag value).

    The scripts turn it into `error: <message>` and exit code 2, without a traceback.
    """
