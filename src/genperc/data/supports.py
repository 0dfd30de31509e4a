"""Supports: which latent combinations are in-distribution (ID); everything else is OOD.

- ``full``: every combination is ID (no OOD set; for ceilings and pre-training).
- ``heldout``: a list of held-out combinations of concept values (by name), or a seeded random
  choice of a fraction of them that keeps the ID support slot-supported.
- ``orthogonal``: the "cross" of the NeurIPS'23 supports on concepts: a combination is ID when at
  most one concept differs from its reference value (the first value of each concept).
- ``diagonal``: the ICLR'24 sprites support on unit coordinates: for every factor, the vector of that
  factor's unit coordinates across the object slots lies within δ of the cube's diagonal.
  δ follows that paper's *code* (distance ||u − mean(u)·1||₂ per factor), which is half the δ
  written in the paper: code δ = 0.125 is the paper's δ = 0.25.

The ID sampler draws only inside the support, the OOD sampler only outside it, and
:meth:`Support.validate` checks, before anything is rendered, that the ID support shows every
value of every concept (slot-supported) and that the OOD set is not empty.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

from genperc.data.factors import LatentSpace, SpaceError
from genperc.errors import UserError
from genperc.registry import Registry

Combo = tuple[int, ...]  # one value index per concept, in space.concepts order
Filter = Callable[[np.ndarray], np.ndarray]  # factor values (N, L) -> keep mask (N,)


class SupportError(UserError, ValueError):
    """The support is invalid for this latent space; the message names the offending value."""


@dataclass
class SupportConfig:
    kind: Literal["heldout", "diagonal", "orthogonal", "full"] | None = None  # None: the split's default
    heldout_fraction: float = 0.35  # heldout: fraction of combinations held out when no list is given
    heldout: list[list[str]] = field(default_factory=list)  # heldout: combinations by value name
    heldout_seed: int = 0  # heldout: seed of the random choice (independent of the data seed)
    delta: float = 0.125  # diagonal: band half-width in the ICLR'24 code convention


SUPPORTS: Registry["Support"] = Registry("support")


class Support:
    name = ""

    def __init__(self, space: LatentSpace) -> None:
        self.space = space

    def validate(self) -> None:
        """Raise :class:`SupportError` if the ID support is not slot-supported or OOD is empty."""

    @property
    def has_ood(self) -> bool:
        return True

    def contains(self, unit: np.ndarray) -> np.ndarray:
        """ID membership (N,) of unit coordinates (N, L)."""
        raise NotImplementedError

    def _propose(self, n: int, rng: np.random.Generator, ood: bool) -> np.ndarray:
        raise NotImplementedError

    def sample(
        self, n: int, rng: np.random.Generator, ood: bool = False, keep: Filter | None = None
    ) -> np.ndarray:
        """``n`` unit-coordinate rows (N, L) inside (ID) or outside (OOD) the support, each also
        passing ``keep`` (a renderer constraint such as "objects do not overlap")."""
        if ood and not self.has_ood:
            raise SupportError(f"support {self.name!r} has no OOD combinations; set n_test=0 or choose another support")
        out: list[np.ndarray] = [np.empty((0, self.space.n_columns))]
        have, tries = 0, 0
        while have < n:
            batch = self._propose(max(2 * (n - have), 64), rng, ood)
            ok = self.contains(batch) != ood
            if keep is not None:
                ok &= keep(self.space.from_unit(batch))
            out.append(batch[ok])
            have += int(ok.sum())
            tries += 1
            if tries > 1000:
                raise SupportError(f"could not draw {n} {'OOD' if ood else 'ID'} samples from support {self.name!r}: "
                                   "the region left by the constraints is (almost) empty")
        return np.concatenate(out)[:n]

    def describe(self) -> dict:
        return {"kind": self.name}


def _uniform(space: LatentSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random((n, space.n_columns))


class CombinationSupport(Support):
    """A support given by the set of ID combinations of concept values; other factors are free."""

    def __init__(self, space: LatentSpace, id_combos: set[Combo]) -> None:
        super().__init__(space)
        self.concepts = space.concepts
        if not self.concepts:
            raise SupportError(f"support {self.name!r} needs categorical factors, the space has none")
        self.all_combos: list[Combo] = list(itertools.product(*(range(len(c.values)) for c in self.concepts)))
        self.id_combos = sorted(id_combos)
        self.ood_combos = sorted(set(self.all_combos) - id_combos)
        self._lut = np.zeros([len(c.values) for c in self.concepts], dtype=bool)
        for combo in self.id_combos:
            self._lut[combo] = True

    @property
    def has_ood(self) -> bool:
        return bool(self.ood_combos)

    def validate(self) -> None:
        for c_i, concept in enumerate(self.concepts):
            seen = {combo[c_i] for combo in self.id_combos}
            for v, value in enumerate(concept.values):
                if v not in seen:
                    raise SupportError(
                        f"value {value!r} of {concept.name!r} occurs in no ID combination: the ID support must "
                        f"show every value (slot-supported); hold out fewer combinations containing {value!r}"
                    )
        if not self.has_ood:
            raise SupportError(f"support {self.name!r} leaves no OOD combination; hold out at least one")

    def contains(self, unit: np.ndarray) -> np.ndarray:
        labels = self.space.labels(self.space.from_unit(unit))
        return self._lut[tuple(labels.T)]

    def _propose(self, n: int, rng: np.random.Generator, ood: bool) -> np.ndarray:
        combos = np.asarray(self.ood_combos if ood else self.id_combos)
        pick = combos[rng.integers(len(combos), size=n)]
        unit = _uniform(self.space, n, rng)
        for c_i, concept in enumerate(self.concepts):  # a uniform point inside the chosen value's cell
            unit[:, concept.column] = (pick[:, c_i] + unit[:, concept.column]) / len(concept.values)
        return unit

    def names(self, combos: list[Combo]) -> list[list[str]]:
        return [[c.values[v] for c, v in zip(self.concepts, combo)] for combo in combos]

    def describe(self) -> dict:
        return {
            "kind": self.name,
            "concepts": [c.name for c in self.concepts],
            "id": self.names(self.id_combos),
            "heldout": self.names(self.ood_combos),
        }


@SUPPORTS.register("full")
class FullSupport(CombinationSupport):
    name = "full"

    def __init__(self, space: LatentSpace, cfg: SupportConfig) -> None:
        super().__init__(space, set(itertools.product(*(range(len(c.values)) for c in space.concepts))))

    def validate(self) -> None:  # no OOD by design; sampling OOD raises instead
        pass

    def contains(self, unit: np.ndarray) -> np.ndarray:
        return np.ones(len(unit), dtype=bool)


@SUPPORTS.register("heldout")
class HeldoutSupport(CombinationSupport):
    name = "heldout"

    def __init__(self, space: LatentSpace, cfg: SupportConfig) -> None:
        concepts = space.concepts
        all_combos = set(itertools.product(*(range(len(c.values)) for c in concepts)))
        if cfg.heldout:
            held = {_parse_combo(space, row, i) for i, row in enumerate(cfg.heldout)}
        else:
            held = _random_heldout(space, cfg.heldout_fraction, cfg.heldout_seed)
        super().__init__(space, all_combos - held)


def _parse_combo(space: LatentSpace, row: list[str] | dict, i: int) -> Combo:
    concepts = space.concepts
    if isinstance(row, dict):  # {"object.category": "cube", ...}
        unknown = set(row) - {c.name for c in concepts}
        if unknown:
            raise SupportError(f"held-out combination #{i} names unknown concept(s) {sorted(unknown)}; "
                               f"concepts are {[c.name for c in concepts]}")
        missing = [c.name for c in concepts if c.name not in row]
        if missing:
            raise SupportError(f"held-out combination #{i} gives no value for {missing}")
        row = [row[c.name] for c in concepts]
    if not isinstance(row, (list, tuple)) or len(row) != len(concepts):
        raise SupportError(
            f"held-out combination #{i} {row!r} must list one value per concept: {[c.name for c in concepts]}"
        )
    combo = []
    for concept, value in zip(concepts, row):
        if value not in concept.values:
            raise SupportError(
                f"held-out combination #{i} names {value!r}, which is not a value of {concept.name!r} "
                f"(values: {', '.join(concept.values)})"
            )
        combo.append(concept.values.index(value))
    return tuple(combo)


def _random_heldout(space: LatentSpace, fraction: float, seed: int) -> set[Combo]:
    """A seeded random set of round(fraction · #combos) combinations whose removal keeps every
    value of every concept in at least one ID combination (greedy over a shuffled order)."""
    if not 0.0 < fraction < 1.0:
        raise SupportError(f"heldout_fraction must lie in (0, 1), got {fraction}")
    concepts = space.concepts
    combos = list(itertools.product(*(range(len(c.values)) for c in concepts)))
    target = round(fraction * len(combos))
    if target < 1:
        raise SupportError(f"heldout_fraction {fraction} holds out no combination of {len(combos)}; raise it")
    count = [np.zeros(len(c.values), dtype=int) for c in concepts]  # ID combos per value
    for combo in combos:
        for c_i, v in enumerate(combo):
            count[c_i][v] += 1
    held: set[Combo] = set()
    for j in np.random.default_rng(seed).permutation(len(combos)):
        combo = combos[j]
        if all(count[c_i][v] > 1 for c_i, v in enumerate(combo)):
            held.add(combo)
            for c_i, v in enumerate(combo):
                count[c_i][v] -= 1
            if len(held) == target:
                break
    if len(held) < target:
        raise SupportError(f"cannot hold out {target} of {len(combos)} combinations and stay slot-supported; "
                           "lower heldout_fraction")
    return held


@SUPPORTS.register("orthogonal")
class OrthogonalSupport(CombinationSupport):
    name = "orthogonal"

    def __init__(self, space: LatentSpace, cfg: SupportConfig) -> None:
        concepts = space.concepts
        if len(concepts) < 2:
            raise SupportError("the orthogonal support needs at least two concepts")
        combos = itertools.product(*(range(len(c.values)) for c in concepts))
        super().__init__(space, {c for c in combos if sum(v != 0 for v in c) <= 1})


@SUPPORTS.register("diagonal")
class DiagonalSupport(Support):
    """Per factor, the object slots' unit coordinates lie within δ of the diagonal (ICLR'24).

    The object slots are the slots whose factor names equal the first slot's; any other slot
    (a background) is sampled freely."""

    name = "diagonal"

    def __init__(self, space: LatentSpace, cfg: SupportConfig) -> None:
        super().__init__(space)
        self.delta = cfg.delta
        first = [f.name for f in space.slots[0].factors]
        self.group = [k for k, s in enumerate(space.slots) if [f.name for f in s.factors] == first]
        # (F, G): column of factor f in the g-th slot of the group
        self.cols = np.array([[space.column(space.slots[k].name, name) for k in self.group] for name in first])

    def validate(self) -> None:
        g = len(self.group)
        if g < 2:
            raise SupportError("the diagonal support needs at least two slots with the same factors")
        m = g // 2  # the farthest cube vertices from the diagonal have m ones: distance² = m(g − m)/g
        reach = np.sqrt(m * (g - m) / g)
        if not 0.0 < self.delta:
            raise SupportError(f"diagonal delta must be > 0, got {self.delta}")
        if self.delta >= reach:
            raise SupportError(
                f"diagonal delta {self.delta} covers the whole cube (max distance {reach:.3f}): no OOD set"
            )

    def _distance(self, unit: np.ndarray) -> np.ndarray:
        u = unit[:, self.cols]  # (N, F, G)
        return np.linalg.norm(u - u.mean(axis=2, keepdims=True), axis=2)  # (N, F)

    def contains(self, unit: np.ndarray) -> np.ndarray:
        return (self._distance(unit) <= self.delta).all(axis=1)

    def _propose(self, n: int, rng: np.random.Generator, ood: bool) -> np.ndarray:
        unit = _uniform(self.space, n, rng)
        if ood:
            return unit  # uniform in the cube; the ID part is rejected by sample()
        # ID factorises over factors: draw each factor's G-vector by rejection inside the band
        for f_cols in self.cols:
            todo = np.arange(n)
            while len(todo):
                cand = rng.random((len(todo), len(f_cols)))
                ok = np.linalg.norm(cand - cand.mean(axis=1, keepdims=True), axis=1) <= self.delta
                unit[np.ix_(todo[ok], f_cols)] = cand[ok]
                todo = todo[~ok]
        return unit

    def describe(self) -> dict:
        return {"kind": self.name, "delta": self.delta, "delta_convention": "ICLR'24 code (paper's delta / 2)",
                "slots": [self.space.slots[k].name for k in self.group]}


def make_support(space: LatentSpace, cfg: SupportConfig, default: str = "heldout") -> Support:
    try:
        support = SUPPORTS.create(cfg.kind or default, space=space, cfg=cfg)
    except SpaceError as e:
        raise SupportError(str(e)) from None
    support.validate()
    return support
