"""The adversarial objective of the refiner: a PatchGAN discriminator and the VAE-GAN losses.

Pixel losses average over the details a blurry input leaves open and so give blur; a
discriminator that judges overlapping patches of real frames against refined ones rewards
details that look real (Isola et al. 2017), at any frame size. The refiner's loss is the
l1-ssim terms toward the real frame (they keep colour and content, so the GAN cannot drift or
collapse to one texture), plus the distance of the discriminator's hidden activations for the
real and the refined frame (feature matching, Larsen et al. 2016), plus a small hinge GAN term.
The discriminator is trained on the hinge loss (Lim & Ye 2017, as in SAGAN and BigGAN), with
no normalisation layer: the content terms and a small adversarial weight keep it stable.
"""
import keras
import tensorflow as tf

from vae.models.refiner import refiner_loss, vae_output

LEAK = 0.2
REFINER_TERMS = ("l1", "ssim", "feature_matching", "adversarial")
DISCRIMINATOR_TERMS = ("discriminator_real", "discriminator_refined")


def build_discriminator(config):
    """images (B, H, W, 3) in [0, 1] -> [hidden activations..., logits (B, h, w, 1)]: one
    logit per overlapping patch, positive for "real"."""
    images = keras.Input((None, None, 3), name="images")
    x = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)
    hidden = []
    for i, filters in enumerate(config.filters):
        x = keras.layers.Conv2D(filters, config.kernel, strides=2, padding="same",
                                name=f"conv{i}")(x)
        x = keras.layers.LeakyReLU(LEAK, name=f"conv{i}_leaky")(x)
        hidden.append(x)
    logits = keras.layers.Conv2D(1, 3, padding="same", name="logits", dtype="float32")(x)
    return keras.Model(images, hidden + [logits], name="discriminator")


def _per_image(t):
    return tf.reduce_mean(tf.cast(t, tf.float32), axis=[1, 2, 3])


def feature_distance(real_hidden, refined_hidden):
    """Mean over layers of the mean absolute difference of the activations, per image."""
    return tf.add_n([_per_image(tf.abs(tf.stop_gradient(r) - f))
                     for r, f in zip(real_hidden, refined_hidden)]) / len(real_hidden)


def loss_terms(refiner, discriminator, encoder, decoder, images, objective, training=False):
    """Per-image terms of both players from one forward pass: the refiner minimises
    REFINER_TERMS, the discriminator DISCRIMINATOR_TERMS; the accuracies and colour drift
    are for watching."""
    blurry = vae_output(encoder, decoder, images)
    refined = refiner(blurry, training=training)
    *real_hidden, real_logits = discriminator(images, training=training)
    *refined_hidden, refined_logits = discriminator(refined, training=training)
    terms = refiner_loss(refined, images, blurry, objective)
    terms["feature_matching"] = objective.feature_weight * feature_distance(real_hidden,
                                                                             refined_hidden)
    terms["adversarial"] = -objective.adversarial_weight * _per_image(refined_logits)
    terms["discriminator_real"] = _per_image(tf.nn.relu(1.0 - real_logits))
    terms["discriminator_refined"] = _per_image(tf.nn.relu(1.0 + refined_logits))
    terms["accuracy_real"] = _per_image(tf.cast(real_logits > 0, tf.float32))
    terms["accuracy_refined"] = _per_image(tf.cast(refined_logits < 0, tf.float32))
    mean_colour = lambda t: tf.reduce_mean(tf.cast(t, tf.float32), axis=[1, 2])  # noqa: E731
    terms["colour_drift"] = tf.reduce_max(tf.abs(mean_colour(refined) - mean_colour(images)),
                                          axis=1)
    return terms


class BalanceWatch:
    """Say on screen when the GAN game goes wrong for long: the discriminator right nearly
    always (it wins, the generator's adversarial gradients vanish), at chance (it teaches
    nothing), or the generated colours drifting from the input's. Each warning is given once,
    and again only after the condition has clearly cleared (past twice its margin, so that a
    figure hovering at a threshold does not warn every few steps).

    fake: the metric of the discriminator's accuracy on generated images; player: the
    generator's name in the messages."""

    def __init__(self, window=100, high=0.95, chance=0.03, drift=0.03,
                 fake="accuracy_refined", player="refiner"):
        self.window, self.high, self.chance, self.drift = window, high, chance, drift
        self.fake, self.player = fake, player
        self.history = []
        self.active = set()

    def __call__(self, step, metrics):
        """-> warning lines for this step (usually none)."""
        if "accuracy_real" not in metrics:
            return []
        accuracy = (metrics["accuracy_real"] + metrics[self.fake]) / 2
        self.history = (self.history + [(accuracy, metrics.get("colour_drift", 0.0))])[
            -self.window:]
        if len(self.history) < self.window:
            return []
        mean_accuracy = sum(a for a, _ in self.history) / self.window
        mean_drift = sum(d for _, d in self.history) / self.window
        # (holds, cleared, message): cleared is the condition with twice its margin
        conditions = {
            "wins": (mean_accuracy > self.high, mean_accuracy < 2 * self.high - 1,
                     f"the discriminator is right on {mean_accuracy:.0%} of patches over the "
                     f"last {self.window} steps: it wins outright and the {self.player} learns "
                     "little from it; try a lower --discriminator-learning-rate or a smaller "
                     "--discriminator-filters"),
            "chance": (abs(mean_accuracy - 0.5) < self.chance,
                       abs(mean_accuracy - 0.5) > 2 * self.chance,
                       f"the discriminator is at chance ({mean_accuracy:.0%}) over the last "
                       f"{self.window} steps: it teaches the {self.player} nothing; try a "
                       "higher --discriminator-learning-rate"),
            "drift": (mean_drift > self.drift, mean_drift < self.drift / 2,
                      f"the {self.player}'s colours drift from the input's by {mean_drift:.3f} "
                      f"on average over the last {self.window} steps; try a lower "
                      "--adversarial-weight"),
        }
        lines = []
        for name, (holds, cleared, message) in conditions.items():
            if holds and name not in self.active:
                lines.append(f"step {step}: warning: {message}")
                self.active.add(name)
            elif cleared:
                self.active.discard(name)
        return lines
