"""What the top-level scripts share: argparse value types, the trainers' common flags, and the
`error: ...` / exit 2 convention. Command-line code only; the library is in vae/."""
import argparse
import re
import signal
import sys

import vae  # noqa: F401  (quietens TensorFlow before any script loads it)
from vae import InputError, is_utf8
from vae.argtypes import (
    int_list,
    non_negative_int,
    positive_float,
    positive_int,
    random_seed,
)
from vae.models.precision import PRECISIONS
from vae.train.options import STRATEGIES, TrainOptions


class Parser(argparse.ArgumentParser):
    """argparse, whose --help shows the script's docstring as written, and which refuses an
    argument that is not valid UTF-8 (a file name from another system) as a usage error."""

    def parse_known_args(self, args=None, namespace=None):
        parsed, rest = super().parse_known_args(args, namespace)
        for value in vars(parsed).values():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, str) and not is_utf8(item):
                    self.error(f"{ascii(item)} is not valid UTF-8: rename the file")
        return parsed, rest


def parser_for(doc):
    return Parser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_training_flags(parser, logdir, learning_rate, steps=100000, batch_size=None):
    """Flags that the trainers share: TrainOptions.from_args reads them. batch_size: this
    trainer's default, when not TrainOptions'."""
    d = TrainOptions
    batch_size = batch_size or d.batch_size
    parser.add_argument("--data", default="data", metavar="DIR",
                        help="data folder written by extract_frames.py (default: data)")
    parser.add_argument("--logdir", default=logdir, metavar="DIR",
                        help="run folder: checkpoints, config.json, TensorBoard logs, previews "
                             f"(default: {logdir}); an existing run there is resumed")
    parser.add_argument("--batch-size", type=positive_int, default=batch_size, metavar="N",
                        help=f"global batch size, split over replicas (default: {batch_size})")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int, default=steps, metavar="N",
                        help=f"total steps to reach, counting earlier runs (default: {steps})")
    length.add_argument("--epochs", type=positive_float, default=None, metavar="N",
                        help="train for N passes over the data instead (a total, like --steps)")
    parser.add_argument("--learning-rate", type=positive_float, default=learning_rate,
                        metavar="LR", help=f"Adam learning rate (default: {learning_rate:g})")
    parser.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every,
                        metavar="N", help="save a checkpoint every N steps, and always on exit "
                                          f"(default: {d.checkpoint_every})")
    parser.add_argument("--preview-every", type=positive_int, default=d.preview_every,
                        metavar="N", help="write preview.png and a progress.mp4 frame every N "
                                          f"steps (default: {d.preview_every})")
    parser.add_argument("--seed", type=random_seed, default=d.seed,
                        help=f"random seed (default: {d.seed})")
    parser.add_argument("--strategy", choices=STRATEGIES, default=d.strategy,
                        help="default: one device; mirrored: all local GPUs; multiworker: "
                             "several machines described by TF_CONFIG (default: default)")
    parser.add_argument("--precision", choices=PRECISIONS, default=d.precision,
                        help="arithmetic of the training step: auto (default) picks what the "
                             "hardware runs natively: bfloat16 on CPUs with AVX512_BF16 or "
                             "AMX and on GPUs of compute capability 8.0+, float16 on 7.x "
                             "GPUs (with loss scaling), float32 otherwise; variables, losses "
                             "and checkpoints stay float32")
    parser.add_argument("--xla", choices=("auto", "on", "off"), default=d.xla,
                        help="compile the training step with XLA: auto (default) does on GPUs; "
                             "on CPUs TensorFlow's oneDNN kernels are faster than XLA's")


def add_pretraining_flags(parser, what):
    """--pretrain-steps and --pretrain-learning-rate of a generator's identity pre-training;
    what: what the network learns in it, for the help."""
    parser.add_argument("--pretrain-steps", type=non_negative_int, default=200, metavar="N",
                        help=f"identity pre-training steps before the main phase: {what} "
                             "(default: 200; 0 skips it)")
    parser.add_argument("--pretrain-learning-rate", type=positive_float, default=1e-3,
                        metavar="LR", help="learning rate of the pre-training (default: 0.001)")


def add_discriminator_flags(parser, filters, kernel):
    """The PatchGAN discriminator's flags: its learning rate, filters and kernel."""
    parser.add_argument("--discriminator-learning-rate", type=positive_float, default=2e-4,
                        metavar="LR", help="the discriminator's Adam learning rate "
                                           "(default: 0.0002)")
    parser.add_argument("--discriminator-filters", type=int_list, default=list(filters),
                        metavar="N,N,...",
                        help="feature maps of the discriminator's stride-2 convs, one per layer "
                             f"(default: {','.join(map(str, filters))})")
    parser.add_argument("--discriminator-kernel", type=positive_int, default=kernel,
                        metavar="K", help=f"kernel size of the discriminator's convs (default: "
                                          f"{kernel})")


def system_error_message(err):
    """One line for a failure of the system rather than of the input: a read-only or full disk,
    a file-size limit, a missing permission, from Python (OSError) or TensorFlow (OpError)."""
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        reason = err.strerror or str(err)
        return f"{where}{reason[:1].lower()}{reason[1:]}"
    message = getattr(err, "message", str(err))  # a TensorFlow OpError's, without its op
    message = re.sub(r"^\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]$", "", message.splitlines()[0] if message
                     else type(err).__name__)
    return message


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def report_input_errors(main_function, args):
    """Call main_function(args) and turn InputError, and a disk or permission failure, into
    one line `error: ...` with exit status 2. SIGTERM stops a script as Ctrl-C does, so that
    either removes what the script had begun to write; both end in one line and exit status
    128 + the signal's number."""
    # Past a file-size limit (ulimit -f) a write fails with EFBIG instead of killing the
    # process, so that it can say so.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return main_function(args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        name = str(err) or "SIGINT"
        print(f"error: stopped by {name}; nothing half-written is left", file=sys.stderr)
        return 128 + int(getattr(signal, name, signal.SIGINT))
    except Exception as err:
        if not is_system_error(err):
            raise
        print(f"error: {system_error_message(err)}", file=sys.stderr)
        return 2


# What TensorFlow's file errors say when the system, not the input, is at fault.
SYSTEM_FAILURES = ("File too large", "No space left", "Permission denied", "Read-only file")


def is_system_error(err):
    if isinstance(err, OSError):
        return True
    tf = sys.modules.get("tensorflow")  # loaded by then if TensorFlow raised it
    return tf is not None and isinstance(err, tf.errors.OpError) and (
        isinstance(err, (tf.errors.ResourceExhaustedError, tf.errors.PermissionDeniedError))
        or any(phrase in str(err) for phrase in SYSTEM_FAILURES))
