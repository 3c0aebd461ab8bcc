"""Options dataclasses as flags (vae/flags.py) and the trainers' options built on them."""
import dataclasses

import pytest

from vae.argtypes import positive_int
from vae.cli import parser_for
from vae.flags import add_flags, flag, flat, from_flags, nested, parse, resumable, to_argv


@dataclasses.dataclass(frozen=True)
class Inner:
    size: int = flag(3, "the size", type=positive_int)
    note: str = "not a flag"

    def __post_init__(self):
        if self.size > 100:
            raise ValueError("--inner-size must be 100 or less")


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str = flag("x", "a name, here {default}", name="title")
    steps: int = flag(5, "steps", type=positive_int, exclusive="length")
    epochs: float | None = flag(None, "epochs", type=float, exclusive="length")
    inner: Inner = nested(Inner(), prefix="inner_")
    other: Inner = nested(Inner(size=7), prefix="other_")


@dataclasses.dataclass(frozen=True)
class Command:
    clip: str | None = flag(None, "the clip", positional=True, metavar="CLIP")
    output: str | None = flag(None, "where to write", short="-o")
    loud: bool = flag(False, "say more")
    refine: bool = flag(True, "skip the refiner")
    video: tuple = flag((), "a video (repeatable)", repeat=True)
    rate: float = flag(1.0, "how fast", type=float, resumable=True, group="speed")


def test_switches_positionals_repeats_and_their_inverse(capsys):
    options = parse(parser_for(""), Command(), ["in.mp4", "-o", "out.mp4", "--loud",
                                                 "--no-refine", "--video", "a", "--video", "b",
                                                 "--rate", "0.5"])
    assert options == Command("in.mp4", "out.mp4", True, False, ("a", "b"), 0.5)
    assert parse(parser_for(""), Command(), ["in.mp4"]) == Command("in.mp4")
    # to_argv writes the flags that give the options back, and only those not at default
    argv = to_argv(options)
    assert argv[0] == "in.mp4" and "-o" in argv and "--no-refine" in argv
    assert parse(parser_for(""), Command(), argv) == options
    assert to_argv(Command("in.mp4")) == ["in.mp4"]
    assert to_argv(Command("in.mp4"), always=("rate",)) == ["in.mp4", "--rate", "1.0"]
    assert resumable(options) == {"rate"}
    with pytest.raises(SystemExit):
        parse(parser_for(""), Command(), ["--help"])
    text = capsys.readouterr().out
    assert "--no-refine" in text and "skip the refiner\n" in text  # no "(default: True)"
    assert "speed:" in text and "CLIP" in text


def test_flags_come_from_the_fields_with_their_defaults_and_help(capsys):
    assert parse(parser_for("doc"), Outer(), []) == Outer()
    with pytest.raises(SystemExit):
        parse(parser_for("doc"), Outer(), ["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--title TITLE a name, here x --steps" in shown  # {default} placed, no more
    assert "steps (default: 5)" in shown
    assert "--epochs EPOCHS epochs --inner-size" in shown  # None: no default shown
    assert "--other-size OTHER_SIZE the size (default: 7)" in shown  # a nested default
    assert "--inner-note" not in shown  # a plain field is no flag


def test_parsed_flags_fill_nested_options_and_keep_plain_fields():
    options = parse(parser_for("doc"), Outer(inner=Inner(note="kept")),
                    ["--title", "y", "--epochs", "2.5", "--inner-size", "9"])
    assert options == Outer("y", 5, 2.5, Inner(9, "kept"), Inner(7))


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "argument --steps: expected a positive integer, got '0'"),
    (["--steps", "2", "--epochs", "1"], "argument --epochs: not allowed with argument --steps"),
    (["--inner-size", "101"], "--inner-size must be 100 or less"),  # the options' own check
])
def test_a_bad_value_is_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit:
        parse(parser_for("doc"), Outer(), argv)
    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_flat_lists_the_values_by_flag_name():
    assert flat(Outer(), skip=("other",)) == {"title": "x", "steps": 5, "epochs": None,
                                              "inner_size": 3, "inner_note": "not a flag"}


def test_from_flags_reads_what_the_namespace_has():
    import argparse

    assert from_flags(Inner, argparse.Namespace(size=4, unrelated=1)) == Inner(4)


@pytest.mark.parametrize("trainer", ["VAETraining", "RefinerTraining", "PainterTraining"])
def test_each_trainer_has_one_flag_per_option_and_records_them(trainer):
    """Every option is a flag of the script (or a field that is no flag, like the frame size),
    and what config.json records as "training" is the options by flag name."""
    from vae.cli import parse_options
    from vae.train import options as trainers
    from vae.train.options import training_section

    defaults = getattr(trainers, trainer)()
    options = parse_options("", defaults, [])
    parser = parser_for("")
    add_flags(parser, options)
    flags = {a.dest for a in parser._actions} - {"help"}
    not_flags = {"width", "height", "activation", "temporal_noise"}
    assert set(flat(options)) - flags <= not_flags
    assert flags <= set(flat(options))
    changed = parse_options("", defaults, ["--steps", "7", "--learning-rate", "0.5", "--seed",
                                           "3"])
    assert (changed.run.steps, changed.run.learning_rate, changed.run.seed) == (7, 0.5, 3)
    section = training_section(changed)
    assert section["steps"] == 7 and section["learning_rate"] == 0.5
    assert "filters" not in section  # the network's shape is config.json's "model"
