"""The networks compared: the VGG-style pair and its analytic per-layer costs (vgg), your own
network and its separable twin (twin). May import spec and errors; Keras only inside functions."""
