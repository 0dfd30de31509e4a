"""Slot-wise concept readout: the paper's ID / OOD accuracy metric.

Protocol (everything is decided on ID training latents; OOD latents are only ever scored):

1. Split the ID training set into a fit part and a validation part (``val_fraction``, seeded).
2. For every concept c and inferred slot k, fit a classifier z_k → concept c on the fit part and
   record its validation accuracy A[c, k].
3. Each concept belongs to a ground-truth slot (``concept_slots``). Score ground-truth slot g
   against inferred slot k by the mean of A[c, k] over the concepts of g, and assign ground-truth
   slots to distinct inferred slots by the Hungarian algorithm. Concepts of the same ground-truth
   slot (object category and object texture) thus share one inferred slot, and concepts of
   different ground-truth slots never do.
4. Refit each concept's classifier on all ID training latents of its assigned slot.

The assignment is one for the whole data set, which assumes the model orders its slots the same
way in every image — true for genperc's models, whose slots start from learned per-slot initial
values rather than random samples. A model with image-dependent slot order must be aligned per
image first (e.g. with ``matching.match_slots`` against a reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from genperc.eval.matching import assign
from genperc.eval.probes import accuracy, fit_classifier, holdout_split

ReadoutModel = Literal["logreg", "mlp"]


@dataclass(frozen=True)
class ReadoutScores:
    """Accuracy of concept predictions on one data set."""

    accuracy: dict[str, float]  # concept → fraction of images whose concept is predicted right
    joint: float  # fraction of images with every concept right
    n: int  # number of images

    @property
    def mean(self) -> float:
        """Mean accuracy over concepts."""
        return float(np.mean(list(self.accuracy.values())))


def _check_labels(y: np.ndarray, n: int, n_concepts: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n, n_concepts):
        raise ValueError(f"labels must be (N, C) = ({n}, {n_concepts}); got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices; got dtype {y.dtype}")
    return y


def score_predictions(pred: np.ndarray, y: np.ndarray, concepts: Sequence[str]) -> ReadoutScores:
    """Score predicted concept labels (N, C) against true labels (N, C).

    For methods that predict labels themselves (a supervised network's heads), so their numbers
    are computed exactly like those of a fitted readout.
    """
    pred = np.asarray(pred)
    y = _check_labels(y, pred.shape[0], len(concepts))
    if pred.shape != y.shape:
        raise ValueError(f"predictions {pred.shape} and labels {y.shape} differ in shape")
    per_concept = accuracy(y, pred)
    return ReadoutScores(
        accuracy={c: float(a) for c, a in zip(concepts, per_concept)},
        joint=float((pred == y).all(axis=1).mean()),
        n=int(y.shape[0]),
    )


@dataclass(frozen=True)
class SlotReadout:
    """Per-concept classifiers on assigned inferred slots, fitted on ID latents."""

    concepts: tuple[str, ...]
    concept_slots: tuple[int, ...]  # ground-truth slot of each concept
    slot_assignment: dict[int, int]  # ground-truth slot → inferred slot
    validation_accuracy: np.ndarray  # (C, K): ID held-out accuracy of concept c read from slot k
    model: ReadoutModel
    n_slots: int
    dim: int
    classifiers: tuple[BaseEstimator, ...]  # one per concept, on its assigned slot

    @property
    def assignment(self) -> dict[str, int]:
        """Concept → inferred slot it is read from."""
        return {c: self.slot_assignment[g] for c, g in zip(self.concepts, self.concept_slots)}

    def predict(self, z: np.ndarray) -> np.ndarray:
        """Predicted concept labels (N, C) for latents (N, K, D)."""
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 3 or z.shape[1:] != (self.n_slots, self.dim):
            raise ValueError(f"latents must be (N, {self.n_slots}, {self.dim}); got {z.shape}")
        slots = self.assignment
        return np.stack(
            [clf.predict(z[:, slots[c]]) for c, clf in zip(self.concepts, self.classifiers)], axis=1
        ).astype(np.int64)

    def score(self, z: np.ndarray, y: np.ndarray) -> ReadoutScores:
        """Per-concept and joint accuracy on latents (N, K, D) with labels (N, C)."""
        return score_predictions(self.predict(z), y, self.concepts)


def fit_readout(
    z_train: np.ndarray,
    y_train: np.ndarray,
    concepts: Sequence[str],
    concept_slots: Sequence[int],
    model: ReadoutModel = "logreg",
    seed: int = 0,
    val_fraction: float = 0.25,
) -> SlotReadout:
    """Fit the slot-wise readout on ID latents ``z_train`` (N, K, D) with labels ``y_train`` (N, C).

    ``concept_slots[c]`` is the ground-truth slot of concept c (any integer id; concepts with the
    same id share an inferred slot). ``model`` is ``"logreg"`` (standardised logistic regression)
    or ``"mlp"``. See the module docstring for the protocol.
    """
    if model not in ("logreg", "mlp"):
        raise ValueError(f"unknown readout model {model!r}; use 'logreg' or 'mlp'")
    probe = "linear" if model == "logreg" else "mlp"
    z = np.asarray(z_train, dtype=np.float64)
    if z.ndim != 3:
        raise ValueError(f"latents must be (N, K, D); got shape {z.shape}")
    n, k, d = z.shape
    y = _check_labels(y_train, n, len(concepts))
    if len(concept_slots) != len(concepts):
        raise ValueError(f"{len(concepts)} concepts but {len(concept_slots)} concept slots")
    gt_slots = sorted(set(concept_slots))
    if len(gt_slots) > k:
        raise ValueError(
            f"concepts live in {len(gt_slots)} ground-truth slots but the model has only {k} slots"
        )

    fit_idx, val_idx = holdout_split(n, val_fraction, seed)
    val_acc = np.empty((len(concepts), k))
    for c in range(len(concepts)):
        for s in range(k):
            clf = fit_classifier(z[fit_idx, s], y[fit_idx, c], probe, seed)
            val_acc[c, s] = accuracy(y[val_idx, c], clf.predict(z[val_idx, s]))

    slot_of = np.asarray(concept_slots)
    slot_score = np.stack([val_acc[slot_of == g].mean(axis=0) for g in gt_slots])
    chosen = assign(slot_score)
    slot_assignment = {int(g): int(s) for g, s in zip(gt_slots, chosen)}

    classifiers = tuple(
        fit_classifier(z[:, slot_assignment[g]], y[:, c], probe, seed) for c, g in enumerate(concept_slots)
    )
    return SlotReadout(
        concepts=tuple(concepts),
        concept_slots=tuple(int(g) for g in concept_slots),
        slot_assignment=slot_assignment,
        validation_accuracy=val_acc,
        model=model,
        n_slots=k,
        dim=d,
        classifiers=classifiers,
    )
