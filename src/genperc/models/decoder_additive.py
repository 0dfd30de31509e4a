"""Additive (alpha-compositing) decoder, ICML'23 / ICLR'24: every slot is decoded on its own by
one shared network to RGB + an alpha logit; a softmax over slots turns the logits into masks and
the image is the mask-weighted sum of the slot images. Each pixel is then a function of the
slots only through this softmax, the decoder's structural constraint."""

from __future__ import annotations

from torch import Tensor, nn

from .config import DecoderConfig
from .image_nets import make_image_net
from .outputs import DecoderOutput
from .registries import DECODERS


class AdditiveDecoder(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net  # (M, D) -> (M, 4, H, W)

    def forward(self, z: Tensor) -> DecoderOutput:
        B, K, D = z.shape
        out = self.net(z.reshape(B * K, D))  # all slots of the batch at once: (B*K, 4, H, W)
        out = out.view(B, K, *out.shape[1:])
        rgb, logits = out[:, :, :3], out[:, :, 3]  # (B, K, 3, H, W), (B, K, H, W)
        masks = logits.softmax(dim=1)
        image = (masks.unsqueeze(2) * rgb).sum(dim=1)  # (B, 3, H, W)
        # a pixel shared by several slots is where they interact: the same penalty as xattn's applies
        return DecoderOutput(image=image, masks=masks, weights=masks.flatten(2), slot_images=rgb)


@DECODERS.register("additive")
def build_additive(cfg: DecoderConfig, res: int, n_slots: int, slot_dim: int) -> AdditiveDecoder:
    return AdditiveDecoder(make_image_net(cfg, slot_dim, 4, res))
