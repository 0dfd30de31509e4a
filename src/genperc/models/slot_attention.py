"""Slot Attention (Locatello et al. 2020) with learned initial slots and a Gaussian posterior head.

One learned initial vector per slot (instead of sampling all slots from one shared Gaussian) makes
slot k mean the same thing across images, which slot-wise evaluation and replay rely on.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import SlotEncoderConfig
from .layers import GaussianHead, mlp
from .outputs import SlotPosterior
from .registries import SLOT_ENCODERS


class SlotAttention(nn.Module):
    def __init__(self, in_dim: int, n_slots: int, slot_dim: int, hidden: int, mlp_hidden: int,
                 iters: int, detach_last: bool, eps: float = 1e-8) -> None:
        super().__init__()
        self.iters = iters
        self.detach_last = detach_last
        self.eps = eps
        self.init = nn.Parameter(torch.randn(n_slots, hidden) * hidden**-0.5)  # (K, H)
        self.norm_in = nn.LayerNorm(in_dim)
        self.to_k = nn.Linear(in_dim, hidden, bias=False)
        self.to_v = nn.Linear(in_dim, hidden, bias=False)
        self.norm_slots = nn.LayerNorm(hidden)
        self.to_q = nn.Linear(hidden, hidden, bias=False)
        self.gru = nn.GRUCell(hidden, hidden)
        self.norm_mlp = nn.LayerNorm(hidden)
        self.mlp = mlp(hidden, mlp_hidden, hidden)
        self.head = GaussianHead(hidden, slot_dim)

    def step(self, slots: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """One iteration: slots (B,K,H), keys/values (B,N,H) -> new slots, attention (B,N,K)."""
        B, K, H = slots.shape
        q = self.to_q(self.norm_slots(slots))  # (B, K, H)
        attn = (k @ q.transpose(1, 2) * H**-0.5).softmax(dim=-1)  # (B, N, K): slots compete for tokens
        w = attn + self.eps
        w = w / w.sum(dim=1, keepdim=True)  # weighted mean over tokens
        updates = w.transpose(1, 2) @ v  # (B, K, H)
        slots = self.gru(updates.reshape(B * K, H), slots.reshape(B * K, H)).view(B, K, H)
        return slots + self.mlp(self.norm_mlp(slots)), attn

    def forward(self, tokens: Tensor) -> SlotPosterior:
        x = self.norm_in(tokens)  # (B, N, C)
        k, v = self.to_k(x), self.to_v(x)  # (B, N, H)
        init = self.init.expand(tokens.shape[0], -1, -1)  # (B, K, H)
        slots = init
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.detach_last):
            for _ in range(self.iters - 1):
                slots, _ = self.step(slots, k, v)
        if self.detach_last:
            # Implicit differentiation: gradient flows through the last iteration only; the value
            # is the iterated slots, the gradient goes straight through to the learned init.
            slots = slots.detach() + init - init.detach()
        slots, attn = self.step(slots, k, v)
        mu, logvar = self.head(slots)
        return SlotPosterior(mu=mu, logvar=logvar, attn=attn.transpose(1, 2))  # attn (B, K, N)


@SLOT_ENCODERS.register("slot_attention")
def build_slot_attention(cfg: SlotEncoderConfig, in_dim: int, n_slots: int, slot_dim: int) -> SlotAttention:
    return SlotAttention(in_dim, n_slots, slot_dim, cfg.hidden, cfg.mlp_hidden, cfg.iters, cfg.detach_last)
