"""The refiner's training recipe (l1-ssim, toward-away or adversarial): what train_refiner.py
hands vae.train.driver.train."""
from vae.data import datafolder
from vae.models import adversarial, refiner
from vae.train import run_folder
from vae.train.options import with_frame_size
from vae.train.recipe import Phase, Update, batch_means

ADVERSARIAL_ADAM = {"beta_1": 0.5}  # the usual GAN setting (Radford et al. 2016)


class RefinerRecipe:
    """The refiner's own part of training: a frozen VAE, an identity pre-training phase, then
    the objective on the VAE's output (with the adversarial objective, a discriminator and its
    optimizer step in the same pass)."""
    kind = "refiner"
    preview_title = "input_vae_refined"

    def __init__(self, options):
        self.options = options
        self.inputs = (options.vae,)
        self.objective = options.objective
        self.adversarial = self.objective.name == "adversarial"

    def prepare(self, manifest, data_dir):
        opts = self.options
        self.vae = run_folder.load_vae(opts.vae)
        datafolder.check_frame_size(manifest, data_dir, self.vae.config.frame_size, "the VAE")
        print(f"frozen VAE: {self.vae.checkpoint} (step {self.vae.step})")
        self.config = with_frame_size(opts.network, datafolder.frame_size(manifest))
        sections = {"model": self.config.to_dict(), "vae": self.vae.info()}
        if self.adversarial:
            sections["discriminator"] = opts.discriminator.to_dict()
        return sections

    def build(self, make_optimizer):
        self.net = refiner.build_refiner(self.config)
        adam = ADVERSARIAL_ADAM if self.adversarial else {}
        self.pretrain_optimizer = make_optimizer(self.options.pretraining.learning_rate)
        self.optimizer = make_optimizer(self.options.run.learning_rate, **adam)
        for optimizer in (self.pretrain_optimizer, self.optimizer):
            optimizer.build(self.net.trainable_variables)
        objects = {"refiner": self.net, "optimizer": self.optimizer,
                   "pretrain_optimizer": self.pretrain_optimizer}
        if self.adversarial:  # not exported: the bundle holds the refiner alone
            self.discriminator = adversarial.build_discriminator(self.options.discriminator)
            self.discriminator_optimizer = make_optimizer(
                self.options.discriminator_learning_rate, **adam)
            self.discriminator_optimizer.build(self.discriminator.trainable_variables)
            objects.update(discriminator=self.discriminator,
                           discriminator_optimizer=self.discriminator_optimizer)
        return objects

    def loss_terms(self, images, training=False):
        vae = self.vae
        if self.adversarial:
            return adversarial.loss_terms(self.net, self.discriminator, vae.encoder, vae.decoder,
                                          images, self.objective, training=training)
        return refiner.loss_terms(self.net, vae.encoder, vae.decoder, images, self.objective,
                                  training=training)

    def losses(self):
        """{loss name: the terms it sums}, the refiner's loss first."""
        if self.adversarial:
            return {"loss": adversarial.REFINER_TERMS,
                    "discriminator_loss": adversarial.DISCRIMINATOR_TERMS}
        return None

    def phases(self, steps):
        opts, net = self.options, self.net
        pretraining, learning_rate = opts.pretraining, opts.run.learning_rate
        variables = net.trainable_variables
        updates = [Update(self.optimizer, learning_rate, variables)]
        watch = None
        if self.adversarial:
            losses = self.losses()
            updates = [Update(self.optimizer, learning_rate, variables, losses["loss"]),
                       Update(self.discriminator_optimizer, opts.discriminator_learning_rate,
                              self.discriminator.trainable_variables,
                              losses["discriminator_loss"], "discriminator_loss")]
            watch = adversarial.BalanceWatch()
        return [
            Phase("pretraining", pretraining.steps,
                  lambda batch: refiner.identity_terms(net, batch["image"]),
                  [Update(self.pretrain_optimizer, pretraining.learning_rate, variables,
                          loss_name="identity_loss")]),
            Phase("training", pretraining.steps + steps,
                  lambda batch: self.loss_terms(batch["image"], training=True), updates,
                  watch),
        ]

    def fixed_batch_loss(self, images):
        return batch_means(self.loss_terms(images), self.losses())

    def preview_rows(self, images):
        blurry = refiner.vae_output(self.vae.encoder, self.vae.decoder, images)
        return [images, blurry.numpy(), self.net(blurry, training=False).numpy()]
