"""The networks compared: the VGG-style pair and its analytic per-layer costs (vgg), your own
network and its separable twin (twin) or, for a network separable already, its dense twin
(dense_twin), and what a built network costs (costs). May import spec and errors; Keras only
inside functions."""
