"""Paths that are local files or anything TensorFlow's file systems know (gs://, s3://, hdfs://,
ram://), so that a data folder, run folder or bundle on shared storage works like a local one.

Local paths go through the standard library, as before, and import no TensorFlow (the scripts
answer --help without it); other paths go through tf.io.gfile.
"""
import builtins
import glob as local_glob
import os
import shutil


def is_local(path):
    return "://" not in str(path)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def open(path, mode="r"):  # noqa: A001  (the same meaning as the builtin, for any path)
    if is_local(path):
        return builtins.open(path, mode)
    return _gfile().GFile(str(path), mode)


def read_bytes(path):
    """A whole file; FileNotFoundError or OSError on any file system."""
    if is_local(path):
        with builtins.open(path, "rb") as f:
            return f.read()
    import tensorflow as tf

    try:
        with tf.io.gfile.GFile(str(path), "rb") as f:
            return f.read()
    except tf.errors.NotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except tf.errors.OpError as err:
        raise OSError(str(err).splitlines()[0]) from None


def read_text(path):
    return read_bytes(path).decode("utf-8")


def kind_of(path):
    """The "kind" that a JSON file names (a bundle's or a run's config.json, a report's
    report.json): what tells the folders the project writes apart. None when the file is
    missing, unreadable, not JSON or names none."""
    import json

    try:
        data = json.loads(read_text(path))
    except (OSError, ValueError, RecursionError):
        return None
    return data.get("kind") if isinstance(data, dict) else None


def exists(path):
    return os.path.exists(path) if is_local(path) else _gfile().exists(str(path))


def isdir(path):
    return os.path.isdir(path) if is_local(path) else _gfile().isdir(str(path))


def listdir(path):
    """The names in a folder."""
    return os.listdir(path) if is_local(path) else _gfile().listdir(str(path))


def makedirs(path):
    if is_local(path):
        os.makedirs(path, exist_ok=True)
    else:
        _gfile().makedirs(str(path))


def remove(path):
    """Remove a file or a folder with everything in it, if it is there."""
    if is_local(path):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.remove(path)
    elif _gfile().isdir(str(path)):
        _gfile().rmtree(str(path))
    elif _gfile().exists(str(path)):
        _gfile().remove(str(path))


def glob(pattern):
    return sorted(local_glob.glob(pattern) if is_local(pattern)
                  else _gfile().glob(str(pattern)))


def parent(path):
    """The folder a path is in (absolute for local paths)."""
    return os.path.dirname(os.path.abspath(path) if is_local(path) else str(path).rstrip("/"))


def copy_tree(source, target):
    """Copy a local file or folder to any path, replacing what is there."""
    gfile = _gfile()
    if not os.path.isdir(source):
        gfile.copy(source, str(target), overwrite=True)
        return
    for root, _, files in os.walk(source):
        relative = os.path.relpath(root, source)
        folder = str(target) if relative == "." else f"{target}/{relative}"
        gfile.makedirs(folder)
        for name in files:
            gfile.copy(os.path.join(root, name), f"{folder}/{name}", overwrite=True)
