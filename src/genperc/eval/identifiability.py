"""Slot identifiability: how well inferred slots determine the ground-truth slot factors.

Protocol (ICLR'24-style, with the matching made explicit):

1. Split the ID latents into a fit part and a validation part (``val_fraction``, seeded).
2. For every (ground-truth slot g, inferred slot k) pair, fit readouts z_k → factors of g on the
   fit part: one multi-output ridge regression (or MLP) for the continuous factors, one logistic
   regression (or MLP) per categorical factor. Score the pair on the validation part by the mean
   over g's factors of R² (continuous) or accuracy (categorical).
3. Assign ground-truth slots to distinct inferred slots by the Hungarian algorithm on that
   validation score matrix, then refit the matched readouts on all ID latents.
4. Apply the fitted readouts unchanged to any data set (ID test, OOD): R² per continuous factor,
   accuracy per categorical factor.

The matching is global, not per image: per-image matching by readout error needs readouts that
were themselves fitted under some matching, and it lets a poor slot borrow the best-fitting
readout image by image. Global matching assumes a slot order that is the same in every image
(true for genperc's models, which start from learned per-slot initial values).

**Ceiling.** The same procedure is applied to the ground-truth latents themselves (continuous
factors as they are, categorical factors one-hot with the categories seen in ID), fitted on the
same ID data. Its scores show what the readout model itself can reach on a data set — about 1
everywhere with linear readouts, below 1 with MLP readouts where they fail to extrapolate OOD —
and each factor is also reported relative to it ("0.92 of ceiling"). It is the readout's limit on
the raw factors, not a strict bound: a representation easier to read out can score above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator

from genperc.eval.matching import assign
from genperc.eval.probes import ProbeModel, accuracy, fit_classifier, fit_regressor, holdout_split, r2

FactorKind = Literal["categorical", "continuous"]


@dataclass(frozen=True)
class FactorScore:
    """Score of one ground-truth factor: R² (continuous) or accuracy (categorical)."""

    slot: str
    factor: str
    kind: FactorKind
    score: float
    ceiling: float  # the ground-truth-latent ceiling's score on the same data; nan without ceiling

    @property
    def relative(self) -> float:
        """``score / ceiling``; nan where the ceiling is missing or not positive."""
        return self.score / self.ceiling if self.ceiling > 0 else float("nan")


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


@dataclass(frozen=True)
class IdentifiabilityScores:
    factors: tuple[FactorScore, ...]
    slot_assignment: dict[str, int]  # ground-truth slot → inferred slot
    n: int
    mean_r2: float  # over continuous factors (nan if none)
    mean_accuracy: float  # over categorical factors (nan if none)
    mean_relative: float  # of score / ceiling over all factors (nan without ceiling)

    @staticmethod
    def from_factors(
        factors: tuple[FactorScore, ...], slot_assignment: dict[str, int], n: int
    ) -> IdentifiabilityScores:
        return IdentifiabilityScores(
            factors=factors,
            slot_assignment=slot_assignment,
            n=n,
            mean_r2=_nanmean([f.score for f in factors if f.kind == "continuous"]),
            mean_accuracy=_nanmean([f.score for f in factors if f.kind == "categorical"]),
            mean_relative=_nanmean([f.relative for f in factors]),
        )

    def for_slot(self, slot: str) -> tuple[FactorScore, ...]:
        return tuple(f for f in self.factors if f.slot == slot)


@dataclass(frozen=True)
class _SlotProbes:
    """Readouts of one ground-truth slot's factors from one inferred slot."""

    regressor: Optional[BaseEstimator]  # all continuous factors at once; None if there are none
    classifiers: tuple[BaseEstimator, ...]  # one per categorical factor


def _split_kinds(kinds: Sequence[FactorKind]) -> tuple[list[int], list[int]]:
    """Indices of the continuous and of the categorical factors."""
    cont = [i for i, kind in enumerate(kinds) if kind == "continuous"]
    return cont, [i for i in range(len(kinds)) if i not in cont]


def _fit_slot_probes(
    x: np.ndarray, y: np.ndarray, kinds: Sequence[FactorKind], model: ProbeModel, seed: int
) -> _SlotProbes:
    cont, cat = _split_kinds(kinds)
    regressor = fit_regressor(x, y[:, cont], model, seed) if cont else None
    classifiers = tuple(fit_classifier(x, y[:, i].astype(np.int64), model, seed) for i in cat)
    return _SlotProbes(regressor, classifiers)


