"""A training loop on strategy.run for MultiWorkerMirroredStrategy.

Keras 3's `model.fit` fails under MultiWorkerMirroredStrategy on the TensorFlow backend: it
tries to convert the distributed dataset's PerReplica batches into one tensor
("Attempt to convert a value (PerReplica:{...}) ... to a Tensor"; keras-team/keras#20585,
tensorflow/tensorflow#72388). This loop does what fit does for our two models — one step per
global batch on a distributed dataset, gradients all-reduced by the strategy, validation after
every epoch — and calls the same Keras callbacks, so timing and progress are identical.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def fit(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    train_ds: tf.data.Dataset,
    val_ds: tf.data.Dataset,
    *,
    epochs: int,
    initial_epoch: int,
    steps: int,
    global_batch: int,
    callbacks: list[keras.callbacks.Callback],
) -> None:
    """Train `model` (compiled with an optimizer) like `model.fit` would, on `strategy`."""
    optimizer = model.optimizer
    dist_train = strategy.experimental_distribute_dataset(train_ds)

    def replica_step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            per_example = keras.losses.sparse_categorical_crossentropy(y, probs)
            # Sum over the replica's examples / global batch: the all-reduced sum is the mean.
            loss = tf.reduce_sum(per_example) / global_batch
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        correct = tf.equal(tf.argmax(probs, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32))
        return (
            tf.reduce_sum(per_example),
            tf.reduce_sum(tf.cast(correct, tf.float32)),
            tf.cast(tf.shape(y)[0], tf.float32),
        )

    @tf.function
    def train_step(iterator: Any) -> list[tf.Tensor]:
        x, y = next(iterator)
        sums = strategy.run(replica_step, args=(x, y))
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None) for value in sums]

    @tf.function
    def eval_batch(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # Validation runs on each worker's local copy of the (synchronised) weights: no
        # collectives, so uneven last batches cannot stall the cluster.
        probs = model(x, training=False)
        loss = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probs))
        correct = tf.equal(tf.argmax(probs, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32))
        return loss, tf.reduce_sum(tf.cast(correct, tf.float32))

    for callback in callbacks:
        callback.set_model(model)
    model.stop_training = False
    for epoch in range(initial_epoch, epochs):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        iterator = iter(dist_train)
        loss_sum = correct_sum = seen = 0.0
        for step in range(steps):
            loss, correct, count = (float(v) for v in train_step(iterator))
            loss_sum, correct_sum, seen = loss_sum + loss, correct_sum + correct, seen + count
            logs = {"loss": loss_sum / seen, "accuracy": correct_sum / seen}
            for callback in callbacks:
                callback.on_train_batch_end(step, logs)
        for callback in callbacks:
            callback.on_test_begin()
        val_loss = val_correct = val_seen = 0.0
        for x, y in val_ds:
            loss, correct = eval_batch(x, y)
            val_loss, val_correct = val_loss + float(loss), val_correct + float(correct)
            val_seen += int(y.shape[0])
        for callback in callbacks:
            callback.on_test_end()
        epoch_logs = {
            "loss": loss_sum / max(seen, 1.0),
            "accuracy": correct_sum / max(seen, 1.0),
            "val_loss": val_loss / max(val_seen, 1.0),
            "val_accuracy": val_correct / max(val_seen, 1.0),
        }
        for callback in callbacks:
            callback.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
