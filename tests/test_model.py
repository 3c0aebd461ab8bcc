"""vae.model: shapes for odd frame sizes, loss terms, FLOP count."""
import numpy as np
import pytest
import tensorflow as tf

from vae.models import autoencoder, configs


@pytest.mark.parametrize("width, height, filters", [(32, 18, (4, 4, 8)), (320, 180, (2,) * 6),
                                                     (33, 17, (4, 4, 4, 4))])
def test_decoder_mirrors_encoder_for_any_size(width, height, filters):
    config = configs.VAEConfig(width, height, filters, (3,) * len(filters), 8)
    encoder, decoder = autoencoder.build_encoder(config), autoencoder.build_decoder(config)
    images = tf.random.uniform((2, height, width, 3))
    z_mean, z_log_sigma = encoder(images)
    assert z_mean.shape == z_log_sigma.shape == (2, 8)
    out = decoder(z_mean).numpy()
    assert out.shape == (2, height, width, 3)
    assert out.min() >= 0 and out.max() <= 1


def test_loss_terms():
    images = tf.zeros((2, 4, 4, 3))
    sse, kl = autoencoder.vae_loss(images, tf.fill((2, 4, 4, 3), 0.5), tf.zeros((2, 3)),
                                   tf.zeros((2, 3)))
    np.testing.assert_allclose(sse.numpy(), [12.0, 12.0])  # 48 pixels * 0.25
    np.testing.assert_allclose(kl.numpy(), [0.0, 0.0], atol=1e-7)  # N(0, I) has no KL
    _, kl = autoencoder.vae_loss(images, images, tf.ones((1, 3)), tf.zeros((1, 3)))
    np.testing.assert_allclose(kl.numpy(), [1.5])  # 0.5 * sum(mean^2)


def test_config_round_trip_and_validation():
    config = configs.VAEConfig(32, 18, [4, 8], [3, 5], 16)
    assert configs.VAEConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError):
        configs.VAEConfig(32, 18, [4, 8], [3], 16)


def test_training_flops_match_a_hand_count():
    config = configs.VAEConfig(4, 4, (2,), (3,), 5)
    conv = 2 * 2 * 2 * 9 * 3 * 2  # 2x2 outputs, 3x3x3 kernel, 2 filters
    dense = 2 * (2 * 2 * 2) * 5 * 3
    assert autoencoder.training_flops_per_image(config) == 3 * (2 * conv + dense)
