"""What a stylisation can be told: StyleSettings (how far the codes move, how much detail comes
back, smoothing, which paintings, the refiner) and RenderOptions (which part of the clip, how it
is written).

Each declares its fields as flags (vae/flags.py: the defaults, ranges and help once; the
command-line flags and their inverse, to_argv, generated from them), so that process_video.py,
the live page's sliders and the command the page shows cannot disagree. StyleSettings.resolve
turns settings and a bundle into a StylePlan. No TensorFlow here: --help answers at once.
"""
import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from vae import InputError
from vae.argtypes import non_negative_float, parse_finite, positive_float, positive_int, value_type
from vae.bundle.means import style_shift
from vae.flags import flag, to_argv
from vae.media import frames

# What paints (vae/bundle/loader.py Bundle.painter), and the blend used when --paint is not
# given and the bundle can paint (measured: docs/results.md, "The brush").
PAINTERS = ("auto", "brush", "trained")
DEFAULT_PAINT = 1.0
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
    style: str | None = flag(None, "painting source whose mean code is the target (default: "
                             "the bundle's painting source, or the mean of all of them)",
                             metavar="NAME")
    source: str = flag("auto", "whose mean code to move away from: a training source's name, "
                       "or auto: the clip's own mean, from a sample of its frames (default: "
                       "{default})",
                       metavar="NAME|auto")
    alpha: float = flag(1.0, "weight of the source mean removed, in [0, 2] (default: "
                        "{default})", type=_flag_value("alpha"))
    beta: float = flag(0.8, "weight of the style mean added, in [0, 2] (default: {default})",
                       type=_flag_value("beta"))
    detail: float = flag(0.7, "how much of the frame's own detail, the part the model cannot "
                         "encode, is added back at full resolution, in [0, 1]: 0 is the "
                         "model's output alone, 1 keeps all of it (default: {default})",
                         type=_flag_value("detail"), metavar="D")
    smoothing: float = flag(0.2, "temporal smoothing of the model's output, in [0, 0.95]: "
                            "out_t = S * out_(t-1) + (1 - S) * frame_t; 0 turns it off "
                            "(default: {default})", type=_flag_value("smoothing"), metavar="S")
    paint: float | None = flag(None, "blend of the painter's repainting, in [0, 1]: 0 is the "
                               "output without it, 1 the painter's alone (default: "
                               f"{DEFAULT_PAINT:g} with a bundle that can paint, else 0)",
                               type=_flag_value("paint"), metavar="P")
    painter: str = flag("auto", "what paints: brush (Magenta's arbitrary style network in the "
                        "paintings' style, kept to the clip's edges and motion), trained (the "
                        "bundle's own painter network, train_painter.py), or auto: the brush "
                        "where the bundle has its styles, else the trained painter (default: "
                        "{default})", choices=PAINTERS)
    refine: bool = flag(True, "skip the refiner (decoder output only)")

    def __post_init__(self):
        for name in RANGES:
            if name != "paint" or self.paint is not None:  # None: the bundle's default
                object.__setattr__(self, name, check_range(name, getattr(self, name)))
        if self.painter not in PAINTERS:
            raise ValueError(f"painter must be one of {', '.join(PAINTERS)}, got "
                             f"{self.painter!r}")
        if self.style is not None and not isinstance(self.style, str):
            raise ValueError(f"style must be a painting source's name, got {self.style!r}")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(f"source must be a source's name or auto, got {self.source!r}")
        if not isinstance(self.refine, bool):
            raise ValueError(f"refine must be true or false, got {self.refine!r}")

    def to_argv(self):
        """The flags that give these settings: every number, and the rest where not default."""
        return to_argv(self, always=RANGES)

    def resolve(self, bundle, paint_scale=None, full_size=False):
        """What these settings make a bundle do (StylePlan); InputError when they name a style
        or source the bundle does not have, or paint with a bundle that has no painter.
        paint_scale: the fraction of the output's size to paint at (None: the model's size);
        full_size: frames at the output's size whatever the settings (the live page, whose
        settings change between frames)."""
        settings = self.for_bundle(bundle)
        why = bundle.cannot_paint(settings.paint, self.painter)
        if why:
            raise InputError(f"--{why}")
        bundle.means.style_mean(self.style)
        if self.source != "auto":
            bundle.means.mean(self.source)
        painter = bundle.painter(self.painter) if settings.paint > 0 else None
        if painter == "brush":
            bundle.brush_style(self.style)
        paint_scale = paint_scale if painter else None
        return StylePlan(settings, refine=bundle.refines(self.refine),
                         full_size=full_size or self.detail > 0 or paint_scale is not None
                         or painter == "brush",
                         paint_scale=paint_scale, painter=painter,
                         notes=("the bundle has no refiner: frames are decoded without "
                                "refining",) if self.refine and not bundle.refines() else ())

    def for_bundle(self, bundle):
        """These settings with the default paint made a number: DEFAULT_PAINT where a painter
        is named (resolve refuses it if the bundle lacks it) or the bundle has one, else 0."""
        if self.paint is not None:
            return self
        named = self.painter != "auto"
        return replace(self, paint=DEFAULT_PAINT if named or bundle.painter() else 0.0)

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
class StylePlan:
    """Settings resolved against a bundle: whether frames are refined, whether they go through
    at the output's size (detail transfer, a paint_scale, the live page) or at the model's
    (the writer scales them up), what paints ("brush", "trained" or None) and at what size,
    and what to tell the user. settings.paint is a number here."""
    settings: StyleSettings
    refine: bool
    full_size: bool
    paint_scale: float | None = None
    painter: str | None = None
    notes: tuple = ()

    def shift(self, bundle, clip_mean=None):
        """The vector added to every code: beta * the style's mean - alpha * the source's (the
        named source's, or clip_mean, the clip's own, for source "auto")."""
        s = self.settings
        source = clip_mean if s.source == "auto" else bundle.means.mean(s.source)
        return np.asarray(style_shift(np.asarray(source), np.asarray(bundle.means.style_mean(
            s.style)), s.alpha, s.beta), np.float32)


