"""Typed outputs of the slot autoencoder. B = batch, K = slots, D = slot dim, N = encoder tokens,
P = decoder queries, H×W = image size."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class SlotPosterior:
    mu: Tensor  # (B, K, D)
    logvar: Tensor  # (B, K, D)
    # (B, K, N) soft assignment of each feature token to the slots; sums to 1 over K.
    attn: Tensor | None


@dataclass
class DecoderOutput:
    # (B, 3, H, W), same scale as the input images ([0, 1]); not clamped, so gradients never vanish.
    image: Tensor
    # (B, K, H, W) per-pixel slot ownership, sums to 1 over K; None for the unstructured decoder.
    masks: Tensor | None
    # (B, K, P) how much each of P queries / pixels draws on each slot, sums to 1 over K; the
    # interaction penalty is computed from it. xattn: cross-attention weights averaged over heads
    # and layers; additive: the masks, flattened. None for the unstructured decoder.
    weights: Tensor | None
    # (B, K, 3, H, W) what each slot paints before compositing; additive decoder only.
    slot_images: Tensor | None


@dataclass
class VAEOutput:
    posterior: SlotPosterior
    z: Tensor  # (B, K, D) the sample (or the mean) that was decoded
    decoded: DecoderOutput


@dataclass
class LossTerms:
    total: Tensor  # recon + beta * kl + alpha * interaction
    recon: Tensor  # sum of squared errors per image, mean over the batch
    kl: Tensor  # KL(q(z|x) || N(0, I)) summed over slots and dims, mean over the batch
    interaction: Tensor  # mean over the batch of interaction_penalty; 0 without weights (unstructured)
