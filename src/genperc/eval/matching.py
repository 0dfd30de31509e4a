"""Hungarian matching of slot sets, shared by the metrics and by replay training.

Two uses:

* ``match_slots`` / ``matched_mse``: per image, pair predicted slots with target slots so that the
  summed squared L2 distance is minimal — the permutation-invariant loss of replay training and of
  the compositional consistency loss.
* ``assign``: one assignment for a whole data set from a score matrix (rows ↔ columns, e.g.
  ground-truth slots ↔ inferred slots), used by the readout and identifiability metrics.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Literal

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

MatchMethod = Literal["auto", "hungarian", "brute"]

# K! permutations: 24 at K = 4, where one batched gather on the tensors' device beats B scipy calls
# (and a GPU → CPU copy); the count grows factorially, so the per-image Hungarian takes over above.
BRUTE_FORCE_MAX_K = 4


def pairwise_sq_dist(pred: Tensor, target: Tensor) -> Tensor:
    """Cost (B, K, K) with ``cost[b, i, j] = ||pred[b, i] − target[b, j]||²``."""
    diff = pred.unsqueeze(2) - target.unsqueeze(1)
    return diff.pow(2).sum(-1)


@lru_cache(maxsize=8)
def _permutations(k: int) -> Tensor:
    return torch.tensor(list(itertools.permutations(range(k))), dtype=torch.long)


def _brute_force(cost: Tensor) -> Tensor:
    k = cost.shape[-1]
    perms = _permutations(k).to(cost.device)  # (P, K): perms[p, j] = pred slot for target slot j
    totals = cost[:, perms, torch.arange(k, device=cost.device)].sum(-1)  # (B, P)
    return perms[totals.argmin(-1)]


def _hungarian(cost: Tensor) -> Tensor:
    cost_np = cost.detach().cpu().double().numpy()
    perm = np.empty(cost_np.shape[:2], dtype=np.int64)
    for b, c in enumerate(cost_np):
        rows, cols = linear_sum_assignment(c)
        perm[b, cols] = rows
    return torch.from_numpy(perm).to(cost.device)


def match_slots(pred: Tensor, target: Tensor, method: MatchMethod = "auto") -> Tensor:
    """Optimal per-image slot permutation (B, K), long, on ``pred``'s device.

    ``perm[b, j]`` is the predicted slot matched to target slot ``j``, so
    ``pred.gather(1, perm[..., None].expand_as(pred))`` is aligned with ``target``. The matching
    minimises the summed squared L2 distance and carries no gradient. ``"auto"`` enumerates all
    permutations when K ≤ 4 (exact, one batched op) and runs scipy's Hungarian per image above.
    """
    if pred.shape != target.shape or pred.dim() != 3:
        raise ValueError(
            f"pred and target must both be (B, K, D); got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    if method not in ("auto", "hungarian", "brute"):
        raise ValueError(f"unknown matching method {method!r}; use 'auto', 'hungarian' or 'brute'")
    if method == "auto":
        method = "brute" if pred.shape[1] <= BRUTE_FORCE_MAX_K else "hungarian"
    with torch.no_grad():
        cost = pairwise_sq_dist(pred.detach(), target.detach())
        return _brute_force(cost) if method == "brute" else _hungarian(cost)


def permute_slots(x: Tensor, perm: Tensor) -> Tensor:
    """``x[b, perm[b, j]]`` for every (b, j): reorder the slots of (B, K, …) by a (B, K) permutation."""
    index = perm.reshape(*perm.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def matched_mse(pred: Tensor, target: Tensor, method: MatchMethod = "auto") -> Tensor:
    """Mean squared error after per-image Hungarian matching; a scalar differentiable w.r.t. ``pred``.

    The permutation is a constant of the loss (chosen without gradient), as in replay training:
    the gradient flows through the matched predicted slots only.
    """
    perm = match_slots(pred, target, method)
    return (permute_slots(pred, perm) - target).pow(2).mean()


def assign(score: np.ndarray) -> np.ndarray:
    """Rows → distinct columns maximising the summed score; ``out[r]`` is the column of row ``r``.

    ``score`` is (R, C) with R ≤ C (e.g. ground-truth slots × inferred slots: every ground-truth
    slot gets its own inferred slot, spare inferred slots stay unassigned).
    """
    score = np.asarray(score, dtype=np.float64)
    if score.ndim != 2 or score.shape[0] > score.shape[1]:
        raise ValueError(f"score must be (R, C) with R <= C; got shape {score.shape}")
    if not np.all(np.isfinite(score)):
        raise ValueError("score matrix has non-finite entries")
    rows, cols = linear_sum_assignment(score, maximize=True)
    out = np.empty(score.shape[0], dtype=np.int64)
    out[rows] = cols
    return out
