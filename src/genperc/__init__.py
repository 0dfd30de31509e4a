"""genperc: compositional generalization in visual perception by inverting constrained decoders."""

__version__ = "0.1.0"
