"""argparse value types: each refuses a bad value with argparse's `error: ...` and exit 2.

Plain Python, importing nothing of the library, so that any module may use them: the scripts'
flags (vae/cli.py) and the settings' own flags (vae/stylize/settings.py) alike.
"""
import argparse
import math


def value_type(parse):
    """Adapt a ValueError-raising parser to argparse, which reports `error: ...` and exits 2."""
    def convert(text):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    convert.__name__ = parse.__name__
    return convert


@value_type
def positive_int(text):
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"expected a positive integer, got {text!r}")
    return int(text)


@value_type
def non_negative_int(text):
    if not text.strip().isdigit():
        raise ValueError(f"expected an integer >= 0, got {text!r}")
    return int(text)


@value_type
def random_seed(text):
    """A random seed: what numpy and TensorFlow both take, an integer in [0, 2**32)."""
    if not text.strip().isdigit() or int(text) >= 2 ** 32:
        raise ValueError(f"expected an integer from 0 to {2 ** 32 - 1}, got {text!r}")
    return int(text)


def parse_finite(text):
    """float(text), refusing nan and inf: a flag that takes them renders nonsense."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {text!r}")
    return value


@value_type
def finite_float(text):
    return parse_finite(text)


@value_type
def positive_float(text):
    value = parse_finite(text)
    if not value > 0:
        raise ValueError(f"expected a positive number, got {text!r}")
    return value


@value_type
def non_negative_float(text):
    value = parse_finite(text)
    if not value >= 0:
        raise ValueError(f"expected a number >= 0, got {text!r}")
    return value


@value_type
def unit_float(text):
    value = parse_finite(text)
    if not 0 <= value <= 1:
        raise ValueError(f"expected a number in [0, 1], got {text!r}")
    return value


@value_type
def int_list(text):
    parts = text.split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ValueError(f"expected comma-separated positive integers, got {text!r}")
    return [int(p) for p in parts]


@value_type
def port_number(text):
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"expected a port number in [1, 65535], got {text!r}")
    return int(text)
