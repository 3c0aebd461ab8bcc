"""What a stylisation can be told: StyleSettings (how far the codes move, how much detail comes
back, smoothing, which paintings, the refiner) and RenderOptions (which part of the clip, how it
is written).

Each owns its defaults, ranges and validation, its command-line flags (add_flags, from_args)
and their inverse (to_argv), so that process_video.py, the live page's sliders and the command
the page shows cannot disagree. No TensorFlow here: --help answers at once.
"""
import math
from dataclasses import asdict, dataclass, replace

from vae.argtypes import non_negative_float, parse_finite, positive_float, positive_int, value_type
from vae.flags import from_flags
from vae.media import frames

# (lowest, highest, slider step) of each number; the command line and the live page alike.
RANGES = {"alpha": (0.0, 2.0, 0.05), "beta": (0.0, 2.0, 0.05), "detail": (0.0, 1.0, 0.05),
          "smoothing": (0.0, 0.95, 0.05), "paint": (0.0, 1.0, 0.05)}


def check_range(name, value):
    """value as a float; ValueError naming the setting when it is not a finite number in range."""
    low, high, _ = RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an integer too large for a float
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}") \
            from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return value


def _flag_value(name):
    """An argparse type for one of RANGES' settings: `error: argument --NAME: ...`, exit 2."""
    return value_type(lambda text: check_range(name, parse_finite(text)))


@dataclass(frozen=True)
class StyleSettings:
    """z' = z - alpha * mean_source + beta * mean_style; detail: how much of the frame's own
    detail the model cannot encode comes back; smoothing: out_t = S * out_(t-1) + (1 - S) * y_t;
    paint: how much of the painter's repainting is used (0: none, 1: all of it).
    style: a painting source (None: all the bundle's paintings); source: the mean to move away
    from, a training source's name or "auto" (the clip's own mean)."""
    alpha: float = 1.0
    beta: float = 0.8
    detail: float = 0.7
    smoothing: float = 0.2
    paint: float = 0.0
    style: str | None = None
    source: str = "auto"
    refine: bool = True

    def __post_init__(self):
        for name in RANGES:
            object.__setattr__(self, name, check_range(name, getattr(self, name)))
        if self.style is not None and not isinstance(self.style, str):
            raise ValueError(f"style must be a painting source's name, got {self.style!r}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"source must be a source's name or auto, got {self.source!r}")
        if not isinstance(self.refine, bool):
            raise ValueError(f"refine must be true or false, got {self.refine!r}")

    @staticmethod
    def add_flags(parser):
        d = StyleSettings()
        parser.add_argument("--style", default=d.style, metavar="NAME",
                            help="painting source whose mean code is the target (default: the "
                                 "bundle's painting source, or the mean of all of them)")
        parser.add_argument("--source", default=d.source, metavar="NAME|auto",
                            help="whose mean code to move away from: a training source's name, "
                                 "or auto (default): the clip's own mean, from a sample of its "
                                 "frames")
        parser.add_argument("--alpha", type=_flag_value("alpha"), default=d.alpha,
                            help="weight of the source mean removed, in [0, 2] "
                                 f"(default: {d.alpha:g})")
        parser.add_argument("--beta", type=_flag_value("beta"), default=d.beta,
                            help="weight of the style mean added, in [0, 2] "
                                 f"(default: {d.beta:g})")
        parser.add_argument("--detail", type=_flag_value("detail"), default=d.detail,
                            metavar="D",
                            help="how much of the frame's own detail, the part the model cannot "
                                 "encode, is added back at full resolution, in [0, 1]: 0 is the "
                                 "model's output alone, 1 keeps all of it "
                                 f"(default: {d.detail:g})")
        parser.add_argument("--smoothing", type=_flag_value("smoothing"), default=d.smoothing,
                            metavar="S",
                            help="temporal smoothing of the model's output, in [0, 0.95]: "
                                 "out_t = S * out_(t-1) + (1 - S) * frame_t; 0 turns it off "
                                 f"(default: {d.smoothing:g})")
        parser.add_argument("--paint", type=_flag_value("paint"), default=d.paint, metavar="P",
                            help="blend of the painter's repainting, in [0, 1]: 0 is the "
                                 "output without it, 1 the painter's alone; needs a bundle "
                                 f"with a painter (default: {d.paint:g})")
        parser.add_argument("--no-refine", dest="refine", action="store_false",
                            help="skip the refiner (decoder output only)")

    @classmethod
    def from_args(cls, args):
        return from_flags(cls, args)

    def to_argv(self):
        """The flags that give these settings: every number, and the rest where not default."""
        argv = []
        for name in RANGES:
            argv += [f"--{name}", repr(getattr(self, name))]
        if self.style is not None:
            argv += ["--style", self.style]
        if self.source != "auto":
            argv += ["--source", self.source]
        if not self.refine:
            argv.append("--no-refine")
        return argv

    def changed(self, changes, styles):
        """These settings with `changes` (a dict from a request) applied; ValueError, naming the
        culprit, for an unknown name, a wrong type, NaN, infinity or a value out of range.
        styles: the painting sources that may be chosen. The source is the command line's."""
        if not isinstance(changes, dict):
            raise ValueError("expected a JSON object of settings")
        allowed = [*RANGES, "style", "refine"]
        unknown = [name for name in changes if name not in allowed]
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}; the settings are: "
                             + ", ".join(allowed))
        values = dict(changes)
        if "style" in values:
            if values["style"] not in (None, "") and values["style"] not in styles:
                raise ValueError(f"style must be one of the bundle's painting sources "
                                 f"({', '.join(styles)}) or empty, got {values['style']!r}")
            values["style"] = values["style"] or None
        return replace(self, **values)

    def to_dict(self):
        return asdict(self)


