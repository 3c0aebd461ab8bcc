"""A Ctrl-C or SIGTERM that comes while a scratch file, scratch folder or writer is being made
leaves nothing behind. A test hook delivers the signal at each point of that window (right
after each thing is made, before the code that made it has recorded it), never by timing, so
the outcome does not depend on how busy the machine is."""
import os
import signal
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from vae.data import records
from vae.media import atomic, video
from vae.signals import signals_deferred


def stop_now():
    """A Python call: the interpreter runs a pending signal's handler as it makes one."""


@pytest.fixture
def sigterm_raises():
    """SIGTERM raises KeyboardInterrupt, as the scripts' handler makes it do."""
    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


def signal_after(monkeypatch, owner, name, made=None):
    """owner.name, wrapped so that SIGTERM reaches this process as soon as it returns;
    made: a list that receives what it returned."""
    real = getattr(owner, name)

    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        if made is not None:
            made.append(result)
        os.kill(os.getpid(), signal.SIGTERM)
        stop_now()
        return result

    monkeypatch.setattr(owner, name, wrapped)


def left_in(folder):
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("hook", ["_scratch_file", "temporary_name"])
def test_a_signal_as_a_scratch_file_appears(tmp_path, monkeypatch, sigterm_raises, hook):
    signal_after(monkeypatch, atomic, hook)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_text(str(tmp_path / "out.txt"), "text")
    assert left_in(tmp_path) == []


def test_a_signal_as_a_scratch_folder_appears(tmp_path, monkeypatch, sigterm_raises):
    signal_after(monkeypatch, atomic, "scratch_folder")
    with pytest.raises(KeyboardInterrupt):
        with atomic.writing_folder(str(tmp_path / "bundle"), replaceable=lambda path: False):
            pass
    assert left_in(tmp_path) == []


@pytest.mark.parametrize("hook", ["temporary_name", "Popen", "TemporaryFile"])
def test_a_signal_as_the_video_writer_starts(tmp_path, monkeypatch, sigterm_raises, hook):
    owner = {"temporary_name": atomic, "Popen": subprocess,
             "TemporaryFile": video.tempfile}[hook]
    made = []
    signal_after(monkeypatch, owner, hook, made)
    with pytest.raises(KeyboardInterrupt):
        with video.VideoWriter(str(tmp_path / "out.mp4"), 16, 16, 10) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
    if hook == "Popen":  # ffmpeg was stopped too: it cannot write its file afterwards
        assert made[0].poll() is not None
    assert left_in(tmp_path) == []


@pytest.mark.parametrize("hook", ["makedirs", "scratch_folder", "TFRecordWriter"])
def test_a_signal_as_the_shard_writer_starts(tmp_path, monkeypatch, sigterm_raises, hook):
    owner = {"makedirs": records.storage, "scratch_folder": atomic,
             "TFRecordWriter": tf.io}[hook]
    signal_after(monkeypatch, owner, hook)
    with pytest.raises(KeyboardInterrupt):
        with records.ShuffledShardWriter(str(tmp_path / "data"), 2) as writer:
            writer.add(b"record")
    assert left_in(tmp_path) == []  # the data folder it made is gone too


def test_a_deferred_signal_reaches_the_handler_it_was_held_from(sigterm_raises):
    """Inside the block the signal waits; it is delivered, once, as the block ends."""
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            stop_now()
            reached.append("the rest of the block")
    assert reached == ["the rest of the block"]


def test_a_signal_as_a_progress_bar_is_made_leaves_a_whole_bar(monkeypatch, sigterm_raises):
    import gc
    import sys

    import tqdm

    from vae import console

    made, unraisable = [], []
    constructor = tqdm.tqdm.__init__

    def cut_short(self, *args, **kwargs):
        signal.raise_signal(signal.SIGTERM)  # arrives before the bar has any of its fields
        constructor(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(tqdm.tqdm, "__init__", cut_short)
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(KeyboardInterrupt):
        console.progress_bar(total=3)
    assert len(made) == 1 and hasattr(made[0], "pos")  # made whole, then the signal
    made.clear()
    gc.collect()
    assert unraisable == []  # its destructor closed it without a traceback
