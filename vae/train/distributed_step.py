"""The distributed training step: one forward pass, each update's gradients applied, the
metrics and every worker's stop request all-reduced."""
import tensorflow as tf

STOP = "stop_requested"  # the training step's all-reduced stop flag


def make_optimizer(learning_rate, **adam):
    """Adam (adam: its other arguments, e.g. beta_1); loss-scaled under mixed_float16, whose
    small gradients would otherwise underflow (bfloat16 has float32's range: no need)."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate, **adam)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def make_train_step(strategy, updates, loss_terms, global_batch_size, jit_compile=False):
    """A tf.function running one step on next(iterator) on every replica: the loss terms of
    the batch from one forward pass, averaged over the global batch; then each update's
    gradients of the sum of its terms (loss-scaled when its optimizer is a
    LossScaleOptimizer) applied to its variables. Returns the batch means of each update's
    loss and, when there are several terms, of each term, summed over replicas, and STOP,
    the sum of every worker's stop request."""

    def average(values):
        return tf.nn.compute_average_loss(values, global_batch_size=global_batch_size)

    def scaled(update, loss):
        return update.optimizer.scale_loss(loss) if hasattr(update.optimizer, "scale_loss") \
            else loss

    @tf.function(jit_compile=jit_compile)
    def gradients(batch):
        with tf.GradientTape(persistent=len(updates) > 1) as tape:
            terms = {name: average(values) for name, values in loss_terms(batch).items()}
            losses = [tf.add_n([terms[t] for t in (u.terms or terms)]) for u in updates]
            targets = [scaled(u, loss) for u, loss in zip(updates, losses)]
        grads = [tape.gradient(target, u.variables) for u, target in zip(updates, targets)]
        metrics = {u.loss_name: loss for u, loss in zip(updates, losses)}
        return grads, {**metrics, **terms} if len(terms) > 1 else metrics

    def replica_step(batch, stop):
        grads, metrics = gradients(batch)
        for update, update_grads in zip(updates, grads):
            update.optimizer.apply_gradients(zip(update_grads, update.variables))
        return {**metrics, STOP: stop}

    @tf.function
    def train_step(iterator, stop=0.0):
        """stop: this worker's request to stop (a signal number, or 0); summed with the other
        workers' in the same collective as the loss, so that every worker sees it after the
        same step."""
        per_replica = strategy.run(replica_step, args=(next(iterator),
                                                      tf.cast(stop, tf.float32)))
        return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                for k, v in per_replica.items()}

    return train_step
