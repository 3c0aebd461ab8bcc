"""Which frames are held out of training: whole stretches of time and whole paintings.

Quality measured on frames the model trained on says little about a clip it never saw. A video
keeps out stretches of a few seconds spread over its length, and drops the frames within a
guard interval on either side of each stretch from both sets, so that no neighbour of a
held-out frame is trained on. A painting folder keeps out whole paintings.
"""
import math

import numpy as np

DEFAULT_FRACTION = 0.05
STRETCH_SECONDS = 2.0  # the length a held-out stretch aims for
GUARD_SECONDS = 0.5  # at most this much on either side of a stretch belongs to neither set

TRAIN, HOLDOUT, GUARD = "train", "holdout", "guard"


def check_fraction(fraction):
    if not 0 <= fraction < 0.5:
        raise ValueError(f"the held-out fraction must be in [0, 0.5), got {fraction!r}")
    return fraction


class VideoHoldout:
    """The held-out stretches of a video of `duration` seconds.

    fraction * duration seconds are held out, in round(held / STRETCH_SECONDS) stretches (at
    least one) centred in equal parts of the clip. The guard is GUARD_SECONDS, or the
    stretch's own length when that is shorter, so that short clips keep most frames for training.
    """

    def __init__(self, duration, fraction):
        held = fraction * duration if duration and duration > 0 else 0.0
        count = max(1, math.floor(held / STRETCH_SECONDS + 0.5)) if held > 0 else 0
        length = held / count if count else 0.0
        self.stretches = [((i + 0.5) * duration / count - length / 2,
                           (i + 0.5) * duration / count + length / 2) for i in range(count)]
        self.guard = min(GUARD_SECONDS, length)

    def split(self, seconds):
        """TRAIN, HOLDOUT or GUARD (neither) for a frame at this time."""
        for start, end in self.stretches:
            if start <= seconds <= end:
                return HOLDOUT
            if start - self.guard <= seconds <= end + self.guard:
                return GUARD
        return TRAIN

    def as_list(self):
        return [[round(s, 3), round(e, 3)] for s, e in self.stretches]


def held_out_paintings(count, fraction, seed):
    """Indices of the paintings kept out of training: round(fraction * count) of them, chosen
    at random (seeded), always leaving at least one painting to train on."""
    keep_out = min(math.floor(fraction * count + 0.5), max(count - 1, 0))
    rng = np.random.default_rng(seed)
    return set(int(i) for i in rng.choice(count, keep_out, replace=False))
