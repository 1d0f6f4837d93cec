"""A small ResNet-style CIFAR network (residual blocks, strided convolutions, 1x1 projection
shortcuts, batch normalization): `dsbench summary --arch examples/resnet_cifar.py:build`.
Its 3x3 convolutions become depthwise separable in the twin; the 1x1 shortcuts stay.
`width` (a multiplier of 32, 64 and 128 filters) and `kernel_size` are what `dsbench sweep
--arch ... --width 0.5,1 --kernel-size 3,5` varies."""

import keras


def _block(x, filters, stride, kernel_size, name):
    shortcut = x
    y = keras.layers.Conv2D(
        filters, kernel_size, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1"
    )(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv2"
    )(y)
    y = keras.layers.BatchNormalization(name=f"{name}_bn2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(
            filters, 1, strides=stride, use_bias=False, name=f"{name}_shortcut"
        )(shortcut)
        shortcut = keras.layers.BatchNormalization(name=f"{name}_shortcut_bn")(shortcut)
    return keras.layers.ReLU(name=f"{name}_out")(
        keras.layers.Add(name=f"{name}_add")([y, shortcut])
    )


def build(input_shape=(32, 32, 3), num_classes=10, width=1.0, kernel_size=3):
    filters = max(1, round(32 * width))
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name="stem")(
        inputs
    )
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for stage, stride in enumerate((1, 2, 2), 1):
        x = _block(x, filters * 2 ** (stage - 1), stride, kernel_size, f"stage{stage}_a")
        x = _block(x, filters * 2 ** (stage - 1), 1, kernel_size, f"stage{stage}_b")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="resnet_cifar")
