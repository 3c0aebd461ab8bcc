"""The VAE's training recipe: what train_vae.py hands vae.train.driver.train."""
from vae.data import datafolder
from vae.models import autoencoder
from vae.train.options import with_frame_size
from vae.train.recipe import Phase, Update, batch_means


class VAERecipe:
    """The VAE's own part of training: its networks, one Adam, one phase of the VAE loss."""
    kind = "vae"
    preview_title = "input_vs_reconstruction"
    inputs = ()

    def __init__(self, options):
        self.options = options
        self.learning_rate = options.run.learning_rate

    def prepare(self, manifest, data_dir):
        self.config = with_frame_size(self.options.network, datafolder.frame_size(manifest))
        return {"model": self.config.to_dict()}

    def build(self, make_optimizer):
        self.encoder = autoencoder.build_encoder(self.config)
        self.decoder = autoencoder.build_decoder(self.config)
        self.variables = self.encoder.trainable_variables + self.decoder.trainable_variables
        self.optimizer = make_optimizer(self.learning_rate)
        self.optimizer.build(self.variables)
        return {"encoder": self.encoder, "decoder": self.decoder, "optimizer": self.optimizer}

    def phases(self, steps):
        return [Phase("training", steps,
                      lambda batch: autoencoder.loss_terms(self.encoder, self.decoder,
                                                           batch["image"], training=True),
                      [Update(self.optimizer, self.learning_rate, self.variables)])]

    def fixed_batch_loss(self, images):
        return batch_means(autoencoder.loss_terms(self.encoder, self.decoder, images))

    def preview_rows(self, images):
        z_mean, _ = self.encoder(images, training=False)
        return [images, self.decoder(z_mean, training=False).numpy()]
