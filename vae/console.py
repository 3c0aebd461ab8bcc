"""What the scripts show on a console: plain-text tables for their closing summaries, and
progress bars that also read well in a log."""
import sys

from vae.signals import signals_deferred


def format_table(headers, rows):
    """Left-aligned columns separated by two spaces, with a rule under the headers."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# How often a progress bar writes a line when its output is a file or a pipe.
LOG_INTERVAL = 5.0


def progress_bar(**options):
    """A tqdm bar: on a terminal as tqdm draws it; written to a file or a pipe (a log, CI), a
    line every LOG_INTERVAL seconds rather than carriage-return updates run into one line.
    Made with Ctrl-C and SIGTERM held back: a bar that a signal cuts short in its constructor
    prints a traceback from its destructor as the script ends."""
    from tqdm import tqdm

    with signals_deferred():
        if sys.stderr.isatty():
            return tqdm(dynamic_ncols=True, **options)
        return tqdm(file=_Lines(sys.stderr), mininterval=LOG_INTERVAL, ncols=100, **options)


class _Lines:
    """A stream that gives each of tqdm's updates a line of its own."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        text = text.replace("\r", "").rstrip("\n")
        if text.strip():
            self.stream.write(text + "\n")

    def flush(self):
        self.stream.flush()
