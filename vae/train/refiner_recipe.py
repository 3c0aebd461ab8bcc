"""The refiner's training recipe (l1-ssim, seed or adversarial): what train_refiner.py hands
vae.train.training.train."""
from dataclasses import dataclass

from vae import from_flags
from vae.data import datafolder
from vae.models import adversarial, refiner
from vae.models.configs import (
    DISCRIMINATOR_FILTERS,
    DISCRIMINATOR_KERNEL,
    REFINER_FILTERS,
    REFINER_KERNEL,
    REFINER_RESIDUAL_FILTERS,
    DiscriminatorConfig,
    RefinerConfig,
    RefinerObjective,
)
from vae.train import runs
from vae.train.recipe import Phase, Update, batch_means

ADVERSARIAL_ADAM = {"beta_1": 0.5}  # the usual GAN setting (Radford et al. 2016)


@dataclass(frozen=True)
class RefinerTraining:
    """train_refiner.py's own flags: the frozen VAE, the network's shape, the objective and its
    weights, the pre-training, and the discriminator of the adversarial objective."""
    vae: str
    learning_rate: float
    pretrain_steps: int = 200
    pretrain_learning_rate: float = 1e-3
    objective: str = RefinerObjective.name
    ssim_weight: float = RefinerObjective.ssim_weight
    input_weight: float = RefinerObjective.input_weight
    vae_weight: float = RefinerObjective.vae_weight
    feature_weight: float = RefinerObjective.feature_weight
    adversarial_weight: float = RefinerObjective.adversarial_weight
    discriminator_learning_rate: float = 2e-4
    discriminator_filters: tuple = DISCRIMINATOR_FILTERS
    discriminator_kernel: int = DISCRIMINATOR_KERNEL
    filters: int = REFINER_FILTERS
    residual_filters: tuple = REFINER_RESIDUAL_FILTERS
    kernel: int = REFINER_KERNEL

    @classmethod
    def from_args(cls, args):
        return from_flags(cls, args)


class RefinerRecipe:
    """The refiner's own part of training: a frozen VAE, an identity pre-training phase, then
    the objective on the VAE's output (with the adversarial objective, a discriminator and its
    optimizer step in the same pass)."""
    kind = "refiner"
    preview_title = "input_vae_refined"

    def __init__(self, options):
        self.options = options
        self.inputs = (options.vae,)
        self.adversarial = options.objective == "adversarial"

    def prepare(self, manifest, data_dir):
        opts = self.options
        self.vae = runs.load_vae(opts.vae)
        datafolder.check_frame_size(manifest, data_dir, self.vae.config.frame_size, "the VAE")
        print(f"frozen VAE: {self.vae.checkpoint} (step {self.vae.step})")
        self.config = RefinerConfig(*datafolder.frame_size(manifest), opts.filters,
                                    opts.residual_filters, opts.kernel)
        self.objective = RefinerObjective(opts.objective, opts.ssim_weight, opts.input_weight,
                                          opts.vae_weight, opts.feature_weight,
                                          opts.adversarial_weight)
        training = {"pretrain_steps": opts.pretrain_steps,
                    "pretrain_learning_rate": opts.pretrain_learning_rate,
                    "objective": self.objective.name, "ssim_weight": self.objective.ssim_weight,
                    "input_weight": opts.input_weight, "vae_weight": opts.vae_weight}
        sections = {"model": self.config.to_dict(), "vae": self.vae.info(), "training": training}
        if self.adversarial:
            self.discriminator_config = DiscriminatorConfig(opts.discriminator_filters,
                                                            opts.discriminator_kernel)
            sections["discriminator"] = self.discriminator_config.to_dict()
            training.update(feature_weight=opts.feature_weight,
                            adversarial_weight=opts.adversarial_weight,
                            discriminator_learning_rate=opts.discriminator_learning_rate)
        return sections

    def build(self, make_optimizer):
        self.net = refiner.build_refiner(self.config)
        adam = ADVERSARIAL_ADAM if self.adversarial else {}
        self.pretrain_optimizer = make_optimizer(self.options.pretrain_learning_rate)
        self.optimizer = make_optimizer(self.options.learning_rate, **adam)
        for optimizer in (self.pretrain_optimizer, self.optimizer):
            optimizer.build(self.net.trainable_variables)
        objects = {"refiner": self.net, "optimizer": self.optimizer,
                   "pretrain_optimizer": self.pretrain_optimizer}
        if self.adversarial:  # not exported: the bundle holds the refiner alone
            self.discriminator = adversarial.build_discriminator(self.discriminator_config)
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
        variables = net.trainable_variables
        updates = [Update(self.optimizer, opts.learning_rate, variables)]
        watch = None
        if self.adversarial:
            losses = self.losses()
            updates = [Update(self.optimizer, opts.learning_rate, variables, losses["loss"]),
                       Update(self.discriminator_optimizer, opts.discriminator_learning_rate,
                              self.discriminator.trainable_variables,
                              losses["discriminator_loss"], "discriminator_loss")]
            watch = adversarial.BalanceWatch()
        return [
            Phase("pretraining", opts.pretrain_steps,
                  lambda batch: refiner.identity_terms(net, batch["image"]),
                  [Update(self.pretrain_optimizer, opts.pretrain_learning_rate, variables,
                          loss_name="identity_loss")]),
            Phase("training", opts.pretrain_steps + steps,
                  lambda batch: self.loss_terms(batch["image"], training=True), updates,
                  watch),
        ]

    def fixed_batch_loss(self, images):
        return batch_means(self.loss_terms(images), self.losses())

    def preview_rows(self, images):
        blurry = refiner.vae_output(self.vae.encoder, self.vae.decoder, images)
        return [images, blurry.numpy(), self.net(blurry, training=False).numpy()]
