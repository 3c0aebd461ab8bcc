"""Files and folders that appear under their name only when complete.

Everything the project writes goes to a temporary name beside the target and is renamed into
place at the end; a failure or Ctrl-C in between removes the temporary and leaves whatever was
there before. The rename is atomic on one file system, so readers see the old or the new.
A target on another file system (gs://, ram://, ...: vae/media/storage.py) is written to a local
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
from vae.media.targets import check_target
from vae.signals import signals_deferred


def process_alive(pid):
    """True when a process with this pid runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_stale(parent, name):
    """Remove the scratch files and folders `.<name>-<pid>-XXXX` in parent that processes now
    gone left there (killed with kill -9, or by a power cut), with a message."""
    pattern = re.compile(rf"^\.{re.escape(name)}-(\d+)-")
    for entry in os.listdir(parent):
        match = pattern.match(entry)
        if match and not process_alive(int(match.group(1))):
            discard(os.path.join(parent, entry))
            print(f"removed {os.path.join(parent, entry)}, left by a run that was stopped "
                  f"(pid {match.group(1)})", file=sys.stderr)


def scratch_folder(parent, name):
    """A new local folder `.<name>-<pid>-XXXX` in parent, after removing those that stopped
    runs left there."""
    _remove_stale(parent, name)
    return tempfile.mkdtemp(prefix=f".{name}-{os.getpid()}-", dir=parent)


def _scratch_file(parent, name, suffix):
    """A new empty local file `.<name>-<pid>-XXXX<suffix>` in parent, made as mkstemp makes
    one (a fresh name, never an existing path or a link followed), readable as the umask
    allows like any other output; those that stopped runs left are removed first."""
    _remove_stale(parent, name)
    handle, tmp = tempfile.mkstemp(prefix=f".{name}-{os.getpid()}-", suffix=suffix, dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(handle, 0o666 & ~umask)
    os.close(handle)
    return tmp


def publish(tmp, path):
    """Move a finished temporary file (or folder) to its name; an existing folder there is
    swapped out first and removed afterwards. tmp is local; path may be on any file system."""
    if not storage.is_local(path):
        if storage.isdir(path) and not os.path.isdir(tmp):
            raise InputError(f"{path} is a folder: not replaced by a file")
        # removed first: some file systems (TensorFlow's ram://) append to a file copied
        # over, where the local one replaces it
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
    """Remove a temporary file or folder, if it is there (a link in its place: the link)."""
    if os.path.islink(tmp):
        os.remove(tmp)
    elif os.path.isdir(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
    elif os.path.exists(tmp):
        os.remove(tmp)


@contextlib.contextmanager
def _published(make_tmp, path, check=None):
    """Yield the scratch file or folder make_tmp() makes; publish it as path when the block
    ends normally (after check(), which may refuse), discard it otherwise. A signal waits
    until its name is known, so that it still removes it."""
    tmp = None
    try:
        with signals_deferred():
            tmp = make_tmp()
        yield tmp
        if check:
            check()
        publish(tmp, path)
    except BaseException:
        if tmp is not None:
            discard(tmp)
        raise


def temporary_name(path, suffix=""):
    """A new empty file to write path's content to before publish(): a scratch file
    `.<name>.partial-<pid>-XXXX<suffix>` beside it, or a local temporary file when path is on
    another file system. The suffix (.png, .mp4) lets tools that go by the extension, ffmpeg
    too, write it. Makes path's folder."""
    storage.makedirs(storage.parent(path))
    name = f"{os.path.basename(str(path).rstrip('/'))}.partial"
    if storage.is_local(path):
        return _scratch_file(storage.parent(path), name, suffix)
    handle, tmp = tempfile.mkstemp(prefix=f"{name}-", suffix=suffix)
    os.close(handle)
    return tmp


def writing(path, suffix=""):
    """with writing(path) as tmp: write the local file tmp; it becomes path when the block ends
    normally."""
    return _published(lambda: temporary_name(path, suffix), path)


def writing_folder(path, replaceable):
    """with writing_folder(path) as tmp: fill the local folder tmp; it replaces path at the
    end. An existing folder at path is replaced only when replaceable(path) is true (checked
    before and again at the end): never a folder the caller did not write. A link to a
    folder is followed: the folder it names is replaced, and the link stays."""
    check_target(path, "target", folder=True, replaceable=replaceable)
    if storage.is_local(path) and os.path.islink(path):
        path = os.path.realpath(path)
    parent = storage.parent(path)
    storage.makedirs(parent)
    name = f"{os.path.basename(path)}.partial"

    def make_tmp():
        if storage.is_local(path):
            return scratch_folder(parent, name)
        return tempfile.mkdtemp(prefix=f".{name}-")

    return _published(make_tmp, path, lambda: check_target(path, "target", folder=True,
                                                           replaceable=replaceable))


def write_json(path, data):
    """JSON, indented, that readers see either as the old file or the complete new one."""
    with writing(path) as tmp, open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")


def write_text(path, text):
    with writing(path) as tmp, open(tmp, "w") as f:
        f.write(text)
