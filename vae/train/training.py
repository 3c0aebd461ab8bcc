"""Training, once for both trainers: run folder and config guard, distribution strategy,
checkpoints by step with resume, TensorBoard, preview PNG + progress video, Ctrl-C/SIGTERM and
NaN handling, and the distributed step with its loss scaling.

A trainer script hands `train` a recipe: what is its own (models and optimizers, loss terms per
phase, the loss on fixed frames, preview rows). Everything around that lives here, once, in
the manner of Keras's fit with a model that knows its train_step:

    class Recipe:                       # duck-typed; see train_vae.py and train_refiner.py
        kind = "vae"                    # config.json's kind
        preview_title = "..."           # TensorBoard's name for the preview grid
        def prepare(self, manifest, data_dir):  # in the strategy's scope, before the run
            -> {"model": {...}, "training": {...}, ...}  # folder is checked: config.json
        def build(self, make_optimizer): -> {checkpoint name: model or optimizer}
                                        # make_optimizer(rate, **adam) -> an Adam
        def phases(self, steps): -> [Phase, ...], the last ending at `steps`
        def fixed_batch_loss(self, images): -> {name: scalar}, inference mode
        def preview_rows(self, images): -> [images, outputs, ...]
"""
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable

import imageio.v3 as iio
import tensorflow as tf

from vae import InputError
from vae.media import atomic
from vae.models import precision
from vae.media import storage
from vae.media.gallery import stack_rows, write_png
from vae.data.datafolder import load_manifest, record_count
from vae.data.records import load_frames, make_dataset
from vae.train.runs import CONFIG, read_config
from vae.media.video import write_video

PREVIEW = "preview.png"
PROGRESS_VIDEO = "progress.mp4"
PREVIEW_DIR = "previews"
PROGRESS_FPS = 4
PREVIEW_FRAMES = 6
STRATEGIES = ("default", "mirrored", "multiworker")
STOP = "stop_requested"  # the training step's all-reduced stop flag


class NonFiniteLoss(Exception):
    """The loss became NaN or infinite; the last good checkpoint is kept as it is."""


@dataclass
class Update:
    """One optimizer stepping some variables on the sum of some of a phase's loss terms.

    terms: the names of the terms it minimises (None: all of them); its loss is logged as
    loss_name. The flag's learning_rate wins over the rate saved in a checkpoint."""
    optimizer: object
    learning_rate: float
    variables: list
    terms: tuple = None
    loss_name: str = "loss"


@dataclass
class Phase:
    """A stretch of training up to a global step: one forward pass per step gives the loss
    terms, and each update (one for a plain network, two for a GAN's players) steps its own
    variables on its own terms.

    loss_terms: images -> {term: per-image values}, averaged over the global batch; each term
    is logged by its name when there are several (terms no update names are only logged).
    watch: (step, metrics) -> warning lines to print, or None."""
    name: str
    until: int
    loss_terms: Callable
    updates: list
    watch: Callable = None


def train(args, recipe):
    """Run a recipe with the trainers' common flags (cli.add_training_flags); -> exit code."""
    arithmetic, line = precision.resolve(args.precision)
    print(line)
    with precision.policy(arithmetic):  # before any model is built, the frozen VAE's too
        return _train(args, recipe, arithmetic)


def _train(args, recipe, arithmetic):
    manifest = load_manifest(args.data)
    strategy = make_strategy(args.strategy)
    chief = is_chief(strategy)
    with strategy.scope():
        sections = recipe.prepare(manifest, args.data)
    run_config = {"kind": recipe.kind, **sections, "training": {
        "data": args.data, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "seed": args.seed, "precision": arithmetic, **sections.get("training", {})}}
    resumed, dataset = start_run(args, strategy, run_config, manifest)
    with strategy.scope():
        objects = recipe.build(make_optimizer)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # A LossScaleOptimizer (float16) is saved as its inner Adam: the same checkpoint in every
        # precision, so a run resumes in another one (the loss scale adapts again in a few steps).
        checkpoint = tf.train.Checkpoint(step=step, **{
            name: getattr(o, "inner_optimizer", o) for name, o in objects.items()})

    fixed_frames = load_frames(args.data, manifest, PREVIEW_FRAMES)
    loop = TrainingLoop(args.logdir, strategy, checkpoint,
                        lambda: recipe.fixed_batch_loss(fixed_frames),
                        checkpoint_every=args.checkpoint_every,
                        preview_every=args.preview_every,
                        preview=lambda: (stack_rows(recipe.preview_rows(fixed_frames)),
                                         recipe.preview_title))
    start = loop.restore()
    phases = recipe.phases(total_steps(args.steps, args.epochs, record_count(manifest),
                                       args.batch_size))
    for phase in phases:
        for update in phase.updates:
            update.optimizer.learning_rate = update.learning_rate
    announce(args.logdir, resumed, start, phases[-1].until, args.data, manifest,
             args.batch_size, strategy)
    if start == 0:
        loop.write_preview()

    iterator = iter(dataset)
    jit = use_xla(args.xla)
    for phase in phases:
        if int(step.numpy()) >= phase.until and phase is not phases[-1]:
            continue
        loop.learning_rate = phase.updates[0].learning_rate
        train_step = make_train_step(strategy, phase.updates, phase.loss_terms,
                                     args.batch_size, jit_compile=jit)
        try:
            result = loop.run_until(phase.until, train_step, iterator, args.batch_size,
                                    desc=phase.name, watch=phase.watch)
        except NonFiniteLoss as err:
            print(non_finite_message(err, args.logdir), file=sys.stderr)
            return 1
        if result["reason"] != "done" or phase is phases[-1]:
            return report(result, args.logdir, chief)
        loss_name = phase.updates[0].loss_name
        print(f"{phase.name} done at step {result['step']} ({loss_name.replace('_', ' ')} "
              f"{result['metrics'].get(loss_name, float('nan')):.4g})")


