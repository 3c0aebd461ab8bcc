"""What the top-level scripts share: their parser, and the `error: ...` / exit 2 convention.
Command-line code only; the library is in vae/."""
import argparse
import re
import signal
import sys

import vae  # noqa: F401  (quietens TensorFlow before any script loads it)
from vae import InputError, is_utf8
from vae.flags import parse


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


def parse_options(doc, defaults, argv=None):
    """A script's options: the flags of the options dataclass `defaults` (vae/flags.py), parsed
    from argv, with the script's docstring as --help's text."""
    return parse(parser_for(doc), defaults, argv)


def train_main(doc, defaults, argv=None):
    """A trainer's whole entry: its options parsed from argv, its recipe run by
    vae.train.driver.train, errors and signals as one line and an exit status."""
    def train(options):
        from vae.train.driver import recipe_for, train

        return train(recipe_for(options))

    return report_input_errors(train, parse_options(doc, defaults, argv))


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
