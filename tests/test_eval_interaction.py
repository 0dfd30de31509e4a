"""Decoder Jacobian norms, Jacobian masks and the interaction score."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genperc.eval import interaction_score, jacobian_masks, jacobian_norms

# Forward-mode AD loads torch's own scripted decompositions on first use, which warns.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

K, D, H, W = 3, 4, 5, 6


def _weights(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# Which slot drives each pixel in the one-slot-per-pixel decoder.
OWNER = torch.arange(H * W).remainder(K).reshape(H, W)
W_ONE, W_MIX, W_SYM = _weights(0, H * W, 3, D), _weights(1, H * W, 3, K, D), _weights(2, H * W, 3, D)


def one_slot_per_pixel(z: torch.Tensor) -> torch.Tensor:
    """x_p = tanh(W_p z_{owner(p)}): every pixel depends on exactly one slot."""
    picked = z[:, OWNER.flatten()]  # (B, P, D)
    return torch.tanh(torch.einsum("pcd,bpd->bcp", W_ONE, picked)).reshape(z.shape[0], 3, H, W)


def mixing(z: torch.Tensor) -> torch.Tensor:
    """x_p = tanh(Σ_k W_{p,k} z_k): every slot acts on every pixel."""
    return torch.tanh(torch.einsum("pckd,bkd->bcp", W_MIX, z)).reshape(z.shape[0], 3, H, W)


def symmetric(z: torch.Tensor) -> torch.Tensor:
    """x_p = W_p Σ_k z_k: all slots drive every pixel equally."""
    return torch.einsum("pcd,bd->bcp", W_SYM, z.sum(dim=1)).reshape(z.shape[0], 3, H, W)


def latents(b: int = 2) -> torch.Tensor:
    return _weights(3, b, K, D)


def autograd_norms(decode, z: torch.Tensor) -> torch.Tensor:  # noqa: ANN001 - any decoder callable
    """Reference J_k(p) from the full reverse-mode Jacobian."""
    full = torch.autograd.functional.jacobian(decode, z)  # (B, 3, H, W, B, K, D)
    per_image = torch.stack([full[b, :, :, :, b] for b in range(z.shape[0])])  # (B, 3, H, W, K, D)
    return per_image.pow(2).sum(dim=(1, 5)).sqrt().permute(0, 3, 1, 2)  # (B, K, H, W)


def test_norms_match_the_autograd_jacobian() -> None:
    z = latents()
    expected = autograd_norms(mixing, z)
    assert torch.allclose(jacobian_norms(mixing, z), expected, atol=1e-12)
    assert torch.allclose(jacobian_norms(mixing, z, chunk_size=1), expected, atol=1e-12)


def test_one_slot_per_pixel_decoder_has_zero_interaction_and_exact_masks() -> None:
    norms = jacobian_norms(one_slot_per_pixel, latents())
    masks = jacobian_masks(norms)
    expected = F.one_hot(OWNER, K).permute(2, 0, 1).to(masks.dtype).expand_as(masks)
    assert torch.equal(masks, expected)
    scores = interaction_score(norms)
    assert np.all(scores.score.values == 0.0) and np.all(scores.contrast.values == 0.0)


def test_mixing_decoders_score_above_zero_and_equal_mixing_scores_one() -> None:
    assert interaction_score(jacobian_norms(mixing, latents())).score.mean > 0.1
    scores = interaction_score(jacobian_norms(symmetric, latents()))
    assert scores.score.values == pytest.approx([1.0, 1.0])
    masks = jacobian_masks(jacobian_norms(symmetric, latents()))
    assert torch.allclose(masks, torch.full_like(masks, 1 / K))


def test_score_is_comparable_across_resolutions_and_output_scale() -> None:
    z = latents()
    base = interaction_score(jacobian_norms(mixing, z))
    def bigger(v: torch.Tensor) -> torch.Tensor:
        return 10.0 * F.interpolate(mixing(v), scale_factor=2)

    upsampled = interaction_score(jacobian_norms(bigger, z))
    assert upsampled.score.values == pytest.approx(base.score.values)
    # The raw contrast is not: it grows with pixels (×4) and output scale (×10²).
    assert upsampled.contrast.values == pytest.approx(400 * base.contrast.values)


def test_pixels_no_slot_affects_get_uniform_masks() -> None:
    def constant(z: torch.Tensor) -> torch.Tensor:
        return torch.zeros(z.shape[0], 3, H, W, dtype=z.dtype) + 0.0 * z.sum()

    norms = jacobian_norms(constant, latents())
    assert torch.equal(jacobian_masks(norms), torch.full_like(norms, 1 / K))
    assert np.all(np.isnan(interaction_score(norms).score.values))
    assert interaction_score(norms).score.n == 0


def test_cross_attention_decoder_is_supported() -> None:
    # Pixel queries attend to the slots, as in the project's Transformer decoder; the fused
    # attention kernels have no forward-mode derivative, the math path does.
    queries = _weights(4, 1, H * W, D).float()
    head = torch.nn.Linear(D, 3).float()

    def decode(z: torch.Tensor) -> torch.Tensor:
        out = F.scaled_dot_product_attention(queries.expand(z.shape[0], -1, -1), z, z)
        return head(out).transpose(1, 2).reshape(z.shape[0], 3, H, W)

    z = latents().float()
    assert torch.allclose(jacobian_norms(decode, z), autograd_norms(decode, z), atol=1e-5)


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        jacobian_norms(mixing, latents()[0])
    with pytest.raises(ValueError):
        jacobian_norms(lambda z: z.sum(dim=1), latents())
    with pytest.raises(ValueError):
        interaction_score(torch.ones(2, 1, H, W))
