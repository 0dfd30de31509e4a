"""Transformer slot encoder: K learned slot queries, each layer self-attention among the slots,
cross-attention to the feature tokens and an MLP (pre-LayerNorm), then a Gaussian posterior head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import SlotEncoderConfig
from .layers import Attention, GaussianHead, mlp
from .outputs import SlotPosterior
from .registries import SLOT_ENCODERS


class SlotTransformerLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, mlp_hidden: int) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(hidden)
        self.self_attn = Attention(hidden, heads)
        self.norm_cross = nn.LayerNorm(hidden)
        self.cross_attn = Attention(hidden, heads)
        self.norm_mlp = nn.LayerNorm(hidden)
        self.mlp = mlp(hidden, mlp_hidden, hidden)

    def forward(self, slots: Tensor, feats: Tensor) -> tuple[Tensor, Tensor]:
        h = self.norm_self(slots)
        slots = slots + self.self_attn(h, h)[0]
        y, w = self.cross_attn(self.norm_cross(slots), feats, need_weights=True)  # w (B, K, N)
        slots = slots + y
        return slots + self.mlp(self.norm_mlp(slots)), w  # type: ignore[return-value]


class SlotTransformer(nn.Module):
    def __init__(self, in_dim: int, n_slots: int, slot_dim: int, hidden: int, mlp_hidden: int,
                 heads: int, layers: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(n_slots, hidden) * hidden**-0.5)  # (K, H)
        self.norm_in = nn.LayerNorm(in_dim)
        self.proj_in = nn.Linear(in_dim, hidden)
        self.layers = nn.ModuleList(SlotTransformerLayer(hidden, heads, mlp_hidden) for _ in range(layers))
        self.head = GaussianHead(hidden, slot_dim)

    def forward(self, tokens: Tensor) -> SlotPosterior:
        feats = self.proj_in(self.norm_in(tokens))  # (B, N, H)
        slots = self.queries.expand(tokens.shape[0], -1, -1)  # (B, K, H)
        for layer in self.layers:
            slots, w = layer(slots, feats)
        mu, logvar = self.head(slots)
        # Last layer's cross-attention (softmax over tokens), renormalised over slots so that, as
        # for Slot Attention, attn[:, :, n] is token n's soft assignment to the slots.
        attn = w / w.sum(dim=1, keepdim=True).clamp_min(1e-12)  # (B, K, N)
        return SlotPosterior(mu=mu, logvar=logvar, attn=attn)


@SLOT_ENCODERS.register("transformer")
def build_slot_transformer(cfg: SlotEncoderConfig, in_dim: int, n_slots: int, slot_dim: int) -> SlotTransformer:
    return SlotTransformer(in_dim, n_slots, slot_dim, cfg.hidden, cfg.mlp_hidden, cfg.heads, cfg.layers)
