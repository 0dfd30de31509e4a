"""The slot VAE: base encoder -> slot encoder (Gaussian posterior per slot) -> decoder, and its loss."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import ModelConfig
from .decoder_xattn import interaction_penalty
from .outputs import DecoderOutput, LossTerms, SlotPosterior, VAEOutput
from .registries import DECODERS, ENCODERS, SLOT_ENCODERS


class SlotVAE(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = ENCODERS.create(cfg.encoder.name, cfg=cfg.encoder, res=cfg.res)
        self.slot_encoder = SLOT_ENCODERS.create(cfg.slot_encoder.name, cfg=cfg.slot_encoder,
                                                 in_dim=self.encoder.out_dim, n_slots=cfg.n_slots,
                                                 slot_dim=cfg.slot_dim)
        self.decoder = DECODERS.create(cfg.decoder.name, cfg=cfg.decoder, res=cfg.res, n_slots=cfg.n_slots,
                                       slot_dim=cfg.slot_dim)

    def encode(self, images: Tensor) -> SlotPosterior:
        """images (B, 3, res, res) in [0, 1] -> posterior over (B, K, D)."""
        res = self.cfg.res
        if images.ndim != 4 or images.shape[1:] != (3, res, res):
            raise ValueError(f"expected images of shape (B, 3, {res}, {res}), got {tuple(images.shape)}")
        return self.slot_encoder(self.encoder(images))

    def decode(self, z: Tensor) -> DecoderOutput:
        """Any slots z (B, K, D) -> image; differentiable in z (search), no batch statistics (replay)."""
        K, D = self.cfg.n_slots, self.cfg.slot_dim
        if z.ndim != 3 or z.shape[1:] != (K, D):
            raise ValueError(f"expected slots of shape (B, {K}, {D}), got {tuple(z.shape)}")
        return self.decoder(z)

    def forward(self, images: Tensor, sample: bool = True) -> VAEOutput:
        """Encode, draw z ~ q(z|x) by reparameterisation (or take the mean), decode."""
        post = self.encode(images)
        z = post.mu
        if sample:
            z = z + torch.randn_like(z) * (0.5 * post.logvar).exp()
        return VAEOutput(posterior=post, z=z, decoded=self.decode(z))

    def loss(self, images: Tensor, out: VAEOutput, beta: float, alpha: float) -> LossTerms:
        recon = (out.decoded.image - images).square().sum(dim=(1, 2, 3)).mean()
        mu, logvar = out.posterior.mu, out.posterior.logvar
        kl = (0.5 * (mu.square() + logvar.exp() - 1 - logvar)).sum(dim=(1, 2)).mean()
        w = out.decoded.weights
        interaction = interaction_penalty(w).mean() if w is not None else recon.new_zeros(())
        return LossTerms(total=recon + beta * kl + alpha * interaction, recon=recon, kl=kl, interaction=interaction)


def build_model(cfg: ModelConfig) -> SlotVAE:
    return SlotVAE(cfg)