def batch_means(terms, losses=None):
    """{term: per-image values} -> {loss name: mean of the sum of its terms, term: mean, ...};
    losses: {loss name: term names}, default {"loss": all terms}."""
    means = {name: tf.reduce_mean(values) for name, values in terms.items()}
    losses = losses or {"loss": tuple(means)}
    return {**{name: tf.add_n([means[t] for t in names]) for name, names in losses.items()},
            **means}


# ---------------------------------------------------------------- run folder and its config

def prepare_run(logdir, config, guarded=("kind", "model", "discriminator"), write=True):
    """Check config against an existing run's config.json (resume) or write it (new run).

    The guarded sections must match exactly: resuming a checkpoint with another architecture
    cannot work. Returns True when logdir already holds a run.
    """
    path = os.path.join(logdir, CONFIG)
    if storage.exists(path):
        old = read_config(logdir)
        for key in guarded:
            if old.get(key) != config.get(key):
                raise InputError(
                    f"{logdir} holds a run with a different {key} ({_diff(old.get(key), config.get(key))}); "
                    "use another --logdir or the same flags as before")
        return True
    if write:
        storage.makedirs(logdir)
        atomic.write_json(path, config)
    return False


def _diff(old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return ", ".join(f"{k}: was {old.get(k)}, now {new.get(k)}" for k in keys)
    return f"was {old}, now {new}"


def total_steps(steps, epochs, records, batch_size):
    """--steps is the total to reach; --epochs converts to steps over the data's record count."""
    if epochs is not None:
        return max(1, math.ceil(epochs * records / batch_size))
    return steps


# ---------------------------------------------------------------- distribution

def make_strategy(name):
    """A tf.distribute strategy by name; multiworker reads the cluster from TF_CONFIG."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise InputError("--strategy multiworker needs TF_CONFIG describing the cluster "
                             "(see README.md, 'Several GPUs or machines')")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as err:
            raise InputError(f"TF_CONFIG is not valid JSON: {err}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy):
    """The one worker that writes checkpoints, summaries and previews."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_name(strategy):
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "local"
    return f"{resolver.task_type}-{resolver.task_id}"


def use_xla(choice):
    """--xla auto|on|off -> bool; auto compiles only where a GPU is present."""
    if choice == "auto":
        return bool(tf.config.list_physical_devices("GPU"))
    return choice == "on"


def make_optimizer(learning_rate, **adam):
    """Adam (adam: its other arguments, e.g. beta_1); loss-scaled under mixed_float16, whose
    small gradients would otherwise underflow (bfloat16 has float32's range: no need)."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate, **adam)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_train_step(strategy, updates, loss_terms, global_batch_size, jit_compile=False):
    """A tf.function running one step on next(iterator) on every replica: the loss terms of
    the batch from one forward pass, averaged over the global batch; then each update's
    gradients of the sum of its terms (loss-scaled when its optimizer is a
    LossScaleOptimizer) applied to its variables. Returns the batch means of each update's
    loss and, when there are several terms, of each term, summed over replicas, and STOP,
    the sum of every worker's stop request."""

    def average(values):
        return tf.nn.compute_average_loss(values, global_batch_size=global_batch_size)

    def scaled(update, loss):
        return update.optimizer.scale_loss(loss) if hasattr(update.optimizer, "scale_loss") \
            else loss

    @tf.function(jit_compile=jit_compile)
    def gradients(images):
        with tf.GradientTape(persistent=len(updates) > 1) as tape:
            terms = {name: average(values) for name, values in loss_terms(images).items()}
            losses = [tf.add_n([terms[t] for t in (u.terms or terms)]) for u in updates]
            targets = [scaled(u, loss) for u, loss in zip(updates, losses)]
        grads = [tape.gradient(target, u.variables) for u, target in zip(updates, targets)]
        metrics = {u.loss_name: loss for u, loss in zip(updates, losses)}
        return grads, {**metrics, **terms} if len(terms) > 1 else metrics

    def replica_step(batch, stop):
        grads, metrics = gradients(batch["image"])
        for update, update_grads in zip(updates, grads):
            update.optimizer.apply_gradients(zip(update_grads, update.variables))
        return {**metrics, STOP: stop}

    @tf.function
    def train_step(iterator, stop=0.0):
        """stop: this worker's request to stop (a signal number, or 0); summed with the other
        workers' in the same collective as the loss, so that every worker sees it after the
        same step."""
        per_replica = strategy.run(replica_step, args=(next(iterator),
                                                      tf.cast(stop, tf.float32)))
        return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()}

    return train_step


