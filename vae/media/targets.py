"""The path guard: whether a script may write an output where the user asked, checked before
any work. An output is never one of the run's inputs, inside one or holding one; a file is
never written over a folder; a folder is replaced only when it is one this script wrote."""
import os

from vae import InputError
from vae.media import storage


def _inside(path, folder):
    """True when path is folder or lies inside it (local paths, links resolved)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _unreachable(path):
    """The part of a local path, as typed, that is not a folder before a `..` that climbs out
    of it (missing/../x cannot be reached, though it reads as x); None when there is none."""
    parts = str(path).split(os.sep)
    for index, part in enumerate(parts):
        prefix = os.sep.join(parts[:index])
        if part == ".." and prefix and not os.path.isdir(prefix):
            return prefix
    return None


def check_target(path, flag, folder=False, inputs=(), replaceable=None, what="output"):
    """InputError, before any work, unless `path` may be written: it must be reachable as
    typed and not be a link to nothing; it must not be one of the run's inputs, lie inside an
    input folder, nor be a folder that holds an input; a file target must not be a folder; a
    folder target must not be a file, and an existing folder there is replaced only when
    replaceable(path) says it is one this script wrote."""
    if not str(path):
        raise InputError(f"{flag} is empty: name the {what}")
    if storage.is_local(path):
        missing = _unreachable(path)
        if missing:
            raise InputError(f"{flag} {path}: {missing} is not a folder, so {path} cannot be "
                             "reached; name the path without it")
        if folder and os.path.islink(path) and not os.path.exists(path):
            raise InputError(f"{flag} {path} is a link to {os.readlink(path)}, which does not "
                             f"exist: name the {what}'s folder itself")
        for source in inputs:
            if not source or not os.path.exists(source):
                continue
            if _inside(path, source):
                relation = "is" if _inside(source, path) else "lies inside"
                raise InputError(f"{flag} {path} {relation} an input of this run ({source}); "
                                 f"choose another {flag}")
            if _inside(source, path):
                raise InputError(f"{flag} {path} holds an input of this run ({source}); "
                                 f"choose another {flag}")
    if not folder and storage.isdir(path):
        raise InputError(f"{flag} {path} is a folder: name the {what} file instead")
    if folder and storage.exists(path) and not storage.isdir(path):
        raise InputError(f"{flag} {path} is a file, not a folder: choose another {flag}")
    if folder and storage.isdir(path) and storage.listdir(path) and not (
            replaceable and replaceable(path)):
        raise InputError(f"{flag} {path} is a folder that this script did not write (not a "
                         f"{what}): it is never replaced; choose another {flag}")
