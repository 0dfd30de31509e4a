"""FLOPs of one training step, for model-FLOP utilisation.

Counted with ``torch.utils.flop_counter.FlopCounterMode``: matmuls, convolutions and attention
(2 FLOPs per multiply-add); element-wise ops, norms and softmax are not counted, as usual for MFU.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from .autoencoder import SlotVAE


def count_flops(model: SlotVAE, images: Tensor, backward: bool = True, beta: float = 1.0, alpha: float = 1.0) -> int:
    """FLOPs of forward + loss (+ backward w.r.t. the trainable parameters) on ``images``.

    Divide by ``images.shape[0]`` for FLOPs per image. Parameter ``.grad`` fields are left untouched.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    with FlopCounterMode(display=False) as counter:
        out = model(images)
        loss = model.loss(images, out, beta=beta, alpha=alpha).total
        if backward and params:
            torch.autograd.grad(loss, params, allow_unused=True)
    return int(counter.get_total_flops())