@dataclass(frozen=True)
class RenderOptions:
    """Which part of the clip is stylised and how the result is written: borders to crop,
    the excerpt, the inset original, the audio, frames per model call, and the size the
    painter paints at (paint_scale times the output's; None: the model's size, the size it
    was trained at)."""
    crop: object = "auto"  # "auto" or a frames.Crop
    start: float = 0.0
    duration: float | None = None
    inset: bool = False
    audio: bool = True
    batch_size: int = 16
    paint_scale: float | None = None

    def __post_init__(self):
        if self.duration is not None and not self.duration > 0:
            raise ValueError("--duration must be more than 0")
        if self.paint_scale is not None and not 0 < self.paint_scale <= 1:
            raise ValueError("--paint-scale must be in (0, 1]")

    @staticmethod
    def add_flags(parser):
        d = RenderOptions()
        parser.add_argument("--crop", type=value_type(frames.parse_crop), default=d.crop,
                            metavar="auto|none|T,R,B,L",
                            help="black borders to remove: auto-detect (default), none, or "
                                 "pixels from the top,right,bottom,left edges")
        parser.add_argument("--inset", action="store_true",
                            help="show the original frame small in the bottom-right corner")
        parser.add_argument("--no-audio", dest="audio", action="store_false",
                            help="drop the input's audio track")
        parser.add_argument("--start", type=non_negative_float, default=d.start,
                            metavar="SECONDS", help="start of the excerpt to process (default: 0)")
        parser.add_argument("--duration", type=positive_float, default=d.duration,
                            metavar="SECONDS", help="length of the excerpt (default: to the end)")
        parser.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                            metavar="N", help=f"frames per model call (default: {d.batch_size})")
        parser.add_argument("--paint-scale", type=positive_float, default=d.paint_scale,
                            metavar="F",
                            help="with --paint, paint at F times the output's size, in (0, 1]: "
                                 "1 gives the finest strokes, smaller is faster with broader "
                                 "ones (default: the model's size, the size the painter was "
                                 "trained at)")

    @classmethod
    def from_args(cls, args):
        return from_flags(cls, args)

    def to_argv(self):
        """The flags that give these options, those that differ from the defaults."""
        d, argv = RenderOptions(), []
        if self.crop != d.crop:
            argv += ["--crop", "none" if not any(self.crop.as_list()) else str(self.crop)]
        if self.inset:
            argv.append("--inset")
        if not self.audio:
            argv.append("--no-audio")
        if self.start != d.start:
            argv += ["--start", repr(self.start)]
        if self.duration is not None:
            argv += ["--duration", repr(self.duration)]
        if self.batch_size != d.batch_size:
            argv += ["--batch-size", str(self.batch_size)]
        if self.paint_scale is not None:
            argv += ["--paint-scale", repr(self.paint_scale)]
        return argv
