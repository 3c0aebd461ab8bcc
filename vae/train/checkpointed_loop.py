"""The training loop: checkpointed, resumable stepping of a distributed step function, with
Ctrl-C/SIGTERM, NaN guard, TensorBoard summaries and previews each in a piece of its own."""
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time

import imageio.v3 as iio
import tensorflow as tf

from vae import InputError
from vae.media import storage
from vae.media.gallery import write_png
from vae.media.video import write_video
from vae.train.distributed_step import STOP

PREVIEW = "preview.png"
PROGRESS_VIDEO = "progress.mp4"
PREVIEW_DIR = "previews"
PROGRESS_FPS = 4


class NonFiniteLoss(Exception):
    """The loss became NaN or infinite; the last good checkpoint is kept as it is."""


def check_finite(metrics, step):
    """NonFiniteLoss when a step's loss is NaN or infinite."""
    if not all(math.isfinite(v) for v in metrics.values()):
        raise NonFiniteLoss(f"non-finite loss at step {step}: "
                            + ", ".join(f"{k}={v}" for k, v in metrics.items()))


class Throughput:
    """Images per second over the steps since the last reset."""

    def __init__(self, images_per_step):
        self.images_per_step = images_per_step
        self.since, self.steps, self.last = time.time(), 0, 0.0

    def count(self):
        self.steps += 1

    def reset(self):
        now = time.time()
        self.last = self.steps * self.images_per_step / max(now - self.since, 1e-9)
        self.since, self.steps = now, 0
        return self.last


