"""The lock a training run holds on its run folder: one run writes into a folder at a time."""
import contextlib
import json
import os
import shutil
import socket
import sys

from vae import InputError
from vae.media import atomic, storage

LOCK = "run.lock"  # held by the process that trains into a run folder


@contextlib.contextmanager
def locked(logdir, hold=True, resumable=None):
    """Hold logdir's lock file (pid and host) while a run writes there: a second run on the
    same folder is InputError naming the first one's pid; a lock left by a dead process on this
    host is taken over, with a message. A folder it made that is still empty at the end (the
    run stopped before writing anything), or that holds nothing a later run could resume
    (resumable() is false: no checkpoint), is removed. hold=False (a non-chief worker, a run
    folder on another file system) takes no lock."""
    if storage.exists(logdir) and not storage.isdir(logdir):
        raise InputError(f"--logdir {logdir} is a file, not a run folder")
    if not hold or not storage.is_local(logdir):
        yield
        return
    created = not os.path.exists(logdir)
    os.makedirs(logdir, exist_ok=True)
    path = os.path.join(logdir, LOCK)
    mine = {"pid": os.getpid(), "host": socket.gethostname()}
    while True:
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = json.load(f)
                pid, host = int(owner["pid"]), str(owner["host"])
            except (OSError, ValueError, KeyError, TypeError):
                owner, pid, host = None, None, None
            if owner is not None and (host != mine["host"] or atomic.process_alive(pid)):
                raise InputError(f"{logdir} is in use by pid {pid} on {host} (its lock file "
                                 f"{path}); wait for that run, or use another --logdir") \
                    from None
            print(f"{logdir}: taking over the lock of a run that is gone "
                  f"({'pid ' + str(pid) if pid else 'unreadable lock file'})", file=sys.stderr)
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    with os.fdopen(descriptor, "w") as f:
        json.dump(mine, f)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        if created and not os.listdir(logdir):
            os.rmdir(logdir)
        elif created and resumable is not None and not resumable():
            shutil.rmtree(logdir, ignore_errors=True)
