"""The three component registries of a slot autoencoder.

Each entry is a builder ``fn(cfg, ...) -> nn.Module`` that reads its options from the matching
config dataclass (see ``config.py``):

    ENCODERS.create(name, cfg=EncoderConfig, res=int)                     -> base encoder
    SLOT_ENCODERS.create(name, cfg=SlotEncoderConfig, in_dim=int,
                         n_slots=int, slot_dim=int)                        -> slot encoder
    DECODERS.create(name, cfg=DecoderConfig, res=int, n_slots=int,
                    slot_dim=int)                                          -> decoder

A base encoder maps images (B,3,H,W) to tokens (B,N,C) and has ``out_dim = C``; a slot encoder maps
tokens to a ``SlotPosterior``; a decoder maps slots (B,K,D) to a ``DecoderOutput``.
"""

from __future__ import annotations

from torch import nn

from genperc.registry import Registry

ENCODERS: Registry[nn.Module] = Registry("base encoder")
SLOT_ENCODERS: Registry[nn.Module] = Registry("slot encoder")
DECODERS: Registry[nn.Module] = Registry("decoder")
