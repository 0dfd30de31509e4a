"""Slot-wise concept readout: accuracy, slot assignment, and ID-only fitting."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from genperc.eval import fit_readout, score_predictions

CONCEPTS = ["object.category", "object.texture", "background.background"]
CONCEPT_SLOTS = [0, 0, 1]  # ground-truth slot of each concept
N_CLASSES = [4, 3, 5]
D = 6


def make_latents(
    n: int, slot_order: tuple[int, int, int], seed: int, noise: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    """Latents (n, 3, D): an object slot coding category + texture, a background slot, a noise slot.

    ``slot_order[k]`` names which of (object, background, noise) inferred slot k holds.
    """
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(123).normal(size=(3, max(N_CLASSES), D // 2))
    y = np.stack([rng.integers(0, c, n) for c in N_CLASSES], axis=1)
    obj = np.concatenate([centres[0, y[:, 0]], centres[1, y[:, 1]]], axis=1)
    bg = np.concatenate([centres[2, y[:, 2]], centres[2, y[:, 2]]], axis=1)
    gt = np.stack([obj, bg, np.zeros_like(obj)], axis=1) + noise * rng.normal(size=(n, 3, D))
    return gt[:, list(slot_order)], y


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_assignment_is_recovered_when_slots_are_permuted(order: tuple[int, int, int]) -> None:
    z, y = make_latents(240, order, seed=0)
    readout = fit_readout(z, y, CONCEPTS, CONCEPT_SLOTS)
    obj_slot, bg_slot = order.index(0), order.index(1)
    assert readout.assignment == {
        "object.category": obj_slot,
        "object.texture": obj_slot,
        "background.background": bg_slot,
    }
    assert readout.slot_assignment == {0: obj_slot, 1: bg_slot}
    z_test, y_test = make_latents(200, order, seed=1)
    assert min(readout.score(z_test, y_test).accuracy.values()) > 0.9


def test_concept_readable_only_from_slot_1_gets_slot_1() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, (200, 1))
    z = rng.normal(size=(200, 3, 4))
    z[:, 1, 0] += 3.0 * y[:, 0]
    readout = fit_readout(z, y, ["object.category"], [0])
    assert readout.assignment == {"object.category": 1}
    assert readout.validation_accuracy.shape == (1, 3)
    assert readout.validation_accuracy[0].argmax() == 1


def test_concepts_of_different_gt_slots_never_share_a_slot() -> None:
    # Slot 0 codes both concepts well; slot 1 codes the background only, weakly. The background
    # must still go to slot 1, because slot 0 belongs to the object.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (300, 2))
    z = rng.normal(size=(300, 2, 2))
    z[:, 0, 0] += 4.0 * y[:, 0]
    z[:, 0, 1] += 4.0 * y[:, 1]
    z[:, 1, 0] += 1.5 * y[:, 1]
    readout = fit_readout(z, y, ["object.category", "background.background"], [0, 1])
    assert readout.validation_accuracy[1, 0] > readout.validation_accuracy[1, 1]
    assert readout.assignment == {"object.category": 0, "background.background": 1}


def test_scores_match_sklearn_accuracy() -> None:
    z, y = make_latents(240, (1, 0, 2), seed=0, noise=1.2)
    readout = fit_readout(z, y, CONCEPTS, CONCEPT_SLOTS)
    z_test, y_test = make_latents(150, (1, 0, 2), seed=2, noise=1.2)
    pred = readout.predict(z_test)
    scores = readout.score(z_test, y_test)
    assert scores.n == 150
    for c, name in enumerate(CONCEPTS):
        assert scores.accuracy[name] == pytest.approx(accuracy_score(y_test[:, c], pred[:, c]))
    rows = lambda a: ["-".join(map(str, r)) for r in a]  # noqa: E731 - one label per image
    assert scores.joint == pytest.approx(accuracy_score(rows(y_test), rows(pred)))
    assert 0.0 < scores.joint < min(scores.accuracy.values()) < 1.0  # the noisy case is not trivial
    assert scores.mean == pytest.approx(np.mean([scores.accuracy[c] for c in CONCEPTS]))


def test_score_predictions_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, (100, 2))
    pred = np.where(rng.random((100, 2)) < 0.7, y, rng.integers(0, 3, (100, 2)))
    scores = score_predictions(pred, y, ["a", "b"])
    expected = {"a": accuracy_score(y[:, 0], pred[:, 0]), "b": accuracy_score(y[:, 1], pred[:, 1])}
    assert scores.accuracy == pytest.approx(expected)
    assert scores.joint == pytest.approx(np.mean((pred == y).all(axis=1)))
    with pytest.raises(ValueError):
        score_predictions(pred, y[:, :1], ["a"])


def test_ood_data_never_influence_the_fit() -> None:
    z, y = make_latents(200, (2, 1, 0), seed=0)
    z_ood, y_ood = make_latents(100, (2, 1, 0), seed=5, noise=3.0)
    z_ood = 10.0 * z_ood + 5.0  # far from ID: batch statistics would shift every prediction
    first = fit_readout(z, y, CONCEPTS, CONCEPT_SLOTS, seed=4)
    before = first.predict(z)
    first.score(z_ood, y_ood)
    assert np.array_equal(first.predict(z), before)
    # Predictions are per image: one OOD image alone is predicted as within its batch.
    assert np.array_equal(first.predict(z_ood[:1]), first.predict(z_ood)[:1])
    # The fit is a function of the ID data and the seed only.
    second = fit_readout(z.copy(), y.copy(), CONCEPTS, CONCEPT_SLOTS, seed=4)
    assert second.assignment == first.assignment
    assert np.array_equal(second.validation_accuracy, first.validation_accuracy)
    assert np.array_equal(second.predict(z_ood), first.predict(z_ood))


def test_mlp_readout_recovers_the_assignment() -> None:
    z, y = make_latents(200, (1, 2, 0), seed=0)
    readout = fit_readout(z, y[:, 2:], CONCEPTS[2:], [1], model="mlp")
    assert readout.assignment == {"background.background": 0}


def test_rejects_more_gt_slots_than_model_slots_and_bad_labels() -> None:
    z, y = make_latents(60, (0, 1, 2), seed=0)
    with pytest.raises(ValueError, match="ground-truth slots"):
        fit_readout(z[:, :1], y, CONCEPTS, CONCEPT_SLOTS)
    with pytest.raises(ValueError, match="integer"):
        fit_readout(z, y.astype(float), CONCEPTS, CONCEPT_SLOTS)
    with pytest.raises(ValueError, match="model"):
        fit_readout(z, y, CONCEPTS, CONCEPT_SLOTS, model="svm")  # type: ignore[arg-type]
