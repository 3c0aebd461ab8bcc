"""The latent-space experiments of evaluate_embeddings.py (vae/metrics/latent_space.py) and the
stylising formula (vae/bundle/latent.py)."""
import numpy as np
import pytest

from vae.bundle.latent import model_part, style_shift, with_detail
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
    rng = np.random.default_rng(1)
    styled, reconstructed, frames = rng.uniform(size=(3, 2, 4, 4, 3))
    for detail in (0.0, 0.7, 1.0):
        expected = styled + detail * (frames - reconstructed)
        np.testing.assert_allclose(with_detail(styled, reconstructed, frames, detail), expected)
        np.testing.assert_allclose(model_part(styled, reconstructed, detail) + detail * frames,
                                   expected)
    assert np.allclose(style_shift(np.ones(3), 2 * np.ones(3), 1.0, 0.5), 0)