def _predict_slot(probes: _SlotProbes, x: np.ndarray, kinds: Sequence[FactorKind]) -> np.ndarray:
    out = np.empty((x.shape[0], len(kinds)))
    cont, cat = _split_kinds(kinds)
    if probes.regressor is not None:
        out[:, cont] = probes.regressor.predict(x).reshape(x.shape[0], len(cont))
    for i, clf in zip(cat, probes.classifiers):
        out[:, i] = clf.predict(x)
    return out


def _factor_scores(y: np.ndarray, pred: np.ndarray, kinds: Sequence[FactorKind]) -> np.ndarray:
    metric = {"continuous": r2, "categorical": accuracy}
    return np.array([float(metric[kind](y[:, i], pred[:, i])) for i, kind in enumerate(kinds)])


@dataclass(frozen=True)
class _OneHotLatents:
    """Ground-truth latents as a slot tensor: continuous factors raw, categorical ones one-hot."""

    kinds: tuple[tuple[FactorKind, ...], ...]
    categories: tuple[tuple[np.ndarray, ...], ...]  # per slot, per categorical factor: ID values
    dim: int

    @staticmethod
    def fit(factors: Sequence[np.ndarray], kinds: tuple[tuple[FactorKind, ...], ...]) -> _OneHotLatents:
        categories = tuple(
            tuple(np.unique(f[:, i]) for i, kind in enumerate(ks) if kind == "categorical")
            for f, ks in zip(factors, kinds)
        )
        widths = [
            sum(kind == "continuous" for kind in ks) + sum(c.size for c in cats)
            for ks, cats in zip(kinds, categories)
        ]
        return _OneHotLatents(kinds, categories, max(widths))

    def encode(self, factors: Sequence[np.ndarray]) -> np.ndarray:
        n = factors[0].shape[0]
        out = np.zeros((n, len(factors), self.dim))
        for g, (f, ks, cats) in enumerate(zip(factors, self.kinds, self.categories)):
            cont, cat = _split_kinds(ks)
            cols = [f[:, cont]]
            # A category never seen in ID encodes as all zeros: the readout cannot know it either.
            cols += [(f[:, [i]] == values[None]).astype(np.float64) for i, values in zip(cat, cats)]
            block = np.concatenate(cols, axis=1)
            out[:, g, : block.shape[1]] = block
        return out


@dataclass(frozen=True)
class _Ceiling:
    """The identifiability procedure fitted on ground-truth latents instead of inferred ones."""

    latents: _OneHotLatents
    readout: IdentifiabilityReadout

    def score(self, factors: list[np.ndarray], slot_names: Sequence[str]) -> list[np.ndarray]:
        scores = self.readout.score(self.latents.encode(factors), factors)
        return [np.array([f.score for f in scores.for_slot(name)]) for name in slot_names]


