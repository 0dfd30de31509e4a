"""Decoder Jacobians per slot: Jacobian slot masks and the decoder interaction score.

For a decoder x = f(z), z = (z_1, …, z_K), the slot-k Jacobian norm at pixel p is
J_k(p) = ||∂x_p / ∂z_k||_F, with x_p the C channel values of pixel p (a C × D matrix).

* Jacobian masks m_k(p) = J_k(p) / Σ_j J_j(p): which slot drives each pixel. A pixel that no slot
  affects (all J_k(p) = 0) gets the uniform mask 1/K.
* Compositional contrast (ICML'23) per image: Σ_p Σ_{i<j} J_i(p) J_j(p). It is 0 iff every pixel
  depends on at most one slot, but it scales with the number of pixels and the decoder's gain.
* Interaction score per image: the contrast divided by its largest value for the same Jacobian
  mass, (K − 1) / (2K) · Σ_p (Σ_k J_k(p))², so it lies in [0, 1]: 0 when each pixel is driven by
  one slot, 1 when every pixel is driven equally by all slots. It is unchanged by rescaling the
  output or upsampling the image, so it compares across resolutions, decoders and K.

Jacobians use forward mode (``torch.func.jvp`` vmapped over the D directions of a slot, one slot
at a time): K·D Jacobian-vector products cost about as much as K·D decoder passes and need no
loop over pixels. The decoder must be a pure function of its input (``model.eval()``: no dropout,
no batch statistics) that treats images independently. Scaled-dot-product attention runs on its
math backend here, because the fused kernels have no forward-mode derivative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor
from torch.nn.attention import SDPBackend, sdpa_kernel

from genperc.eval.summary import PerImageScores, as_numpy

Decoder = Callable[[Tensor], Tensor]


def jacobian_norms(decode: Decoder, z: Tensor, chunk_size: Optional[int] = None) -> Tensor:
    """J_k(p) = ||∂x_p / ∂z_k||_F as (B, K, H, W) for latents z (B, K, D), without gradient.

    ``decode`` maps (B, K, D) to images (B, C, H, W). ``chunk_size`` bounds how many of a slot's
    D directions are pushed through the decoder at once (memory: chunk · B · C · H · W values).
    """
    if z.dim() != 3:
        raise ValueError(f"latents must be (B, K, D); got {tuple(z.shape)}")
    b, k, d = z.shape
    z = z.detach()

    def push(tangent: Tensor) -> Tensor:
        return torch.func.jvp(decode, (z,), (tangent,))[1]

    norms = []
    with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]):
        for slot in range(k):
            # Tangent i moves coordinate i of this slot in every image at once; images are
            # independent, so each image's output derivative is its own Jacobian column.
            tangents = torch.zeros(d, b, k, d, dtype=z.dtype, device=z.device)
            tangents[:, :, slot, :] = torch.eye(d, dtype=z.dtype, device=z.device)[:, None, :]
            columns = torch.func.vmap(push, chunk_size=chunk_size)(tangents)
            if columns.dim() != 5 or columns.shape[1] != b:
                raise ValueError(f"decoder must return (B, C, H, W) images; got {tuple(columns.shape[1:])}")
            norms.append(columns.pow(2).sum(dim=(0, 2)).sqrt())  # over directions and channels
    return torch.stack(norms, dim=1)


def jacobian_masks(norms: Tensor) -> Tensor:
    """Slot masks m_k(p) = J_k(p) / Σ_j J_j(p) (B, K, H, W); uniform where no slot acts."""
    total = norms.sum(dim=1, keepdim=True)
    uniform = torch.full_like(norms, 1.0 / norms.shape[1])
    return torch.where(total > 0, norms / total.clamp_min(torch.finfo(norms.dtype).tiny), uniform)


@dataclass(frozen=True)
class InteractionScores:
    score: PerImageScores  # normalised interaction in [0, 1]; nan for an image no slot affects
    contrast: PerImageScores  # raw compositional contrast Σ_p Σ_{i<j} J_i(p) J_j(p)


def interaction_score(norms: Tensor) -> InteractionScores:
    """Compositional contrast and normalised interaction score from Jacobian norms (B, K, H, W)."""
    if norms.dim() != 4 or norms.shape[1] < 2:
        raise ValueError(f"Jacobian norms must be (B, K, H, W) with K >= 2; got {tuple(norms.shape)}")
    k = norms.shape[1]
    j = norms.detach().double().flatten(2)  # (B, K, P)
    total = j.sum(dim=1)
    # Σ_{i<j} J_i J_j = ((Σ_k J_k)² − Σ_k J_k²) / 2, without forming K² products.
    contrast = ((total.pow(2) - j.pow(2).sum(dim=1)) / 2).sum(dim=1)
    bound = (k - 1) / (2 * k) * total.pow(2).sum(dim=1)
    score = torch.where(bound > 0, contrast / bound.clamp_min(torch.finfo(torch.float64).tiny), torch.nan)
    return InteractionScores(PerImageScores.of(as_numpy(score)), PerImageScores.of(as_numpy(contrast)))
