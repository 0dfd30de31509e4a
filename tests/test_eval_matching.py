"""Slot matching: Hungarian and brute force agree with an exhaustive search."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from genperc.eval import assign, match_slots, matched_mse, permute_slots


def exhaustive_best(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference: per image, the permutation with the least summed squared distance."""
    b, k, _ = pred.shape
    perms, costs = [], []
    for i in range(b):
        best = min(
            itertools.permutations(range(k)),
            key=lambda p: sum(((pred[i, p[j]] - target[i, j]) ** 2).sum().item() for j in range(k)),
        )
        perms.append(best)
        costs.append(sum(((pred[i, best[j]] - target[i, j]) ** 2).sum().item() for j in range(k)))
    return torch.tensor(perms), torch.tensor(costs)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_both_methods_find_the_exhaustive_optimum(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    pred, target = torch.randn(16, k, 5, generator=g), torch.randn(16, k, 5, generator=g)
    ref, _ = exhaustive_best(pred, target)
    for method in ("hungarian", "brute", "auto"):
        assert torch.equal(match_slots(pred, target, method), ref), method


def test_recovers_a_known_permutation() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.randn(8, 4, 6, generator=g)
    true_perm = torch.stack([torch.randperm(4, generator=g) for _ in range(8)])
    # pred[b, true_perm[b, j]] = target[b, j]
    pred = torch.empty_like(target)
    pred.scatter_(1, true_perm[..., None].expand_as(target), target)
    pred = pred + 0.01 * torch.randn(pred.shape, generator=g)
    perm = match_slots(pred, target)
    assert torch.equal(perm, true_perm)
    assert torch.allclose(permute_slots(pred, perm), target, atol=0.05)


def test_matched_mse_is_the_minimum_over_permutations_and_differentiable() -> None:
    g = torch.Generator().manual_seed(1)
    pred = torch.randn(6, 3, 4, generator=g, requires_grad=True)
    target = torch.randn(6, 3, 4, generator=g)
    loss = matched_mse(pred, target)
    _, costs = exhaustive_best(pred.detach(), target)
    assert loss.item() == pytest.approx(costs.sum().item() / target.numel(), rel=1e-6)

    loss.backward()
    perm = match_slots(pred, target)
    aligned = permute_slots(pred.detach(), perm)
    expected = torch.zeros_like(pred)
    expected.scatter_(1, perm[..., None].expand_as(pred), 2 * (aligned - target) / target.numel())
    assert torch.allclose(pred.grad, expected, atol=1e-7)


def test_match_slots_rejects_mismatched_shapes_and_methods() -> None:
    with pytest.raises(ValueError):
        match_slots(torch.zeros(2, 3, 4), torch.zeros(2, 4, 4))
    with pytest.raises(ValueError):
        match_slots(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4), method="greedy")  # type: ignore[arg-type]


def test_assign_maximises_over_rectangular_scores() -> None:
    score = np.array([[0.9, 0.8, 0.1], [0.85, 0.2, 0.3]])
    # Greedy would give row 0 column 0 and row 1 column 2 (total 1.2); optimal is 0.8 + 0.85.
    assert assign(score).tolist() == [1, 0]
    with pytest.raises(ValueError):
        assign(score.T)
