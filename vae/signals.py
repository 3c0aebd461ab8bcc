"""Ctrl-C and SIGTERM held back while something must be made whole: a scratch file and its
record for removal, a writer, a progress bar."""
import contextlib
import signal
import threading

DEFERRED = (signal.SIGINT, signal.SIGTERM)  # the signals signals_deferred() holds back


@contextlib.contextmanager
def signals_deferred():
    """Ctrl-C and SIGTERM held back inside the block and delivered as it ends. Code that makes
    a scratch file or starts a writer and records it for removal runs whole in it: no signal
    can come between the making and the recording, so whatever a signal stops can always be
    removed. Outside the main thread, where no signal handler runs, a plain block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {number: signal.signal(number, lambda got, frame: received.append(got))
                for number in DEFERRED}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:  # the first one, to the handler the block held back
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(received[0])
