"""Small pieces shared by the encoders and decoders."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def mlp(in_dim: int, hidden: int, out_dim: int, hidden_layers: int = 1) -> nn.Sequential:
    """``hidden_layers`` ReLU layers of width ``hidden``, then a linear output layer."""
    layers: list[nn.Module] = []
    dim = in_dim
    for _ in range(hidden_layers):
        layers += [nn.Linear(dim, hidden), nn.ReLU()]
        dim = hidden
    layers.append(nn.Linear(dim, out_dim))
    return nn.Sequential(*layers)


def unit_grid(h: int, w: int) -> Tensor:
    """(h, w, 2) pixel-centre coordinates (y, x) in [0, 1]."""
    ys = (torch.arange(h) + 0.5) / h
    xs = (torch.arange(w) + 0.5) / w
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1)


class SoftPositionEmbed(nn.Module):
    """Slot Attention's position embedding: a learned linear map of (y, x, 1-y, 1-x), added to
    channels-last features of shape (..., h, w, dim)."""

    def __init__(self, dim: int, h: int, w: int) -> None:
        super().__init__()
        grid = unit_grid(h, w)
        self.register_buffer("grid", torch.cat([grid, 1 - grid], dim=-1), persistent=False)
        self.proj = nn.Linear(4, dim)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.proj(self.grid)  # (h, w, dim) broadcasts over the leading dims


class FourierFeatures(nn.Module):
    """(..., 2) coordinates in [-1, 1] -> (..., 2 + 4 * bands): the coordinates and
    sin/cos at frequencies pi * 2^i, i < bands (``bands`` = 6 reaches the Nyquist rate of a
    64-wide grid)."""

    def __init__(self, bands: int) -> None:
        super().__init__()
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(bands), persistent=False)
        self.out_dim = 2 + 4 * bands

    def forward(self, coords: Tensor) -> Tensor:
        angles = (coords[..., None] * self.freqs).flatten(-2)  # (..., 2 * bands)
        return torch.cat([coords, angles.sin(), angles.cos()], dim=-1)


class Attention(nn.Module):
    """Multi-head attention of queries (B, Q, dim) over a context (B, N, ctx_dim).

    With ``need_weights`` the attention probabilities are returned averaged over heads,
    (B, Q, N), softmax over N; otherwise the fused kernel is used and weights are None.
    """

    def __init__(self, dim: int, heads: int, ctx_dim: int | None = None) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        ctx_dim = dim if ctx_dim is None else ctx_dim
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(ctx_dim, 2 * dim, bias=False)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, ctx: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        B, Q, dim = x.shape
        h = self.heads
        q = self.to_q(x).view(B, Q, h, dim // h).transpose(1, 2)  # (B, h, Q, d)
        k, v = self.to_kv(ctx).view(B, -1, 2, h, dim // h).permute(2, 0, 3, 1, 4)  # 2 × (B, h, N, d)
        if need_weights:
            probs = (q @ k.transpose(-1, -2) * (dim // h) ** -0.5).softmax(dim=-1)  # (B, h, Q, N)
            y = probs @ v
            weights: Tensor | None = probs.mean(dim=1)
        else:
            y = F.scaled_dot_product_attention(q, k, v)
            weights = None
        return self.out(y.transpose(1, 2).reshape(B, Q, dim)), weights


class GaussianHead(nn.Module):
    """Slot features (B, K, hidden) -> diagonal Gaussian posterior parameters mu, logvar (B, K, D)."""

    def __init__(self, in_dim: int, slot_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_dim)
        self.proj = nn.Linear(in_dim, 2 * slot_dim)

    def forward(self, slots: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.proj(self.norm(slots)).chunk(2, dim=-1)
        return mu, logvar


def patches_to_image(patches: Tensor, grid: int, patch: int, channels: int) -> Tensor:
    """(B, grid*grid, patch*patch*channels) in row-major patch order -> (B, channels, H, W)."""
    B = patches.shape[0]
    x = patches.view(B, grid, grid, patch, patch, channels)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(B, channels, grid * patch, grid * patch)
