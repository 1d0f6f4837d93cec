"""A MobileNet-like network that already has depthwise layers: its twin swaps only the 3x3 stem
(`dsbench summary --arch examples/mobilenet_like.py:build --layers`); the DepthwiseConv2D and
1x1 layers stay, so the two models are nearly the same: the answer for a network that is
separable already."""

import keras


def build(input_shape=(32, 32, 3), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Conv2D(32, 3, strides=1, padding="same", use_bias=False, name="stem")(inputs)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(6.0, name="stem_relu")(x)
    for index, (filters, stride) in enumerate(((64, 1), (128, 2), (128, 1), (256, 2)), start=1):
        x = keras.layers.DepthwiseConv2D(
            3, strides=stride, padding="same", use_bias=False, name=f"dw{index}"
        )(x)
        x = keras.layers.BatchNormalization(name=f"dw{index}_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"dw{index}_relu")(x)
        x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"pw{index}")(x)
        x = keras.layers.BatchNormalization(name=f"pw{index}_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"pw{index}_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="mobilenet_like")
