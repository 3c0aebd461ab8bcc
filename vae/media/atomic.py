"""Files and folders that appear under their name only when complete.

Everything the project writes goes to a temporary name beside the target and is renamed into
place at the end; a failure or Ctrl-C in between removes the temporary and leaves whatever was
there before. The rename is atomic on one file system, so readers see the old or the new.
A target on another file system (gs://, ram://, ...: vae/storage.py) is written to a local
temporary and copied into place at the end: object stores have no atomic rename, so there a
reader can see a folder half copied (a file is copied whole).
"""
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile

from vae import InputError
from vae.media import storage


def process_alive(pid):
    """True when a process with this pid runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def scratch_folder(parent, name):
    """A new local folder `.<name>-<pid>-XXXX` in parent. Those that processes now gone left
    there (killed with kill -9, or by a power cut) are removed first, with a message."""
    pattern = re.compile(rf"^\.{re.escape(name)}-(\d+)-")
    for entry in os.listdir(parent):
        match = pattern.match(entry)
        if match and not process_alive(int(match.group(1))):
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)
            print(f"removed {os.path.join(parent, entry)}, left by a run that was stopped "
                  f"(pid {match.group(1)})", file=sys.stderr)
    return tempfile.mkdtemp(prefix=f".{name}-{os.getpid()}-", dir=parent)


def _inside(path, folder):
    """True when path is folder or lies inside it (local paths, links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_target(path, flag, folder=False, inputs=(), replaceable=None, what="output"):
    """InputError, before any work, unless `path` may be written: a file target must not be a
    folder; a folder target must not be a file, and an existing folder there is replaced only
    when replaceable(path) says it is one this script wrote; the target must not be one of the
    run's inputs, nor a folder that holds one."""
    if storage.is_local(path):
        for source in inputs:
            if source and os.path.exists(source) and _inside(source, path):
                relation = "is" if _inside(path, source) else "holds"
                raise InputError(f"{flag} {path} {relation} an input of this run ({source}); "
                                 f"choose another {flag}")
    if not folder and storage.isdir(path):
        raise InputError(f"{flag} {path} is a folder: name the {what} file instead")
    if folder and storage.exists(path) and not storage.isdir(path):
        raise InputError(f"{flag} {path} is a file, not a folder: choose another {flag}")
    if folder and storage.isdir(path) and storage.listdir(path) and not (
            replaceable and replaceable(path)):
        raise InputError(f"{flag} {path} is a folder that this script did not write (not a "
                         f"{what}): it is never replaced; choose another {flag}")


def partial_name(path, suffix=""):
    """The temporary name of path while it is written: `<path>.partial<suffix>` (a suffix
    such as .png or .mp4 lets tools that go by the extension write it)."""
    return f"{path}.partial{suffix}"


def publish(tmp, path):
    """Move a finished temporary file (or folder) to its name; an existing folder there is
    swapped out first and removed afterwards. tmp is local; path may be on any file system."""
    if not storage.is_local(path):
        if storage.isdir(path):
            if not os.path.isdir(tmp):
                raise InputError(f"{path} is a folder: not replaced by a file")
            storage.remove(path)
        storage.copy_tree(tmp, path)
        discard(tmp)
        return
    if not os.path.isdir(path):
        os.replace(tmp, path)
        return
    if not os.path.isdir(tmp):
        raise InputError(f"{path} is a folder: not replaced by a file")
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
def _published(tmp, path, check=None):
    """Yield tmp; publish it as path when the block ends normally (after check(), which may
    refuse), discard it otherwise."""
    try:
        yield tmp
        if check:
            check()
    except BaseException:
        discard(tmp)
        raise
    publish(tmp, path)


def temporary_name(path, suffix=""):
    """Where to write path before publish(): beside it, or a local temporary file when path is
    on another file system (so that any tool, ffmpeg too, can write it). Makes path's folder."""
    storage.makedirs(storage.parent(path))
    if storage.is_local(path):
        return partial_name(path, suffix)
    handle, tmp = tempfile.mkstemp(prefix=f"{os.path.basename(path)}.partial-", suffix=suffix)
    os.close(handle)
    return tmp


def writing(path, suffix=""):
    """with writing(path) as tmp: write the local file tmp; it becomes path when the block ends
    normally."""
    return _published(temporary_name(path, suffix), path)


def writing_folder(path, replaceable):
    """with writing_folder(path) as tmp: fill the local folder tmp; it replaces path at the
    end. An existing folder at path is replaced only when replaceable(path) is true (checked
    before and again at the end): never a folder the caller did not write."""
    check_target(path, "target", folder=True, replaceable=replaceable)
    parent = storage.parent(path)
    storage.makedirs(parent)
    name = f"{os.path.basename(path)}.partial"
    tmp = scratch_folder(parent, name) if storage.is_local(path) else \
        tempfile.mkdtemp(prefix=f".{name}-")
    return _published(tmp, path, lambda: check_target(path, "target", folder=True,
                                                      replaceable=replaceable))


def write_json(path, data):
    """JSON, indented, that readers see either as the old file or the complete new one."""
    with writing(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def write_text(path, text):
    with writing(path) as tmp, open(tmp, "w") as f:
        f.write(text)
