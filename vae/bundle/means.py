"""Every source's mean code, and the style shift made from them.

Means and the codes of frames being stylised use z_mean, never a sampled z: a sample carries
noise that shows up as flicker in video (docs/design.md, "Latent codes").
"""
import io

import numpy as np

from vae import InputError
from vae.media import storage


class LatentMeans:
    """The mean z_mean of every source of a data folder, with names, kinds and counts."""

    def __init__(self, ids, names, kinds, counts, means):
        self.ids = [int(i) for i in ids]
        self.names = [str(n) for n in names]
        self.kinds = [str(k) for k in kinds]
        self.counts = [int(c) for c in counts]
        self.means = np.asarray(means, np.float32)

    def to_arrays(self):
        return {"ids": np.array(self.ids), "names": np.array(self.names),
                "kinds": np.array(self.kinds), "counts": np.array(self.counts),
                "means": self.means}

    @classmethod
    def load(cls, path):
        with np.load(io.BytesIO(storage.read_bytes(path))) as data:
            return cls(data["ids"], data["names"], data["kinds"], data["counts"], data["means"])

    def summary(self):
        """A readable digest for latent_means.json."""
        return {"code_size": int(self.means.shape[1]), "sources": [
            {"id": i, "name": n, "kind": k, "count": c,
             "mean_norm": round(float(np.linalg.norm(m)), 4)}
            for i, n, k, c, m in zip(self.ids, self.names, self.kinds, self.counts, self.means)]}

    def names_of(self, kind):
        return [n for n, k in zip(self.names, self.kinds) if k == kind]

    def mean(self, name):
        if name not in self.names:
            raise InputError(f"no source named {name!r} in the bundle; it has: "
                             + ", ".join(self.names))
        return self.means[self.names.index(name)]

    def style_mean(self, name=None):
        """One painting source's mean, or the count-weighted mean of all painting sources."""
        if name is not None:
            if name in self.names and self.kinds[self.names.index(name)] != "painting":
                raise InputError(f"--style {name!r} is a {self.kinds[self.names.index(name)]} "
                                 "source, not paintings; painting sources: "
                                 + (", ".join(self.names_of("painting")) or "none"))
            return self.mean(name)
        rows = [i for i, k in enumerate(self.kinds) if k == "painting"]
        if not rows:
            raise InputError("the bundle has no painting source to take a style from")
        weights = np.array([self.counts[i] for i in rows], np.float32)
        return (self.means[rows] * weights[:, None]).sum(0) / weights.sum()


def compute_means(encode, batches, sources, code_size):
    """Mean z_mean per source over every batch {"image", "source"}; encode(images) -> z_mean."""
    index = {s["id"]: i for i, s in enumerate(sources)}
    sums = np.zeros((len(sources), code_size), np.float64)
    counts = np.zeros(len(sources), np.int64)
    for batch in batches:
        z = np.asarray(encode(batch["image"]), np.float64)
        rows = np.array([index[int(s)] for s in np.asarray(batch["source"])])
        np.add.at(sums, rows, z)
        np.add.at(counts, rows, 1)
    means = sums / np.maximum(counts, 1)[:, None]
    return LatentMeans([s["id"] for s in sources], [s["name"] for s in sources],
                       [s["kind"] for s in sources], counts, means)


def style_shift(source_mean, style_mean, alpha, beta):
    """The vector added to each code: z' = z - alpha * mean_source + beta * mean_style (numpy
    arrays or tensors; source_mean may hold one row per image)."""
    return beta * style_mean - alpha * source_mean

