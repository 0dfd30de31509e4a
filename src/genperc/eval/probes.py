"""Readout models ("probes") shared by the readout and identifiability metrics.

Every probe standardises its inputs with statistics of its own training data only, so applying a
fitted probe to out-of-distribution latents never re-estimates anything on them. Scores are
computed here (not with sklearn's metric functions) so the tests can check them against sklearn.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ProbeModel = Literal["linear", "mlp"]

# A small two-layer MLP: enough capacity for a nonlinear-but-smooth slot code. Early stopping on
# 10% of the probe's own (ID) training data bounds its cost and its overfitting.
MLP_HIDDEN = (128, 128)
MLP_MAX_ITER = 300


def _mlp_options(seed: int) -> dict:
    return {
        "hidden_layer_sizes": MLP_HIDDEN,
        "max_iter": MLP_MAX_ITER,
        "early_stopping": True,
        "random_state": seed,
    }


def _check_model(model: str) -> None:
    if model not in ("linear", "mlp"):
        raise ValueError(f"unknown probe model {model!r}; use 'linear' or 'mlp'")


def fit_classifier(x: np.ndarray, y: np.ndarray, model: ProbeModel, seed: int) -> BaseEstimator:
    """Standardise → logistic regression (or MLP) fitted on (x, y).

    With a single class in ``y`` (a tiny training split) the probe predicts that class: a
    classifier cannot be fitted, and the constant is the best it could learn.
    """
    _check_model(model)
    if np.unique(y).size < 2:
        return DummyClassifier(strategy="most_frequent").fit(x, y)
    if model == "linear":
        head = LogisticRegression(C=1.0, max_iter=2000)
    else:
        head = MLPClassifier(**_mlp_options(seed))
    return make_pipeline(StandardScaler(), head).fit(x, y)


def fit_regressor(x: np.ndarray, y: np.ndarray, model: ProbeModel, seed: int) -> BaseEstimator:
    """Standardise → ridge regression (or MLP) fitted on (x, y (N, F)), multi-output."""
    _check_model(model)
    if model == "linear":
        head: BaseEstimator = Ridge(alpha=1.0)
    else:
        # Targets are standardised too: an MLP trained on raw factor ranges (hue in [0, 1],
        # position in pixels) would weigh factors by their units.
        head = TransformedTargetRegressor(
            MLPRegressor(**_mlp_options(seed)), transformer=StandardScaler()
        )
    # A single target goes in 1-D: sklearn's MLP warns on (N, 1) targets.
    return make_pipeline(StandardScaler(), head).fit(x, y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-column accuracy of (N,) or (N, C) labels."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.shape[0] == 0:
        raise ValueError(
            f"labels and predictions must have the same non-empty shape; got {y_true.shape}, {y_pred.shape}"
        )
    return (y_true == y_pred).mean(axis=0)


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-column coefficient of determination 1 − SS_res / SS_tot of (N,) or (N, F) values.

    A constant target has no variance to explain: R² is 1 if it is predicted exactly, else 0
    (sklearn's convention).
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.shape[0] < 2:
        raise ValueError(
            f"values and predictions must have the same shape with N >= 2; got {y_true.shape}, {y_pred.shape}"
        )
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    safe = np.where(ss_tot > 0, ss_tot, 1.0)
    return np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))


def holdout_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random (fit, validation) index split of ``n`` ID samples; both parts non-empty."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1); got {val_fraction}")
    n_val = int(round(n * val_fraction))
    if n_val < 1 or n_val > n - 2:
        raise ValueError(f"{n} samples are too few for a validation split of {val_fraction}")
    order = np.random.default_rng(seed).permutation(n)
    return order[n_val:], order[:n_val]
