"""dsbench: what depthwise separable convolutions buy over normal convolutions, measured."""

__version__ = "0.1.0"
