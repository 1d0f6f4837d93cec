"""Imported by the fork server of bench's and compare's worker processes (workers._spawn):
TensorFlow and Keras imported once, their runtime not started, so that every worker forked
from it starts TensorFlow afresh (its own devices and threads) without paying the import."""

from dsbench.backends.tensorflow import startup as runtime

runtime.preload_tensorflow()