class StopSignals:
    """Turn the first Ctrl-C or SIGTERM into a request to stop after the current step.

    A second Ctrl-C interrupts at once (the default behaviour).
    """

    def __init__(self):
        self.received = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class TrainingLoop:
    """Checkpointed, resumable training of a distributed step function.

    context: the run's RunContext (its folder, whether this worker writes it, how often to
        checkpoint and preview).
    checkpoint: a tf.train.Checkpoint holding at least `step` (an int64 tf.Variable).
    fixed_batch_loss: a function () -> {name: scalar} computing the loss on fixed frames with the
        current weights. It runs before every checkpoint, which is skipped (NonFiniteLoss) unless
        all values are finite: a blown-up update never replaces the last good checkpoint.
        Its values are logged as `fixed_batch/<name>`, a smoother curve than the training loss.
    preview: a function () -> (grid image uint8, short title) run every preview_every steps.
    learning_rate: set by `train` for each phase; logged with the summaries when set.
    """

    def __init__(self, context, checkpoint, fixed_batch_loss, *, summary_every=10,
                 keep_checkpoints=3, preview=None):
        logdir = self.logdir = context.logdir
        self.checkpoint = checkpoint
        self.step = checkpoint.step
        self.fixed_batch_loss = fixed_batch_loss
        self.checkpoint_every = context.options.checkpoint_every
        self.preview_every = context.options.preview_every
        self.summary_every = summary_every
        self.preview = preview
        self.learning_rate = None  # the running phase's, logged with the summaries
        self.progress_frames = None  # the preview grids that make up progress.mp4
        self.chief = context.chief
        # Under MultiWorkerMirroredStrategy every worker must take part in saving; only the
        # chief's copy is kept, the others write to a scratch folder that is removed.
        self.save_dir = logdir if self.chief else tempfile.mkdtemp(
            prefix=f"vae-{context.worker}-")
        self.manager = tf.train.CheckpointManager(
            checkpoint, self.save_dir, max_to_keep=keep_checkpoints, checkpoint_name="ckpt",
            step_counter=self.step)
        self.writer = (tf.summary.create_file_writer(logdir) if self.chief
                       else tf.summary.create_noop_writer())

    def restore(self):
        """Resume from the latest checkpoint in logdir that reads back whole (a damaged one,
        say cut short by a full disk, is skipped with a message); returns the step reached,
        0 if there is none. The checkpoint files themselves are read too, so that a missing
        or stale `checkpoint` index never starts a run again at step 0 over them. InputError
        when every checkpoint there is damaged."""
        paths = self.checkpoint_files() if self.chief else \
            [p for p in [tf.train.latest_checkpoint(self.logdir)] if p]
        for path in paths:
            try:
                self.checkpoint.restore(path).assert_existing_objects_matched()
            except Exception as err:  # TensorFlow's reader fails in many ways on a cut file
                print(f"warning: checkpoint {path} is damaged ({str(err).splitlines()[0]}); "
                      "trying the one before", file=sys.stderr)
                continue
            if path not in self.manager.checkpoints:
                print(f"note: {path} is not in {self.logdir}'s checkpoint index: resuming "
                      "from its files", file=sys.stderr)
            return int(self.step.numpy())
        if paths:
            raise InputError(f"every checkpoint in {self.logdir} is damaged: start a new "
                             "--logdir, or delete them to start again")
        return 0

    def checkpoint_files(self):
        """The checkpoints whose files are in logdir (ckpt-N.index), newest first, whatever
        the index says."""
        found = {int(m.group(1)): path[:-len(".index")]
                 for path in storage.glob(os.path.join(self.logdir, "ckpt-*.index"))
                 for m in [re.fullmatch(r"ckpt-(\d+)\.index", os.path.basename(path))] if m}
        return [found[step] for step in sorted(found, reverse=True)]

    def save(self):
        """Checkpoint the current step, unless the update that led here broke the weights."""
        step = int(self.step.numpy())
        values = {k: float(v) for k, v in self.fixed_batch_loss().items()}
        if not all(math.isfinite(v) for v in values.values()):
            raise NonFiniteLoss(f"the weights at step {step} give a non-finite loss on the "
                                "fixed batch: " + ", ".join(f"{k}={v}" for k, v in values.items()))
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"fixed_batch/{name}", value)
        if self.manager.latest_checkpoint and self.manager.latest_checkpoint.endswith(f"-{step}"):
            return self.manager.latest_checkpoint
        try:
            path = self.manager.save(checkpoint_number=step)
        except BaseException:  # a full disk, a signal: no half-written checkpoint stays
            for partial in storage.glob(os.path.join(self.save_dir, f"ckpt-{step}_temp*")):
                storage.remove(partial)
            raise
        return path if self.chief else None

    def write_preview(self):
        if not (self.chief and self.preview):
            return
        step = int(self.step.numpy())
        grid, title = self.preview()
        folder = os.path.join(self.logdir, PREVIEW_DIR)
        write_png(os.path.join(folder, f"step-{step:08d}.png"), grid)
        write_png(os.path.join(self.logdir, PREVIEW), grid)
        with self.writer.as_default(step=step):
            tf.summary.image(title, grid[None], max_outputs=1)
        if self.progress_frames is None:  # earlier runs' previews, read once per run
            self.progress_frames = [iio.imread(storage.read_bytes(f)) for f in
                                    storage.glob(os.path.join(folder, "step-*.png"))]
        else:
            self.progress_frames.append(grid)
        images = self.progress_frames
        if all(i.shape == images[-1].shape for i in images):
            write_video(os.path.join(self.logdir, PROGRESS_VIDEO), images, PROGRESS_FPS)

    def run_until(self, steps, train_step, iterator, images_per_step, desc="training",
                  watch=None):
        """Call train_step(iterator) -> {name: scalar} until self.step reaches steps; watch:
        (step, metrics) -> warning lines to print (the chief prints them).

        Returns a summary dict: steps done, stop reason, last metrics, images/s, checkpoint.
        """
        from vae.console import progress_bar

        first = int(self.step.numpy())
        started = time.time()
        rate = Throughput(images_per_step)
        state = {"metrics": {}, "reason": "done"}
        with StopSignals() as signals, progress_bar(
                total=steps, initial=first, unit="step", desc=desc,
                disable=not self.chief) as bar:
            try:
                while int(self.step.numpy()) < steps:
                    state["metrics"], stop = self._step(train_step, iterator, signals)
                    step = int(self.step.numpy())
                    self._warn(bar, watch, step, state["metrics"])
                    self._log(bar, rate, step, steps, state["metrics"])
                    self._checkpoint_and_preview(step)
                    if stop:
                        state["reason"] = self._stop_reason(signals, step)
                        break
            except KeyboardInterrupt:
                state["reason"] = "SIGINT"
            except NonFiniteLoss:
                self.writer.flush()
                raise
            checkpoint = self.save()  # raises NonFiniteLoss rather than save broken weights
            step = int(self.step.numpy())
            if self.preview_every and step > first and step % self.preview_every:
                self.write_preview()
        self.writer.flush()
        if not self.chief:
            shutil.rmtree(self.save_dir, ignore_errors=True)
        return {"reason": state["reason"], "first_step": first, "step": step,
                "metrics": state["metrics"], "images_per_second": rate.last,
                "seconds": time.time() - started, "checkpoint": checkpoint}

    def _step(self, train_step, iterator, signals):
        """One training step, guarded: -> (metrics, whether any worker asked to stop)."""
        values = train_step(iterator, tf.constant(float(signals.received or 0)))
        metrics = {k: float(v) for k, v in values.items()}
        stop = metrics.pop(STOP, 0.0) > 0
        check_finite(metrics, int(self.step.numpy()))
        self.step.assign_add(1)
        return metrics, stop

    def _warn(self, bar, watch, step, metrics):
        for line in (watch(step, metrics) if watch else []):
            if self.chief:
                bar.write(line, file=sys.stderr)

    def _log(self, bar, rate, step, steps, metrics):
        """Summaries and the progress bar's figures every summary_every steps (and the last)."""
        rate.count()
        if step % self.summary_every and step != steps:
            bar.update()
            return
        images_per_second = rate.reset()
        self._summaries(step, metrics, images_per_second)
        shown = "loss" if "loss" in metrics else next(iter(metrics), None)
        postfix = {shown: f"{metrics[shown]:.4g}"} if shown else {}
        bar.set_postfix(**postfix, img_s=f"{images_per_second:.1f}")
        bar.update()

    def _checkpoint_and_preview(self, step):
        if step % self.checkpoint_every == 0:
            self.save()
        if self.preview_every and step % self.preview_every == 0:
            self.write_preview()

    @staticmethod
    def _stop_reason(signals, step):
        """A signal here or on another worker: every worker stops after the same step."""
        if signals.received is None:
            print(f"step {step}: another worker was stopped by a signal; stopping too",
                  file=sys.stderr)
        return signal.Signals(signals.received or signal.SIGTERM).name

    def _summaries(self, step, metrics, images_per_second):
        with self.writer.as_default(step=step):
            for name, value in metrics.items():
                tf.summary.scalar(name, value)
            tf.summary.scalar("images_per_second", images_per_second)
            if self.learning_rate is not None:
                tf.summary.scalar("learning_rate", self.learning_rate)