# ---------------------------------------------------------------- the loop

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

    checkpoint: a tf.train.Checkpoint holding at least `step` (an int64 tf.Variable).
    fixed_batch_loss: a function () -> {name: scalar} computing the loss on fixed frames with the
        current weights. It runs before every checkpoint, which is skipped (NonFiniteLoss) unless
        all values are finite: a blown-up update never replaces the last good checkpoint.
        Its values are logged as `fixed_batch/<name>`, a smoother curve than the training loss.
    preview: a function () -> (grid image uint8, short title) run every preview_every steps.
    learning_rate: set by `train` for each phase; logged with the summaries when set.
    """

    def __init__(self, logdir, strategy, checkpoint, fixed_batch_loss, *, checkpoint_every,
                 preview_every, summary_every=10, keep_checkpoints=3, preview=None):
        self.logdir = logdir
        self.strategy = strategy
        self.checkpoint = checkpoint
        self.step = checkpoint.step
        self.fixed_batch_loss = fixed_batch_loss
        self.checkpoint_every = checkpoint_every
        self.preview_every = preview_every
        self.summary_every = summary_every
        self.preview = preview
        self.learning_rate = None  # the running phase's, logged with the summaries
        self.progress_frames = None  # the preview grids that make up progress.mp4
        self.chief = is_chief(strategy)
        # Under MultiWorkerMirroredStrategy every worker must take part in saving; only the
        # chief's copy is kept, the others write to a scratch folder that is removed.
        self.save_dir = logdir if self.chief else tempfile.mkdtemp(
            prefix=f"vae-{worker_name(strategy)}-")
        self.manager = tf.train.CheckpointManager(
            checkpoint, self.save_dir, max_to_keep=keep_checkpoints, checkpoint_name="ckpt",
            step_counter=self.step)
        self.writer = (tf.summary.create_file_writer(logdir) if self.chief
                       else tf.summary.create_noop_writer())

    def restore(self):
        """Resume from the latest checkpoint in logdir; returns the step reached (0 if none)."""
        latest = tf.train.latest_checkpoint(self.logdir)
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.step.numpy())

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
        path = self.manager.save(checkpoint_number=step)
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
        from tqdm import tqdm

        first = int(self.step.numpy())
        metrics, reason, images_per_second = {}, "done", 0.0
        started = time.time()
        window_start, window_steps = time.time(), 0
        with StopSignals() as signals, tqdm(total=steps, initial=first, unit="step", desc=desc,
                                            dynamic_ncols=True, disable=not self.chief) as bar:
            try:
                while int(self.step.numpy()) < steps:
                    values = train_step(iterator, tf.constant(float(signals.received or 0)))
                    metrics = {k: float(v) for k, v in values.items()}
                    stop = metrics.pop(STOP, 0.0) > 0
                    if not all(math.isfinite(v) for v in metrics.values()):
                        raise NonFiniteLoss(
                            f"non-finite loss at step {int(self.step.numpy())}: "
                            + ", ".join(f"{k}={v}" for k, v in metrics.items()))
                    self.step.assign_add(1)
                    step = int(self.step.numpy())
                    window_steps += 1
                    for line in (watch(step, metrics) if watch else []):
                        if self.chief:
                            bar.write(line, file=sys.stderr)
                    if step % self.summary_every == 0 or step == steps:
                        now = time.time()
                        images_per_second = window_steps * images_per_step / max(now - window_start, 1e-9)
                        window_start, window_steps = now, 0
                        self._summaries(step, metrics, images_per_second)
                        shown = "loss" if "loss" in metrics else next(iter(metrics), None)
                        postfix = {shown: f"{metrics[shown]:.4g}"} if shown else {}
                        bar.set_postfix(**postfix, img_s=f"{images_per_second:.1f}")
                    bar.update()
                    if step % self.checkpoint_every == 0:
                        self.save()
                    if self.preview_every and step % self.preview_every == 0:
                        self.write_preview()
                    if stop:  # a signal here or on another worker: all stop at this step
                        reason = signal.Signals(signals.received or signal.SIGTERM).name
                        if signals.received is None:
                            print(f"step {step}: another worker was stopped by a signal; "
                                  "stopping too", file=sys.stderr)
                        break
            except KeyboardInterrupt:
                reason = "SIGINT"
            except NonFiniteLoss:
                self.writer.flush()
                raise
            checkpoint = self.save()  # raises NonFiniteLoss rather than save broken weights
            if self.preview_every and int(self.step.numpy()) > first and \
                    int(self.step.numpy()) % self.preview_every:
                self.write_preview()
        self.writer.flush()
        if not self.chief:
            shutil.rmtree(self.save_dir, ignore_errors=True)
        return {"reason": reason, "first_step": first, "step": int(self.step.numpy()),
                "metrics": metrics, "images_per_second": images_per_second,
                "seconds": time.time() - started, "checkpoint": checkpoint}

    def _summaries(self, step, metrics, images_per_second):
        with self.writer.as_default(step=step):
            for name, value in metrics.items():
                tf.summary.scalar(name, value)
            tf.summary.scalar("images_per_second", images_per_second)
            if self.learning_rate is not None:
                tf.summary.scalar("learning_rate", self.learning_rate)


def distributed_dataset(strategy, data_dir, manifest, batch_size, seed):
    """The training batches of a data folder, split over the strategy's replicas and workers."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise InputError(f"--batch-size {batch_size} does not split evenly over {replicas} replicas")
    return strategy.distribute_datasets_from_function(
        lambda ctx: make_dataset(data_dir, manifest, batch_size // replicas, seed=seed,
                                 input_context=ctx))


