"""Base encoders trained from scratch: images (B,3,H,W) in [0,1] -> feature tokens (B,N,C)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import EncoderConfig
from .layers import Attention, SoftPositionEmbed, mlp
from .registries import ENCODERS


class CNNEncoder(nn.Module):
    """Slot Attention's encoder: ``depth`` ReLU convs (the first log2(downsample) with stride 2),
    a soft position embedding, then LayerNorm + MLP per token. N = (res / downsample)²."""

    def __init__(self, res: int, channels: int, depth: int, kernel: int, downsample: int) -> None:
        super().__init__()
        n_strided = downsample.bit_length() - 1
        if n_strided > depth:
            raise ValueError(f"cnn downsample {downsample} needs at least {n_strided} conv layers, got depth {depth}")
        convs: list[nn.Module] = []
        for i in range(depth):
            convs += [nn.Conv2d(3 if i == 0 else channels, channels, kernel, stride=2 if i < n_strided else 1,
                                padding=kernel // 2), nn.ReLU()]
        self.convs = nn.Sequential(*convs)
        side = res // downsample
        self.pos = SoftPositionEmbed(channels, side, side)
        self.norm = nn.LayerNorm(channels)
        self.mlp = mlp(channels, channels, channels)
        self.res = res
        self.out_dim = channels

    def forward(self, images: Tensor) -> Tensor:
        x = self.convs(images * 2 - 1).permute(0, 2, 3, 1)  # (B, h, w, C), inputs centred
        x = self.pos(x).flatten(1, 2)  # (B, N, C)
        return self.mlp(self.norm(x))


class ViTBlock(nn.Module):
    """Pre-LayerNorm transformer block."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h)[0]
        return x + self.mlp(self.norm2(x))


class ViTEncoder(nn.Module):
    """A ViT without CLS token: patch embedding + learned position embedding, ``depth`` blocks,
    final LayerNorm. N = (res / patch)². ViT-S/16 is width 384, depth 12, heads 6, patch 16."""

    def __init__(self, res: int, patch: int, width: int, depth: int, heads: int) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, width, patch, stride=patch)
        n_tokens = (res // patch) ** 2
        self.pos = nn.Parameter(0.02 * torch.randn(n_tokens, width))
        self.blocks = nn.Sequential(*(ViTBlock(width, heads) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.res = res
        self.out_dim = width

    def forward(self, images: Tensor) -> Tensor:
        x = self.embed(images * 2 - 1).flatten(2).transpose(1, 2)  # (B, N, width), inputs centred
        return self.norm(self.blocks(x + self.pos))


@ENCODERS.register("cnn")
def build_cnn(cfg: EncoderConfig, res: int) -> CNNEncoder:
    return CNNEncoder(res, cfg.channels, cfg.depth, cfg.kernel, cfg.downsample)


@ENCODERS.register("vit")
def build_vit(cfg: EncoderConfig, res: int) -> ViTEncoder:
    return ViTEncoder(res, cfg.patch, cfg.width, cfg.depth, cfg.heads)
