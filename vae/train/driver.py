"""train(recipe): a recipe run with everything around its step, once for every
trainer: run folder and config guard, strategy, precision, seed, checkpoints with resume,
phases, and the closing summary with its exit code."""
import math
import signal
import sys
from dataclasses import replace

import tensorflow as tf

from vae.data.datafolder import record_count
from vae.data.records import damaged_data, load_frames
from vae.flags import resumable
from vae.media.gallery import stack_rows
from vae.media.targets import check_target
from vae.models import precision
from vae.train.checkpointed_loop import NonFiniteLoss, TrainingLoop
from vae.train.context import RunContext
from vae.train.distribute import distributed_dataset, use_xla
from vae.train.distributed_step import make_optimizer, make_train_step
from vae.train.lock import locked
from vae.train.options import PainterTraining, RefinerTraining, VAETraining, training_section
from vae.train.run_folder import (
    has_checkpoint,
    is_run_folder,
    option,
    prepare_run,
    record_resume,
    refuse_damaged,
)

PREVIEW_FRAMES = 6


def recipe_for(options):
    """The recipe of a trainer's options (VAETraining, RefinerTraining, PainterTraining)."""
    from vae.train.painter_recipe import PainterRecipe
    from vae.train.refiner_recipe import RefinerRecipe
    from vae.train.vae_recipe import VAERecipe

    recipes = {VAETraining: VAERecipe, RefinerTraining: RefinerRecipe,
               PainterTraining: PainterRecipe}
    return recipes[type(options)](options)


def train(recipe):
    """Run a Recipe (its options' run: TrainOptions); returns the exit code (0 done, 1 when
    the loss became non-finite, 128 + signal when stopped)."""
    options = recipe.options.run
    arithmetic, line = precision.resolve(options.precision)
    print(line)
    with precision.policy(arithmetic):  # before any model is built, the frozen VAE's too
        return _train(options, recipe, arithmetic)


def _train(options, recipe, arithmetic):
    refuse_damaged(options.logdir)
    check_target(options.logdir, "--logdir", folder=True, inputs=(options.data, *recipe.inputs),
                 replaceable=is_run_folder, what="run folder of a trainer")
    context = RunContext.start(options)
    # a run that ends before its first checkpoint (a full disk, a file-size limit) leaves
    # nothing to resume: the folder it made goes with it
    try:
        with locked(options.logdir, hold=context.chief,
                    resumable=lambda: has_checkpoint(options.logdir)):
            return _run(context, recipe, arithmetic)
    except tf.errors.DataLossError as err:  # a record damaged before its checksum was taken
        raise damaged_data(options.data, context.manifest, err) from None


def _run(context, recipe, arithmetic):
    options, strategy, manifest = context.options, context.strategy, context.manifest
    with strategy.scope():
        sections = recipe.prepare(manifest, options.data)
    run_config = {"kind": recipe.kind, **sections, "training": {
        **training_section(recipe.options), "precision": arithmetic}}
    resumed, changes, dataset = start_run(context, run_config, resumable(recipe.options))
    context = replace(context, changes=changes)
    with strategy.scope():
        checkpoint = make_checkpoint(recipe.build(make_optimizer))
    fixed_frames = load_frames(options.data, manifest, PREVIEW_FRAMES)
    loop = TrainingLoop(context, checkpoint, lambda: recipe.fixed_batch_loss(fixed_frames),
                        preview=lambda: (stack_rows(recipe.preview_rows(fixed_frames)),
                                         recipe.preview_title))
    start = loop.restore()
    if changes and context.chief:
        record_resume(options.logdir, start, changes)
    phases = recipe.phases(total_steps(options.steps, options.epochs, record_count(manifest),
                                       options.batch_size))
    for phase in phases:
        for update in phase.updates:
            update.optimizer.learning_rate = update.learning_rate
    announce(context, resumed, start, phases[-1].until)
    if start == 0:
        loop.write_preview()
    return run_phases(context, loop, phases, iter(dataset))


def make_checkpoint(objects):
    """A tf.train.Checkpoint of the recipe's objects and the global step. A LossScaleOptimizer
    (float16) is saved as its inner Adam: the same checkpoint in every precision, so a run
    resumes in another one (the loss scale adapts again in a few steps)."""
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    return tf.train.Checkpoint(step=step, **{
        name: getattr(o, "inner_optimizer", o) for name, o in objects.items()})


