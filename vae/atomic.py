"""Files and folders that appear under their name only when complete.

Everything the project writes goes to a temporary name beside the target and is renamed into
place at the end; a failure or Ctrl-C in between removes the temporary and leaves whatever was
there before. The rename is atomic on one file system, so readers see the old or the new.
"""
import contextlib
import json
import os
import shutil
import tempfile


def partial_name(path, suffix=""):
    """The temporary name of path while it is written: `<path>.partial<suffix>` (a suffix
    such as .png or .mp4 lets tools that go by the extension write it)."""
    return f"{path}.partial{suffix}"


def publish(tmp, path):
    """Move a finished temporary file (or folder) to its name; an existing folder there is
    swapped out first and removed afterwards."""
    if not os.path.isdir(path):
        os.replace(tmp, path)
        return
    old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.old-",
                           dir=os.path.dirname(os.path.abspath(path)))
    os.rmdir(old)
    os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def discard(tmp):
    """Remove a temporary file or folder, if it is there."""
    if os.path.isdir(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
    elif os.path.exists(tmp):
        os.remove(tmp)


@contextlib.contextmanager
def _published(tmp, path):
    """Yield tmp; publish it as path when the block ends normally, discard it otherwise."""
    try:
        yield tmp
    except BaseException:
        discard(tmp)
        raise
    publish(tmp, path)


def writing(path, suffix=""):
    """with writing(path) as tmp: write tmp; it becomes path when the block ends normally."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return _published(partial_name(path, suffix), path)


def writing_folder(path):
    """with writing_folder(path) as tmp: fill the folder tmp; it replaces path at the end."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.partial-", dir=parent)
    return _published(tmp, path)


def write_json(path, data):
    """JSON, indented, that readers see either as the old file or the complete new one."""
    with writing(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def write_text(path, text):
    with writing(path) as tmp, open(tmp, "w") as f:
        f.write(text)