@dataclass(frozen=True)
class IdentifiabilityReadout:
    """Matched readouts from inferred slots to ground-truth slot factors, fitted on ID latents."""

    slot_names: tuple[str, ...]
    factor_names: tuple[tuple[str, ...], ...]
    kinds: tuple[tuple[FactorKind, ...], ...]
    model: ProbeModel
    slot_assignment: dict[str, int]  # ground-truth slot → inferred slot
    validation_score: np.ndarray  # (G, K): ID held-out mean factor score of slot g read from slot k
    n_slots: int
    dim: int
    probes: tuple[_SlotProbes, ...]  # per ground-truth slot, on its assigned inferred slot
    ceiling: Optional[_Ceiling]

    def _check_latents(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if z.ndim != 3 or z.shape[1:] != (self.n_slots, self.dim):
            raise ValueError(f"latents must be (N, {self.n_slots}, {self.dim}); got {z.shape}")
        return z

    def predict(self, z: np.ndarray) -> list[np.ndarray]:
        """Predicted factors per ground-truth slot, each (N, F_g); categorical ones as class values."""
        z = self._check_latents(z)
        return [
            _predict_slot(p, z[:, self.slot_assignment[name]], ks)
            for name, p, ks in zip(self.slot_names, self.probes, self.kinds)
        ]

    def score(self, z: np.ndarray, factors: Sequence[np.ndarray]) -> IdentifiabilityScores:
        """Scores of latents (N, K, D) against ground-truth factors (one (N, F_g) array per slot)."""
        z = self._check_latents(z)
        factors = _check_factors(factors, self.kinds, z.shape[0])
        own = [_factor_scores(f, p, ks) for f, p, ks in zip(factors, self.predict(z), self.kinds)]
        if self.ceiling is not None:
            top = self.ceiling.score(factors, self.slot_names)
        else:
            top = [np.full(len(ks), np.nan) for ks in self.kinds]
        scores = tuple(
            FactorScore(name, fname, kind, float(s), float(c))
            for name, fnames, ks, ss, cs in zip(self.slot_names, self.factor_names, self.kinds, own, top)
            for fname, kind, s, c in zip(fnames, ks, ss, cs)
        )
        return IdentifiabilityScores.from_factors(scores, dict(self.slot_assignment), z.shape[0])


def _check_factors(factors: Sequence[np.ndarray], kinds: Sequence[Sequence[str]], n: int) -> list[np.ndarray]:
    if len(factors) != len(kinds):
        raise ValueError(f"{len(factors)} factor tables but {len(kinds)} ground-truth slots")
    out = []
    for g, (f, ks) in enumerate(zip(factors, kinds)):
        f = np.asarray(f, dtype=np.float64)
        if f.ndim == 1:
            f = f[:, None]
        if f.shape != (n, len(ks)):
            raise ValueError(f"factors of ground-truth slot {g} must be ({n}, {len(ks)}); got {f.shape}")
        for i, kind in enumerate(ks):
            if kind not in ("categorical", "continuous"):
                raise ValueError(f"factor kind must be 'categorical' or 'continuous'; got {kind!r}")
            if kind == "categorical" and not np.all(f[:, i] == np.round(f[:, i])):
                raise ValueError(f"categorical factor {i} of ground-truth slot {g} has non-integer values")
        out.append(f)
    return out


def fit_identifiability(
    z_train: np.ndarray,
    factors: Sequence[np.ndarray],
    kinds: Sequence[Sequence[FactorKind]],
    slot_names: Optional[Sequence[str]] = None,
    factor_names: Optional[Sequence[Sequence[str]]] = None,
    model: ProbeModel = "linear",
    seed: int = 0,
    val_fraction: float = 0.25,
    ceiling: bool = True,
) -> IdentifiabilityReadout:
    """Fit matched slot readouts on ID latents ``z_train`` (N, K, D).

    ``factors[g]`` is the (N, F_g) factor table of ground-truth slot g (categorical columns hold
    class indices) and ``kinds[g][i]`` the kind of its factor i; slots may have different factor
    sets. ``model`` is ``"linear"`` (ridge / logistic regression) or ``"mlp"``. With ``ceiling``,
    the ground-truth-latent ceiling is fitted too (doubling the cost). See the module docstring.
    """
    z = np.asarray(z_train, dtype=np.float64)
    if z.ndim != 3:
        raise ValueError(f"latents must be (N, K, D); got shape {z.shape}")
    n, k, d = z.shape
    kinds_t = tuple(tuple(ks) for ks in kinds)
    factors = _check_factors(factors, kinds_t, n)
    n_gt = len(factors)
    if n_gt > k:
        raise ValueError(f"{n_gt} ground-truth slots but the model has only {k} slots")
    names = tuple(slot_names) if slot_names is not None else tuple(f"slot{g}" for g in range(n_gt))
    fnames = (
        tuple(tuple(fs) for fs in factor_names)
        if factor_names is not None
        else tuple(tuple(f"f{i}" for i in range(len(ks))) for ks in kinds_t)
    )
    if len(names) != n_gt or [len(fs) for fs in fnames] != [len(ks) for ks in kinds_t]:
        raise ValueError("slot_names / factor_names do not match the factor tables")

    fit_idx, val_idx = holdout_split(n, val_fraction, seed)
    val_score = np.empty((n_gt, k))
    for g, (f, ks) in enumerate(zip(factors, kinds_t)):
        for s in range(k):
            probes = _fit_slot_probes(z[fit_idx, s], f[fit_idx], ks, model, seed)
            pred = _predict_slot(probes, z[val_idx, s], ks)
            val_score[g, s] = _factor_scores(f[val_idx], pred, ks).mean()
    chosen = assign(val_score)
    assignment = {name: int(s) for name, s in zip(names, chosen)}

    top = None
    if ceiling:
        gt_latents = _OneHotLatents.fit(factors, kinds_t)
        top = _Ceiling(
            gt_latents,
            fit_identifiability(
                gt_latents.encode(factors), factors, kinds_t, names, fnames, model, seed, val_fraction,
                ceiling=False,
            ),
        )
    return IdentifiabilityReadout(
        slot_names=names,
        factor_names=fnames,
        kinds=kinds_t,
        model=model,
        slot_assignment=assignment,
        validation_score=val_score,
        n_slots=k,
        dim=d,
        probes=tuple(
            _fit_slot_probes(z[:, assignment[name]], f, ks, model, seed)
            for name, f, ks in zip(names, factors, kinds_t)
        ),
        ceiling=top,
    )
