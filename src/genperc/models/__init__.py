"""Slot autoencoders: base encoders, slot encoders and decoders behind name registries, the slot
VAE that wires them from a ``ModelConfig``, and its loss.

    from genperc.models import ModelConfig, build_model
    model = build_model(ModelConfig(res=32, n_slots=2, slot_dim=32))
    out = model(images)                        # VAEOutput(posterior, z, decoded)
    terms = model.loss(images, out, beta=0.05, alpha=0.05)
"""

# importing the component modules registers them
from . import (  # noqa: F401
    decoder_additive,
    decoder_unstructured,
    decoder_xattn,
    encoders,
    pretrained,
    slot_attention,
    slot_transformer,
)
from .autoencoder import SlotVAE, build_model
from .config import DecoderConfig, EncoderConfig, ModelConfig, SlotEncoderConfig, reference_config
from .decoder_xattn import interaction_penalty
from .flops import count_flops
from .outputs import DecoderOutput, LossTerms, SlotPosterior, VAEOutput
from .registries import DECODERS, ENCODERS, SLOT_ENCODERS

__all__ = [
    "ENCODERS",
    "SLOT_ENCODERS",
    "DECODERS",
    "EncoderConfig",
    "SlotEncoderConfig",
    "DecoderConfig",
    "ModelConfig",
    "reference_config",
    "build_model",
    "SlotVAE",
    "SlotPosterior",
    "DecoderOutput",
    "VAEOutput",
    "LossTerms",
    "interaction_penalty",
    "count_flops",
]
