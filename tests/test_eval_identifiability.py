"""Slot identifiability: matched readouts to ground-truth slot factors, with a ceiling."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from genperc.eval import fit_identifiability
from genperc.eval.probes import r2

# An object slot (category + 4 continuous factors) and a background slot (background + light).
KINDS = [
    ["categorical", "continuous", "continuous", "continuous", "continuous"],
    ["categorical", "continuous"],
]
NAMES = [["category", "x", "y", "scale", "hue"], ["background", "light"]]
SLOTS = ["object", "background"]
N_CLASSES = [3, 4]
D = 8


def make_factors(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    obj = np.column_stack([rng.integers(0, N_CLASSES[0], n), rng.uniform(0.1, 0.9, (n, 4))])
    bg = np.column_stack([rng.integers(0, N_CLASSES[1], n), rng.uniform(0.0, 1.0, n)])
    return [obj, bg]


def invertible_latents(factors: list[np.ndarray], order: list[int], seed: int) -> np.ndarray:
    """Each GT slot's one-hot/continuous code through a fixed invertible D × D map, plus a noise
    slot; inferred slot k holds GT slot ``order[k]`` (2 = noise)."""
    maps = np.random.default_rng(99).normal(size=(3, D, D))
    slots = []
    for g, f in enumerate(factors):
        code = np.concatenate([np.eye(N_CLASSES[g])[f[:, 0].astype(int)], f[:, 1:]], axis=1)
        code = np.pad(code, ((0, 0), (0, D - code.shape[1])))
        slots.append(code @ maps[g].T)
    slots.append(np.random.default_rng(seed).normal(size=slots[0].shape))
    return np.stack([slots[g] for g in order], axis=1)


def fit(z: np.ndarray, factors: list[np.ndarray], **kw):  # noqa: ANN202 - test helper
    return fit_identifiability(z, factors, KINDS, slot_names=SLOTS, factor_names=NAMES, **kw)


def test_invertible_map_of_permuted_slots_is_identified() -> None:
    order = [2, 1, 0]  # inferred slot 0 = noise, 1 = background, 2 = object
    train = make_factors(300, seed=0)
    readout = fit(invertible_latents(train, order, seed=0), train)
    assert readout.slot_assignment == {"object": 2, "background": 1}
    test = make_factors(200, seed=1)
    scores = readout.score(invertible_latents(test, order, seed=1), test)
    assert scores.n == 200
    assert scores.mean_r2 > 0.99
    assert scores.mean_accuracy > 0.99
    assert scores.mean_relative > 0.98
    background = [(f.slot, f.factor) for f in scores.for_slot("background")]
    assert background == [("background", "background"), ("background", "light")]
    for f in scores.factors:
        assert f.ceiling > 0.99  # linear readouts of ground-truth latents are exact
        assert f.relative == pytest.approx(f.score / f.ceiling)


def test_noise_latents_score_at_chance() -> None:
    train, test = make_factors(300, seed=0), make_factors(300, seed=1)
    rng = np.random.default_rng(0)
    readout = fit(rng.normal(size=(300, 3, D)), train)
    scores = readout.score(rng.normal(size=(300, 3, D)), test)
    assert scores.mean_r2 < 0.05
    for f in scores.factors:
        if f.kind == "categorical":
            chance = 1 / N_CLASSES[SLOTS.index(f.slot)]
            assert f.score < chance + 0.12
    assert scores.mean_relative < 0.5


def test_scores_match_sklearn_metrics() -> None:
    train, test = make_factors(300, seed=0), make_factors(150, seed=2)

    def noisy(f: list[np.ndarray], seed: int) -> np.ndarray:
        z = invertible_latents(f, [0, 1, 2], seed)
        return z + np.random.default_rng(seed).normal(scale=3.0, size=z.shape)

    readout = fit(noisy(train, 0), train, ceiling=False)
    z_test = noisy(test, 3)
    pred = readout.predict(z_test)
    scores = readout.score(z_test, test)
    by_name = {(f.slot, f.factor): f for f in scores.factors}
    for g, (slot, kinds, names) in enumerate(zip(SLOTS, KINDS, NAMES)):
        for i, (kind, name) in enumerate(zip(kinds, names)):
            ref = (r2_score if kind == "continuous" else accuracy_score)(test[g][:, i], pred[g][:, i])
            assert by_name[slot, name].score == pytest.approx(ref)
            assert np.isnan(by_name[slot, name].ceiling)
    assert 0.0 < scores.mean_r2 < 0.95  # a real, imperfect case
    assert np.isnan(scores.mean_relative)


def test_r2_matches_sklearn_including_constant_targets() -> None:
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    assert r2(y, p) == pytest.approx(r2_score(y, p, multioutput="raw_values"))
    const = np.ones(50)
    assert r2(const, const) == r2_score(const, const) == 1.0
    assert r2(const, p[:, 0]) == r2_score(const, p[:, 0]) == 0.0


def test_the_fit_uses_id_data_only_and_is_seeded() -> None:
    train = make_factors(200, seed=0)
    z = invertible_latents(train, [1, 0, 2], seed=0) + np.random.default_rng(1).normal(size=(200, 3, D))
    a, b = fit(z, train, seed=3), fit(z.copy(), [f.copy() for f in train], seed=3)
    ood = make_factors(80, seed=9)
    z_ood = 5.0 * invertible_latents(ood, [1, 0, 2], seed=9)
    assert a.slot_assignment == b.slot_assignment == {"object": 1, "background": 0}
    assert np.array_equal(a.validation_score, b.validation_score)
    first = [p.copy() for p in a.predict(z)]
    a.score(z_ood, ood)
    assert all(np.array_equal(p, q) for p, q in zip(a.predict(z), first))
    # BLAS may round a batch of one differently, hence allclose rather than equality.
    for batch, alone in zip(a.predict(z_ood), a.predict(z_ood[:1])):
        assert np.allclose(batch[:1], alone, rtol=1e-9, atol=1e-12)


def test_rejects_malformed_factor_tables() -> None:
    train = make_factors(60, seed=0)
    z = invertible_latents(train, [0, 1, 2], seed=0)
    with pytest.raises(ValueError, match="non-integer"):
        fit(z, [train[0] + 0.5, train[1]])
    with pytest.raises(ValueError, match="ground-truth slot 1"):
        fit(z, [train[0], train[1][:, :1]])
    with pytest.raises(ValueError, match="only 1 slots"):
        fit(z[:, :1], train)
