"""Unstructured decoder: all slots concatenated into one vector and decoded together. Nothing
stops a pixel from depending on every slot, so this is the ablation expected to fail on unseen
slot combinations."""

from __future__ import annotations

from torch import Tensor, nn

from .config import DecoderConfig
from .image_nets import make_image_net
from .outputs import DecoderOutput
from .registries import DECODERS


class UnstructuredDecoder(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net  # (B, K*D) -> (B, 3, H, W)

    def forward(self, z: Tensor) -> DecoderOutput:
        return DecoderOutput(image=self.net(z.flatten(1)), masks=None, weights=None, slot_images=None)


@DECODERS.register("unstructured")
def build_unstructured(cfg: DecoderConfig, res: int, n_slots: int, slot_dim: int) -> UnstructuredDecoder:
    return UnstructuredDecoder(make_image_net(cfg, n_slots * slot_dim, 3, res))
