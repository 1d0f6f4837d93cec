"""The paired accuracy test's flags come from the best epoch's own validation pass (callbacks.
CorrectFlags), not from a second prediction pass: they must be exactly what predicting the test
images with that epoch's weights gives."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.tf
@pytest.mark.parametrize(
    ("images", "batch"), [pytest.param(50, 16, marks=pytest.mark.slow), (10, 32)]
)  # a partial last batch; fewer than one
def test_the_flags_of_a_validation_pass_are_what_predicting_gives(images: int, batch: int) -> None:
    import keras

    from dsbench.run.callbacks import BestWeights, CorrectFlags

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 8, 8, 3), dtype=np.float32), rng.integers(0, 3, 40)
    x_test, y_test = rng.random((images, 8, 8, 3), dtype=np.float32), rng.integers(0, 3, images)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])  # fmt: skip
    flags = CorrectFlags(images, batch)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", flags])
    best = BestWeights(flags)
    for _ in range(3):  # training batches pass through the metric too, and must not leak
        history = model.fit(x, y, batch_size=batch, validation_data=(x_test, y_test),
                            verbose=0, callbacks=[best])  # fmt: skip
    predicted = model.predict(x_test, batch_size=batch, verbose=0).argmax(axis=-1) == y_test
    assert np.array_equal(flags.correct(), predicted)
    assert history.history["val_accuracy"][-1] == pytest.approx(predicted.mean())
    if best.best == history.history["val_accuracy"][-1]:
        assert np.array_equal(best.correct, predicted)
    assert best.weights is None  # the flags replace the copy of the weights
