"""A plain Sequential CNN with strided and dilated convolutions: the twin keeps each layer's
strides and dilation (`dsbench summary --arch examples/plain_cnn.py:build --layers`)."""

import keras


def build(input_shape=(32, 32, 3), num_classes=10):
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Conv2D(32, 5, padding="same", activation="relu", name="conv1"),
            keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", name="down1"),
            keras.layers.Conv2D(
                64, 3, dilation_rate=2, padding="same", activation="relu", name="dilated"
            ),
            keras.layers.Conv2D(128, 3, strides=2, padding="same", activation="relu", name="down2"),
            keras.layers.GlobalAveragePooling2D(name="pool"),
            keras.layers.Dropout(0.2, name="dropout"),
            keras.layers.Dense(num_classes, activation="softmax", name="predictions"),
        ],
        name="plain_cnn",
    )
