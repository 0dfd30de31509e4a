"""Segmentation metrics of slot masks: FG-ARI, mean best overlap (mBO) and matched mIoU.

Predicted masks are (N, K, H, W) soft masks (each pixel goes to its argmax slot) or (N, H, W)
hard slot ids. Ground truth is (N, H, W) instance labels; labels in ``ignore_labels`` are not
objects (genperc's data use 255 for "no slot"; pass the background slot's label too when the
scene has a background slot and only objects should be scored).

* **FG-ARI** compares the partition of *foreground* pixels only: pixels whose ground-truth label
  is ignored are removed before the adjusted Rand index is computed, so predictions on the
  background cannot raise or lower it. ARI is computed per image and averaged over images.
  An image with a single foreground object has a degenerate ARI (the standard pair-counting
  convention, as in sklearn): 1 if all its pixels share one slot, 0 as soon as they are split —
  it is included by default and counted in ``n_single_object``; ``min_objects=2`` leaves such
  images out. Images without foreground pixels have no ARI and are always left out.
* **mBO / mIoU** score each ground-truth object by its IoU with predicted slot masks. The object
  is ignored-label-free, but slot masks keep their full extent (a slot that covers an object and
  the background is penalised for the background). mBO takes each object's best slot; mIoU
  matches objects to distinct slots by the Hungarian algorithm (objects left without a slot
  score 0). Both are averaged over the objects of an image, then over images.
  IoU = |A ∩ B| / (|A| + |B| − |A ∩ B|): the intersection is counted once in the union.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from genperc.eval.summary import PerImageScores, as_numpy

ArrayLike = np.ndarray | torch.Tensor


def hard_masks(pred_masks: ArrayLike) -> np.ndarray:
    """Slot id per pixel (N, H, W) from soft (N, K, H, W) masks (argmax) or hard (N, H, W) ids."""
    pred = as_numpy(pred_masks)
    if pred.ndim == 4:
        return pred.argmax(axis=1)
    if pred.ndim == 3 and np.issubdtype(pred.dtype, np.integer):
        return pred
    raise ValueError(
        f"predicted masks must be (N, K, H, W) soft or (N, H, W) integer; got {pred.shape} {pred.dtype}"
    )


def _contingency(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label values of a, of b, and the (|a|, |b|) table of pixel counts per label pair."""
    a_vals, a_idx = np.unique(a, return_inverse=True)
    b_vals, b_idx = np.unique(b, return_inverse=True)
    counts = np.bincount(a_idx * b_vals.size + b_idx, minlength=a_vals.size * b_vals.size)
    return a_vals, b_vals, counts.reshape(a_vals.size, b_vals.size).astype(np.float64)


def adjusted_rand_index(labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Adjusted Rand index of two labelings of the same items, by pair counting.

    Identical partitions (including the one-cluster and the empty case) give 1.
    """
    labels_true, labels_pred = np.ravel(labels_true), np.ravel(labels_pred)
    if labels_true.shape != labels_pred.shape:
        raise ValueError(f"labelings differ in size: {labels_true.size} vs {labels_pred.size}")
    n = labels_true.size
    if n == 0:
        return 1.0
    _, _, table = _contingency(labels_true, labels_pred)
    both = (table * (table - 1) / 2).sum()  # pairs together in both labelings
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    split_pred = (rows * (rows - 1) / 2).sum() - both  # together in truth, apart in prediction
    merged_pred = (cols * (cols - 1) / 2).sum() - both  # apart in truth, together in prediction
    neither = n * (n - 1) / 2 - both - split_pred - merged_pred
    if split_pred == 0 and merged_pred == 0:
        return 1.0
    num = 2.0 * (both * neither - split_pred * merged_pred)
    den = (both + split_pred) * (split_pred + neither) + (both + merged_pred) * (merged_pred + neither)
    return float(num / den)


def _check_pair(pred_masks: ArrayLike, true_masks: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    pred, true = hard_masks(pred_masks), as_numpy(true_masks)
    if true.ndim != 3 or true.shape != pred.shape:
        raise ValueError(
            f"ground-truth masks must be (N, H, W) matching the predictions {pred.shape}; got {true.shape}"
        )
    return pred, true


@dataclass(frozen=True)
class FGARIScores:
    ari: PerImageScores
    n_single_object: int  # scored images with one foreground object (ARI is 0 or 1 there)
    n_excluded: int  # images left out: no foreground pixel, or fewer than ``min_objects`` objects


def fg_ari(
    pred_masks: ArrayLike,
    true_masks: ArrayLike,
    ignore_labels: Sequence[int] = (255,),
    min_objects: int = 1,
) -> FGARIScores:
    """Foreground adjusted Rand index per image (see the module docstring)."""
    pred, true = _check_pair(pred_masks, true_masks)
    values = np.full(pred.shape[0], np.nan)
    n_single = 0
    for i, (p, t) in enumerate(zip(pred, true)):
        fg = ~np.isin(t, ignore_labels)
        n_objects = np.unique(t[fg]).size
        if n_objects == 0 or n_objects < min_objects:
            continue
        n_single += int(n_objects == 1)
        values[i] = adjusted_rand_index(t[fg], p[fg])
    scores = PerImageScores.of(values)
    return FGARIScores(scores, n_single, pred.shape[0] - scores.n)


def iou_matrix(
    true: np.ndarray, pred: np.ndarray, ignore_labels: Sequence[int] = (255,)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every ground-truth object with every predicted segment of one image.

    Returns (object labels, segment ids, IoU (objects, segments)). Segment areas count all
    pixels, ignored ones included.
    """
    t_vals, p_vals, table = _contingency(true.ravel(), pred.ravel())
    union = table.sum(axis=1, keepdims=True) + table.sum(axis=0, keepdims=True) - table
    keep = ~np.isin(t_vals, ignore_labels)
    return t_vals[keep], p_vals, table[keep] / union[keep]


@dataclass(frozen=True)
class OverlapScores:
    mbo: PerImageScores  # mean over objects of the best IoU with any slot
    miou: PerImageScores  # mean over objects of the IoU with its Hungarian-matched slot


def mask_overlap(
    pred_masks: ArrayLike, true_masks: ArrayLike, ignore_labels: Sequence[int] = (255,)
) -> OverlapScores:
    """Mean best overlap and Hungarian-matched mean IoU per image (see the module docstring)."""
    pred, true = _check_pair(pred_masks, true_masks)
    mbo = np.full(pred.shape[0], np.nan)
    miou = np.full(pred.shape[0], np.nan)
    for i, (p, t) in enumerate(zip(pred, true)):
        _, _, iou = iou_matrix(t, p, ignore_labels)
        if iou.shape[0] == 0:
            continue
        mbo[i] = iou.max(axis=1).mean()
        rows, cols = linear_sum_assignment(iou, maximize=True)
        miou[i] = iou[rows, cols].sum() / iou.shape[0]  # unmatched objects count as 0
    return OverlapScores(PerImageScores.of(mbo), PerImageScores.of(miou))
