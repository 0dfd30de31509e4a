"""A slot encoder without a decoder: the base encoder + slot encoder of a ``ModelConfig``.

The replay encoder and the supervised encoder are this network, so every method that reads
images uses exactly the VAE's encoder architecture and differs only in how it was trained.
"""

from __future__ import annotations

from torch import Tensor, nn

from genperc.models import ENCODERS, SLOT_ENCODERS, ModelConfig, SlotPosterior, SlotVAE
from genperc.methods.common import module_device


class SlotEncoderNet(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = ENCODERS.create(cfg.encoder.name, cfg=cfg.encoder, res=cfg.res)
        self.slot_encoder = SLOT_ENCODERS.create(cfg.slot_encoder.name, cfg=cfg.slot_encoder,
                                                 in_dim=self.encoder.out_dim, n_slots=cfg.n_slots,
                                                 slot_dim=cfg.slot_dim)

    def encode(self, images: Tensor) -> SlotPosterior:
        """images (B, 3, res, res) in [0, 1] -> posterior over (B, K, D), as ``SlotVAE.encode``."""
        res = self.cfg.res
        if images.ndim != 4 or images.shape[1:] != (3, res, res):
            raise ValueError(f"expected images of shape (B, 3, {res}, {res}), got {tuple(images.shape)}")
        return self.slot_encoder(self.encoder(images))

    def forward(self, images: Tensor) -> SlotPosterior:
        return self.encode(images)

    @classmethod
    def from_vae(cls, vae: SlotVAE) -> SlotEncoderNet:
        """A trainable copy of the VAE's encoder (the VAE itself is left untouched)."""
        net = cls(vae.cfg).to(module_device(vae))
        net.encoder.load_state_dict(vae.encoder.state_dict())
        net.slot_encoder.load_state_dict(vae.slot_encoder.state_dict())
        return net
