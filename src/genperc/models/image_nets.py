"""Vector -> image networks, shared by the additive (one vector per slot) and the unstructured
(all slots concatenated) decoders. Both map (M, in_dim) to (M, out_channels, res, res)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .config import DecoderConfig
from .layers import FourierFeatures, SoftPositionEmbed, mlp, unit_grid


class MLPImageNet(nn.Module):
    """An MLP straight to every pixel: a few dense layers, no convolutions, so it is the fastest
    option on CPU and for search (gradient through the decoder at every step)."""

    def __init__(self, in_dim: int, out_channels: int, res: int, hidden: int, depth: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, out_channels * res * res, hidden_layers=depth)
        self.shape = (out_channels, res, res)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, *self.shape)


class BroadcastImageNet(nn.Module):
    """Spatial broadcast decoder (Watters et al. 2019; Slot Attention): the vector is tiled on a
    grid, a soft position embedding is added, stride-2 transposed convs upsample to ``res`` (none
    when the grid is full size), ``depth`` convs follow, and a 3×3 conv maps to the outputs."""

    def __init__(self, in_dim: int, out_channels: int, res: int, channels: int, kernel: int, depth: int,
                 broadcast_res: int) -> None:
        super().__init__()
        self.grid = broadcast_res or res
        self.pos = SoftPositionEmbed(in_dim, self.grid, self.grid)
        n_up = (res // self.grid).bit_length() - 1
        layers: list[nn.Module] = []
        dim = in_dim
        for _ in range(n_up):
            layers += [nn.ConvTranspose2d(dim, channels, kernel, stride=2, padding=kernel // 2, output_padding=1),
                       nn.ReLU()]
            dim = channels
        for _ in range(depth):
            layers += [nn.Conv2d(dim, channels, kernel, padding=kernel // 2), nn.ReLU()]
            dim = channels
        layers.append(nn.Conv2d(dim, out_channels, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        M, D = z.shape
        x = self.pos(z.view(M, 1, 1, D).expand(M, self.grid, self.grid, D))  # (M, g, g, D)
        return self.net(x.permute(0, 3, 1, 2))  # (M, out, res, res)


class ImplicitImageNet(nn.Module):
    """A coordinate MLP: each pixel (or patch) is decoded from the vector and Fourier features of
    its position, i.e. a spatial broadcast decoder whose convolutions are 1×1. Position is an
    input, so objects need not be relearned at every place as with a plain MLP, and the cost is a
    few dense matmuls. The first layer is split: the vector's part is computed once per vector,
    the position's part once per position, and they are added.

    ``relative``: the vector also sets a frame (a centre and a log-scale per axis, by a linear
    map initialised to the identity frame) and positions are taken relative to it, so a slot draws
    its content in its own coordinates wherever the frame is: what is learnt about a shape at one
    place holds at every place and size. The frame is a function of the slot alone, so the
    decoder keeps its structure (each slot rendered on its own, then composited)."""

    def __init__(self, in_dim: int, out_channels: int, res: int, hidden: int, depth: int, bands: int,
                 patch: int, relative: bool = False) -> None:
        super().__init__()
        g = res // patch
        self.register_buffer("coords", (unit_grid(g, g) * 2 - 1).view(g * g, 2), persistent=False)  # (P, 2)
        self.fourier = FourierFeatures(bands)
        self.z_proj = nn.Linear(in_dim, hidden)
        self.p_proj = nn.Linear(self.fourier.out_dim, hidden, bias=False)
        self.frame = None
        if relative:
            self.frame = nn.Linear(in_dim, 4)  # (centre y, x, log-scale y, x)
            nn.init.zeros_(self.frame.weight)
            nn.init.zeros_(self.frame.bias)
        self.net = mlp(hidden, hidden, out_channels * patch * patch, hidden_layers=max(depth - 1, 0))
        self.shape = (out_channels, res, res)
        self.g, self.patch = g, patch

    def forward(self, z: Tensor) -> Tensor:
        M = z.shape[0]
        if self.frame is None:
            pos = self.p_proj(self.fourier(self.coords))[None]  # (1, P, hidden)
        else:
            f = self.frame(z)  # (M, 4)
            local = (self.coords[None] - f[:, None, :2]) * torch.exp(-f[:, None, 2:])  # (M, P, 2)
            pos = self.p_proj(self.fourier(local))  # (M, P, hidden)
        h = torch.relu(self.z_proj(z)[:, None, :] + pos)  # (M, P, hidden)
        out = self.net(h)  # (M, P, C * p * p)
        C, p, g = self.shape[0], self.patch, self.g
        out = out.view(M, g, g, C, p, p).permute(0, 3, 1, 4, 2, 5)  # (M, C, g, p, g, p)
        return out.reshape(M, *self.shape)


def make_image_net(cfg: DecoderConfig, in_dim: int, out_channels: int, res: int) -> nn.Module:
    if cfg.arch == "mlp":
        return MLPImageNet(in_dim, out_channels, res, cfg.hidden, cfg.depth)
    if cfg.arch == "implicit":
        return ImplicitImageNet(in_dim, out_channels, res, cfg.hidden, cfg.depth, cfg.fourier_bands, cfg.patch,
                                cfg.relative)
    return BroadcastImageNet(in_dim, out_channels, res, cfg.channels, cfg.kernel, cfg.depth, cfg.broadcast_res)