def start_run(args, strategy, run_config, manifest):
    """What every trainer does before building its models: check or write config.json, set
    the seed, and open the distributed input. -> (resumed, dataset)"""
    import keras

    resumed = prepare_run(args.logdir, run_config, write=is_chief(strategy))
    keras.utils.set_random_seed(args.seed)
    return resumed, distributed_dataset(strategy, args.data, manifest, args.batch_size, args.seed)


def announce(logdir, resumed, start, steps, data_dir, manifest, batch_size, strategy):
    """Say whether this run resumes, and what it is about to do."""
    if resumed and start:
        print(f"resuming {logdir} from step {start} (checkpoint ckpt-{start})")
    elif resumed:
        print(f"{logdir} has a config.json but no checkpoint yet: starting at step 0")
    size = manifest["frame_size"]
    records = record_count(manifest)
    print(f"training on {records} frames of {size['width']}x{size['height']} from {data_dir}, "
          f"batch {batch_size} on {strategy.num_replicas_in_sync} replica(s), "
          f"steps {start} -> {steps}")


def report(result, logdir, chief):
    """Closing summary of a run; the exit code (0 done, 128 + signal when interrupted)."""
    from vae.console import format_table

    if chief:
        metrics = result["metrics"]
        metric_names = list(metrics) or ["loss"]
        print(format_table(
            ["steps"] + metric_names + ["images/s", "time"],
            [[f"{result['first_step']} -> {result['step']}"]
             + [f"{metrics.get(n, float('nan')):.4g}" for n in metric_names]
             + [f"{result['images_per_second']:.1f}", f"{result['seconds']:.0f} s"]]))
        print(f"checkpoint: {result['checkpoint']}; preview: {logdir}/preview.png, "
              f"{logdir}/progress.mp4; TensorBoard: tensorboard --logdir {logdir}")
    if result["reason"] != "done":
        print(f"stopped by {result['reason']} at step {result['step']}; run the same command "
              "to resume", file=sys.stderr)
    return exit_code(result["reason"])


def non_finite_message(err, logdir):
    return (f"error: {err}. Training stopped; the last good checkpoint "
            f"({tf.train.latest_checkpoint(logdir) or 'none'}) is kept. "
            "Try a lower --learning-rate.")


def exit_code(reason):
    """Shell convention for a run stopped by a signal (128 + signal number), 0 when done."""
    if reason == "done":
        return 0
    return 128 + int(getattr(signal, reason, signal.SIGINT))

