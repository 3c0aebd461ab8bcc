"""Experiments in the latent space that evaluate_embeddings.py reports: salted, swapped and
shuffled codes, the KL and active units of each dimension, and how far a shift moves codes.
"""
import numpy as np


def salt(codes, sigma, rng):
    """Codes plus Gaussian noise: decoding them gives 'slightly new images'."""
    return (codes + rng.normal(0.0, sigma, codes.shape)).astype(np.float32)


def swap_halves(a, b):
    """Two codes exchanging the second half of their dimensions."""
    half = a.shape[-1] // 2
    return (np.concatenate([a[..., :half], b[..., half:]], -1),
            np.concatenate([b[..., :half], a[..., half:]], -1))


def shuffle_between(codes, rng):
    """Every dimension taken from a randomly chosen frame of the batch."""
    pick = rng.integers(0, len(codes), codes.shape)
    return np.take_along_axis(codes, pick, axis=0).astype(np.float32)


def kl_per_dimension(z_mean, z_log_sigma):
    """Average KL to N(0, 1) of each code dimension over a sample of frames."""
    return np.mean(-0.5 * (1 + 2 * z_log_sigma - z_mean ** 2 - np.exp(2 * z_log_sigma)), axis=0)


def active_units(z_mean, threshold=0.01):
    """Dimensions whose mean code varies across frames (variance above threshold)."""
    return int(np.sum(np.var(z_mean, axis=0) > threshold))


def move_toward(codes, shifted, target):
    """How much of the distance to target the shift covered (mean over frames): 0 none, 1 all."""
    before = np.linalg.norm(codes - target, axis=-1)
    after = np.linalg.norm(shifted - target, axis=-1)
    return float(np.mean((before - after) / np.maximum(before, 1e-9)))
