"""The latent-space experiments of evaluate_embeddings.py (vae/metrics/latent_space.py) and the
stylising formula (vae/bundle/stylizing.py)."""
import numpy as np
import pytest
import tensorflow as tf

from vae.bundle.means import style_shift
from vae.bundle.stylizing import stylize
from vae.metrics import latent_space


def test_swapping_and_shuffling_only_move_values_between_codes():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, 8)).astype(np.float32)
    first, second = latent_space.swap_halves(a, b)
    np.testing.assert_array_equal(first, np.concatenate([a[:, :4], b[:, 4:]], 1))
    np.testing.assert_array_equal(second, np.concatenate([b[:, :4], a[:, 4:]], 1))
    shuffled = latent_space.shuffle_between(a, rng)
    for column in range(8):  # each value comes from the same dimension of some code
        assert set(shuffled[:, column]) <= set(a[:, column])
    salted = latent_space.salt(a, 0.5, rng)
    assert salted.dtype == np.float32 and 0.2 < np.std(salted - a) < 0.8


def test_health_and_movement_figures():
    codes = np.zeros((10, 4))
    codes[:, 0] = np.arange(10)  # one dimension varies
    assert latent_space.active_units(codes) == 1
    assert np.allclose(latent_space.kl_per_dimension(np.zeros((5, 3)), np.zeros((5, 3))), 0)
    target = np.ones((1, 4))
    assert latent_space.move_toward(codes, codes, target) == pytest.approx(0)
    assert latent_space.move_toward(codes, np.repeat(target, 10, 0), target) == pytest.approx(1)


def test_the_stylising_formula_split_at_two_sizes_is_the_formula():
    """stylize() on stand-in networks (codes are the images themselves, decode and refine are
    affine): the result, and its model-size part plus detail * x, are the formula."""
    rng = np.random.default_rng(1)
    frames = rng.uniform(size=(4, 6)).astype(np.float32)
    shift = rng.normal(size=6).astype(np.float32)

    def decode(z):
        return 2 * z + 1

    def refine(x):
        return x - 0.5

    def model(z):
        return refine(decode(z))

    for detail in (0.0, 0.7, 1.0):
        result = stylize(tf.identity, decode, frames, shift, detail, refine)
        expected = model(frames + shift) + detail * (frames - model(frames))
        np.testing.assert_allclose(result.with_detail(frames), expected, rtol=1e-6)
        np.testing.assert_allclose(result.model_part() + detail * frames, expected, rtol=1e-5)
        assert (result.reconstructed is None) == (detail == 0)  # no second decode without it
    unrefined = stylize(tf.identity, decode, frames, shift, 1.0)
    np.testing.assert_allclose(unrefined.styled, decode(frames + shift), rtol=1e-6)
    each = stylize(tf.identity, decode, frames, np.stack([shift, 0 * shift] * 2), 0.0)
    np.testing.assert_allclose(each.styled[1::2], decode(frames[1::2]), rtol=1e-6)
    np.testing.assert_allclose(each.styled[::2], decode(frames[::2] + shift), rtol=1e-6)
    assert np.allclose(style_shift(np.ones(3), 2 * np.ones(3), 1.0, 0.5), 0)