def run_phases(context, loop, phases, iterator):
    """Each phase not yet done, in order, each with its own compiled step; -> exit code."""
    options = context.options
    jit = use_xla(options.xla)
    for phase in phases:
        if int(loop.step.numpy()) >= phase.until and phase is not phases[-1]:
            continue
        loop.learning_rate = phase.updates[0].learning_rate
        train_step = make_train_step(context.strategy, phase.updates, phase.loss_terms,
                                     options.batch_size, jit_compile=jit)
        try:
            result = loop.run_until(phase.until, train_step, iterator, options.batch_size,
                                    desc=phase.name, watch=phase.watch)
        except NonFiniteLoss as err:
            print(non_finite_message(err, options.logdir), file=sys.stderr)
            return 1
        if result["reason"] != "done" or phase is phases[-1]:
            return report(result, context)
        loss_name = phase.updates[0].loss_name
        print(f"{phase.name} done at step {result['step']} ({loss_name.replace('_', ' ')} "
              f"{result['metrics'].get(loss_name, float('nan')):.4g})")


def total_steps(steps, epochs, records, batch_size):
    """--steps is the total to reach; --epochs converts to steps over the data's record count."""
    if epochs is not None:
        return max(1, math.ceil(epochs * records / batch_size))
    return steps


def start_run(context, run_config, resumable):
    """What every trainer does before building its models: check or write config.json, set
    the seed, and open the distributed input. -> (resumed, the resumable options changed,
    dataset)"""
    import keras

    options = context.options
    resumed, changes = prepare_run(options.logdir, run_config, resumable, write=context.chief)
    keras.utils.set_random_seed(options.seed)
    return resumed, changes, distributed_dataset(context.strategy, options.data,
                                                 context.manifest, options.batch_size,
                                                 options.seed)


def announce(context, resumed, start, steps):
    """Say whether this run resumes, and what it is about to do."""
    options = context.options
    if resumed and start:
        print(f"resuming {options.logdir} from step {start} (checkpoint ckpt-{start})")
    if context.changes:
        print(f"changed from step {start} on: {changed(context.changes)}")
    elif resumed:
        print(f"{options.logdir} has a config.json but no checkpoint yet: starting at step 0")
    size = context.manifest["frame_size"]
    records = record_count(context.manifest)
    print(f"training on {records} frames of {size['width']}x{size['height']} from "
          f"{options.data}, batch {options.batch_size} on "
          f"{context.strategy.num_replicas_in_sync} replica(s), steps {start} -> {steps}")


def report(result, context):
    """Closing summary of a run; the exit code (0 done, 128 + signal when interrupted)."""
    from vae.console import format_table

    logdir = context.logdir
    if context.chief:
        metrics = result["metrics"]
        metric_names = list(metrics) or ["loss"]
        print(format_table(
            ["steps"] + metric_names + ["images/s", "time"],
            [[f"{result['first_step']} -> {result['step']}"]
             + [f"{metrics.get(n, float('nan')):.4g}" for n in metric_names]
             + [f"{result['images_per_second']:.1f}", f"{result['seconds']:.0f} s"]]))
        if context.changes:
            print(f"options changed when this run resumed: {changed(context.changes)} "
                  f"(recorded in {logdir}/config.json)")
        print(f"checkpoint: {result['checkpoint']}; preview: {logdir}/preview.png, "
              f"{logdir}/progress.mp4; TensorBoard: tensorboard --logdir {logdir}")
    if result["reason"] != "done":
        print(f"stopped by {result['reason']} at step {result['step']}; run the same command "
              "to resume", file=sys.stderr)
    return exit_code(result["reason"])


def changed(changes):
    return ", ".join(f"{option(name)} {before} -> {now}" for name, (before, now) in
                     changes.items())


def non_finite_message(err, logdir):
    return (f"error: {err}. Training stopped; the last good checkpoint "
            f"({tf.train.latest_checkpoint(logdir) or 'none'}) is kept. "
            "Try a lower --learning-rate.")


def exit_code(reason):
    """Shell convention for a run stopped by a signal (128 + signal number), 0 when done."""
    if reason == "done":
        return 0
    return 128 + int(getattr(signal, reason, signal.SIGINT))
