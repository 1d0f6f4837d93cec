"""dsbench's own normal VGG as an --arch builder: its separable twin is dsbench's separable
model, 174,821 parameters (`dsbench summary --arch examples/reference_vgg.py:build`)."""

import keras


def build(input_shape=(32, 32, 3), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for block, filters in enumerate((64, 128, 256), start=1):
        for conv in (1, 2):
            x = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu", name=f"block{block}_conv{conv}"
            )(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="reference_vgg")
