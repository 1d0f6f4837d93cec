"""A training loop on strategy.run for MultiWorkerMirroredStrategy.

Keras 3's `model.fit` fails under MultiWorkerMirroredStrategy on the TensorFlow backend: it
tries to convert the distributed dataset's PerReplica batches into one tensor
("Attempt to convert a value (PerReplica:{...}) ... to a Tensor"; keras-team/keras#20585,
tensorflow/tensorflow#72388). `Trainer` does what fit does for our two models — one step per
global batch on a distributed dataset, gradients all-reduced by the strategy, the loss scaled
for mixed precision as Keras' own train step does, validation after every epoch — and calls the
same Keras callbacks, so timing and progress are the same. Its graph functions are built once,
so calling `epoch` again (the interleaved schedule does) does not trace again.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


class Trainer:
    """Trains a compiled `model` one epoch at a time on `strategy`."""

    def __init__(
        self,
        model: keras.Model,
        strategy: tf.distribute.Strategy,
        train_ds: tf.data.Dataset,
        val_ds: tf.data.Dataset,
        *,
        steps: int,
        global_batch: int,
    ) -> None:
        self.model, self.strategy, self.val_ds, self.steps = model, strategy, val_ds, steps
        self.dist_train = strategy.experimental_distribute_dataset(train_ds)
        optimizer = model.optimizer
        if not optimizer.built:  # its slots must exist before a replica step updates them
            with strategy.scope():
                optimizer.build(model.trainable_variables)

        def replica_step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                per_example = keras.losses.sparse_categorical_crossentropy(y, probs)
                # Sum over the replica's examples / global batch: the all-reduced sum is the mean.
                loss = tf.reduce_sum(per_example) / global_batch
                # Mixed precision: Keras' train step scales the loss before the gradients and
                # the LossScaleOptimizer unscales them in apply; a plain optimizer leaves it.
                scaled = optimizer.scale_loss(loss)
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            correct = tf.equal(
                tf.argmax(probs, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32)
            )
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
            correct = tf.equal(
                tf.argmax(probs, axis=-1, output_type=tf.int32), tf.cast(y, tf.int32)
            )
            return loss, tf.reduce_sum(tf.cast(correct, tf.float32))

        self.train_step, self.eval_batch = train_step, eval_batch

    def epoch(self, epoch: int, callbacks: list[keras.callbacks.Callback], step_logs: bool) -> None:
        """Train epoch `epoch` (0-based) and validate, calling the callbacks as fit does.

        Sums stay on the device and are read once per epoch; only with `step_logs` (a live
        progress display) is the host synchronised after every step.
        """
        for callback in callbacks:
            callback.set_model(self.model)
            callback.on_epoch_begin(epoch)
        iterator = iter(self.dist_train)
        totals = [tf.constant(0.0)] * 3
        for step in range(self.steps):
            for callback in callbacks:
                callback.on_train_batch_begin(step)
            totals = [t + v for t, v in zip(totals, self.train_step(iterator), strict=True)]
            if step_logs:
                loss_sum, correct_sum, seen = (float(t) for t in totals)
                logs = {"loss": loss_sum / seen, "accuracy": correct_sum / seen}
                for callback in callbacks:
                    callback.on_train_batch_end(step, logs)
        loss_sum, correct_sum, seen = (float(t) for t in totals)
        for callback in callbacks:
            callback.on_test_begin()
        val = [tf.constant(0.0)] * 2
        val_seen = 0
        for x, y in self.val_ds:
            val = [t + v for t, v in zip(val, self.eval_batch(x, y), strict=True)]
            val_seen += int(y.shape[0])
        val_loss, val_correct = (float(t) for t in val)
        for callback in callbacks:
            callback.on_test_end()
        epoch_logs = {
            "loss": loss_sum / max(seen, 1.0),
            "accuracy": correct_sum / max(seen, 1.0),
            "val_loss": val_loss / max(val_seen, 1),
            "val_accuracy": val_correct / max(val_seen, 1),
        }
        for callback in callbacks:
            callback.on_epoch_end(epoch, epoch_logs)
