"""Cross-attention decoder ("Interaction Asymmetry", ICLR'25): one query per pixel or per patch,
built from a Fourier encoding of its position, attends to the K slots (keys/values after a
per-slot MLP) through several cross-attention + MLP layers; no self-attention among queries, so
queries interact with each other only through the slots. An MLP maps each query to its
patch×patch RGB block; patch queries (P = (res/patch)²) are what make it fast on CPU.

The cross-attention weights averaged over heads and layers, w (B,K,P), say how much each query
reads from each slot; ``interaction_penalty`` on them pushes every query to a single slot.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import DecoderConfig
from .layers import Attention, FourierFeatures, mlp, patches_to_image, unit_grid
from .outputs import DecoderOutput
from .registries import DECODERS


class CrossAttentionBlock(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(hidden)
        self.attn = Attention(hidden, heads)
        self.norm_mlp = nn.LayerNorm(hidden)
        self.mlp = mlp(hidden, 4 * hidden, hidden)

    def forward(self, x: Tensor, slots: Tensor) -> tuple[Tensor, Tensor]:
        y, w = self.attn(self.norm_q(x), slots, need_weights=True)  # y (B, P, H), w (B, P, K)
        x = x + y
        return x + self.mlp(self.norm_mlp(x)), w  # type: ignore[return-value]


class XAttnDecoder(nn.Module):
    def __init__(self, res: int, slot_dim: int, hidden: int, depth: int, heads: int, patch: int,
                 fourier_bands: int) -> None:
        super().__init__()
        self.grid, self.patch = res // patch, patch
        coords = unit_grid(self.grid, self.grid).view(-1, 2) * 2 - 1  # (P, 2) patch centres in [-1, 1]
        self.register_buffer("coords", coords, persistent=False)
        self.fourier = FourierFeatures(fourier_bands)
        self.query_mlp = mlp(self.fourier.out_dim, hidden, hidden)
        self.slot_mlp = nn.Sequential(mlp(slot_dim, hidden, hidden), nn.LayerNorm(hidden))
        self.blocks = nn.ModuleList(CrossAttentionBlock(hidden, heads) for _ in range(depth))
        self.norm_out = nn.LayerNorm(hidden)
        self.to_pixels = mlp(hidden, hidden, patch * patch * 3)

    def forward(self, z: Tensor) -> DecoderOutput:
        B, K, _ = z.shape
        slots = self.slot_mlp(z)  # (B, K, H)
        x = self.query_mlp(self.fourier(self.coords)).expand(B, -1, -1)  # (B, P, H), same for every image
        weights = []
        for block in self.blocks:
            x, w = block(x, slots)
            weights.append(w)
        w = torch.stack(weights).mean(dim=0).transpose(1, 2)  # (B, K, P)
        image = patches_to_image(self.to_pixels(self.norm_out(x)), self.grid, self.patch, 3)  # (B, 3, H, W)
        masks = w.view(B, K, self.grid, self.grid)
        masks = masks.repeat_interleave(self.patch, dim=2).repeat_interleave(self.patch, dim=3)  # (B, K, H, W)
        return DecoderOutput(image=image, masks=masks, weights=w, slot_images=None)


def interaction_penalty(weights: Tensor) -> Tensor:
    """weights (B, K, P) -> (B,): mean over queries of sum_{i<j} w_i * w_j.

    Uses sum_{i<j} w_i w_j = ((sum_i w_i)^2 - sum_i w_i^2) / 2: 0 when each query reads one slot,
    (1 - 1/K) / 2 for uniform weights.
    """
    pairs = (weights.sum(dim=1).square() - weights.square().sum(dim=1)) / 2  # (B, P)
    return pairs.mean(dim=1)


@DECODERS.register("xattn")
def build_xattn(cfg: DecoderConfig, res: int, n_slots: int, slot_dim: int) -> XAttnDecoder:
    return XAttnDecoder(res, slot_dim, cfg.hidden, cfg.depth, cfg.heads, cfg.patch, cfg.fourier_bands)
