"""Vector -> image networks, shared by the additive (one vector per slot) and the unstructured
(all slots concatenated) decoders. Both map (M, in_dim) to (M, out_channels, res, res)."""

from __future__ import annotations

from torch import Tensor, nn

from .config import DecoderConfig
from .layers import SoftPositionEmbed, mlp


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


def make_image_net(cfg: DecoderConfig, in_dim: int, out_channels: int, res: int) -> nn.Module:
    if cfg.arch == "mlp":
        return MLPImageNet(in_dim, out_channels, res, cfg.hidden, cfg.depth)
    return BroadcastImageNet(in_dim, out_channels, res, cfg.channels, cfg.kernel, cfg.depth, cfg.broadcast_res)