def border_crop(where):
    """The --crop flag of a script that reads clips (process_video.py's, extract_frames.py's):
    the black borders to remove `where` (" from videos", say)."""
    return flag("auto", f"black borders to remove{where}: auto-detect them, none, or pixels "
                "from the top,right,bottom,left edges (default: {default})",
                type=value_type(frames.parse_crop), metavar="auto|none|T,R,B,L")


@dataclass(frozen=True)
class RenderOptions:
    """Which part of the clip is stylised and how the result is written: borders to crop,
    the excerpt, the inset original, the audio, frames per model call, and the size the
    painter paints at (paint_scale times the output's; None: each painter's own size)."""
    crop: object = border_crop("")
    inset: bool = flag(False, "show the original frame small in the bottom-right corner")
    audio: bool = flag(True, "drop the input's audio track")
    start: float = flag(0.0, "start of the excerpt to process", type=non_negative_float,
                        metavar="SECONDS")
    duration: float | None = flag(None, "length of the excerpt (default: to the end)",
                                  type=positive_float, metavar="SECONDS")
    batch_size: int = flag(16, "frames per model call", type=positive_int, metavar="N")
    paint_scale: float | None = flag(None, "paint at F times the output's size, in (0, 1]: "
                                     "larger is finer strokes and slower (default: the brush "
                                     "at 384 pixels on the longer side, a trained painter at "
                                     "the model's size, the size it was trained at)",
                                     type=positive_float, metavar="F")

    def __post_init__(self):
        if self.duration is not None and not self.duration > 0:
            raise ValueError("--duration must be more than 0")
        if self.paint_scale is not None and not 0 < self.paint_scale <= 1:
            raise ValueError("--paint-scale must be in (0, 1]")

    def to_argv(self):
        """The flags that give these options, those that differ from the defaults."""
        return to_argv(self)
