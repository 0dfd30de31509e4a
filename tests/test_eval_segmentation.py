"""Segmentation metrics: FG-ARI against sklearn, IoU / mBO / mIoU on hand cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from genperc.eval import adjusted_rand_index, fg_ari, iou_matrix, mask_overlap

labelings = st.integers(0, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 3), min_size=n, max_size=n), st.lists(st.integers(0, 4), min_size=n, max_size=n)
    )
)


@settings(max_examples=200, deadline=None)
@given(labelings)
def test_ari_matches_sklearn(pair: tuple[list[int], list[int]]) -> None:
    a, b = np.array(pair[0], dtype=int), np.array(pair[1], dtype=int)
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)


def random_scenes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """GT labels (n, 12, 12) — 255 no slot, 0 background slot, 1..3 objects — and soft masks (n, 4, 12, 12)."""
    rng = np.random.default_rng(seed)
    true = rng.choice([255, 0, 1, 2, 3], size=(n, 12, 12), p=[0.2, 0.3, 0.2, 0.2, 0.1])
    soft = rng.random((n, 4, 12, 12))
    soft[:, 1] += 0.6 * (true == 1)  # correlated with the truth, so ARI is not ~0
    return true, soft


def test_fg_ari_matches_sklearn_on_foreground_pixels_image_by_image() -> None:
    true, soft = random_scenes(6, seed=0)
    result = fg_ari(soft, true, ignore_labels=(255, 0))
    hard = soft.argmax(axis=1)
    for i in range(6):
        fg = (true[i] != 255) & (true[i] != 0)
        assert result.ari.values[i] == pytest.approx(adjusted_rand_score(true[i][fg], hard[i][fg]))
    assert result.ari.mean == pytest.approx(result.ari.values.mean())
    assert result.ari.n == 6 and result.n_excluded == 0 and result.n_single_object == 0
    # Soft masks as a torch tensor and their argmax as hard ids give the same numbers.
    assert np.allclose(fg_ari(torch.from_numpy(soft), true, (255, 0)).ari.values, result.ari.values)
    assert np.allclose(fg_ari(hard, true, (255, 0)).ari.values, result.ari.values)


def test_predictions_on_ignored_pixels_do_not_change_fg_ari() -> None:
    true, soft = random_scenes(4, seed=1)
    hard = soft.argmax(axis=1)
    other = np.where(np.isin(true, (255, 0)), (hard + 1) % 4, hard)
    assert np.array_equal(fg_ari(hard, true, (255, 0)).ari.values, fg_ari(other, true, (255, 0)).ari.values)
    # Counting the background slot as an object does change it: the exclusion is real.
    assert not np.allclose(fg_ari(hard, true, (255,)).ari.values, fg_ari(other, true, (255,)).ari.values)


def test_single_object_and_empty_images() -> None:
    true = np.full((3, 2, 4), 255)
    true[0, :, :2] = 1  # one object, kept in one slot
    true[1, :, :2] = 1  # one object, split across two slots
    # image 2: no foreground at all
    pred = np.zeros((3, 2, 4), dtype=int)
    pred[1, 0, :2] = 1
    result = fg_ari(pred, true)
    assert result.ari.values[0] == 1.0 and result.ari.values[1] == 0.0 and np.isnan(result.ari.values[2])
    assert (result.ari.n, result.n_single_object, result.n_excluded) == (2, 2, 1)
    strict = fg_ari(pred, true, min_objects=2)
    assert (strict.ari.n, strict.n_excluded) == (0, 3) and np.isnan(strict.ari.mean)


def test_iou_counts_the_intersection_once() -> None:
    # Object: 4 pixels, slot 1: 4 pixels, overlapping in 2 → IoU = 2 / (4 + 4 − 2) = 1/3.
    # Counting the intersection twice in the union would give 2 / 8.
    true = np.array([[1, 1, 1, 1, 255, 255]])
    pred = np.array([[0, 0, 1, 1, 1, 1]])
    objects, segments, iou = iou_matrix(true, pred)
    assert objects.tolist() == [1] and segments.tolist() == [0, 1]
    assert iou[0].tolist() == pytest.approx([2 / 4, 1 / 3])
    result = mask_overlap(pred[None], true[None])
    assert result.mbo.values[0] == pytest.approx(0.5) and result.miou.values[0] == pytest.approx(0.5)


def test_slot_covering_ignored_pixels_is_penalised() -> None:
    # A slot that covers the object and the ignored rest of the image has IoU = |object| / |image|.
    true = np.array([[[1, 1, 255, 255]]])
    pred = np.zeros((1, 1, 4), dtype=int)
    assert mask_overlap(pred, true).mbo.values[0] == pytest.approx(0.5)


def test_mbo_takes_the_best_slot_and_miou_matches_one_to_one() -> None:
    # Objects 1 (3 px) and 2 (5 px) both overlap slot 0 (7 px) best; slot 1 (1 px) touches object 2.
    true = np.array([[[1, 1, 1, 2, 2, 2, 2, 2]]])
    pred = np.array([[[0, 0, 0, 0, 0, 0, 0, 1]]])
    _, _, iou = iou_matrix(true[0], pred[0])
    assert np.allclose(iou, [[3 / 7, 0.0], [4 / 8, 1 / 5]])
    result = mask_overlap(pred, true)
    assert result.mbo.values[0] == pytest.approx((3 / 7 + 4 / 8) / 2)
    # One-to-one: {1: slot 0, 2: slot 1} = 3/7 + 1/5 beats {2: slot 0} = 4/8.
    assert result.miou.values[0] == pytest.approx((3 / 7 + 1 / 5) / 2)
    # With one slot only, mBO still gives both objects slot 0; mIoU leaves object 1 unmatched.
    result = mask_overlap(np.zeros_like(pred), true)
    assert result.mbo.values[0] == pytest.approx((3 / 8 + 5 / 8) / 2)
    assert result.miou.values[0] == pytest.approx((0.0 + 5 / 8) / 2)


def test_perfect_segmentation_scores_one_up_to_slot_permutation() -> None:
    true = np.array([[[255, 1, 1], [2, 2, 3]]])
    soft = np.zeros((1, 4, 2, 3))
    for label, slot in [(1, 2), (2, 0), (3, 3), (255, 1)]:
        soft[0, slot][true[0] == label] = 1.0
    assert fg_ari(soft, true).ari.mean == 1.0
    result = mask_overlap(soft, true)
    assert result.mbo.mean == 1.0 and result.miou.mean == 1.0


def test_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        fg_ari(np.zeros((2, 3, 4, 4)), np.zeros((2, 4, 5), dtype=int))
    with pytest.raises(ValueError):
        fg_ari(np.zeros((2, 4, 4)), np.zeros((2, 4, 4), dtype=int))  # float hard masks are ambiguous
