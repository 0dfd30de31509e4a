"""Slot factor spaces: what each slot of an image is made of.

An image is x = f(z) with z = (z_1, …, z_K), one group of named factors per slot. A factor is
categorical (object category, background, texture: the *concepts* whose combinations are held
out) or continuous (position, size, hue…). Latents are stored as one row per image with one
column per (slot, factor); categorical columns hold the value index.

Supports are defined on *unit coordinates* u ∈ [0, 1) per column: continuous values are
``low + (high − low)·u`` and categorical values are ``floor(n·u)`` — the convention of the
ICLR'24 sprites code, which makes the diagonal support meaningful for mixed factors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from genperc.errors import UserError


class SpaceError(UserError, ValueError):
    """A factor space or a value in it is ill-formed; the message names it."""


@dataclass(frozen=True)
class Factor:
    name: str
    kind: Literal["categorical", "continuous"]
    values: tuple[str, ...] = ()  # categorical: the value names, in index order
    low: float = 0.0  # continuous range
    high: float = 1.0

    def __post_init__(self) -> None:
        if self.kind == "categorical":
            if len(self.values) < 1:
                raise SpaceError(f"categorical factor {self.name!r} has no values")
            if len(set(self.values)) != len(self.values):
                raise SpaceError(f"categorical factor {self.name!r} repeats a value: {self.values}")
        elif self.kind == "continuous":
            if not self.high >= self.low:
                raise SpaceError(f"continuous factor {self.name!r} has low {self.low} > high {self.high}")
        else:
            raise SpaceError(f"factor {self.name!r} has unknown kind {self.kind!r}")

    @property
    def categorical(self) -> bool:
        return self.kind == "categorical"

    @property
    def n(self) -> int:
        return len(self.values)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        if self.categorical:
            return np.minimum(np.floor(u * self.n), self.n - 1)
        return self.low + (self.high - self.low) * u

    def index(self, value: str) -> int:
        try:
            return self.values.index(value)
        except ValueError:
            raise SpaceError(
                f"{value!r} is not a value of {self.name!r}; known values: {', '.join(self.values)}"
            ) from None

    def to_json(self) -> dict:
        if self.categorical:
            return {"name": self.name, "kind": self.kind, "values": list(self.values)}
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high}

    @staticmethod
    def from_json(d: dict) -> Factor:
        return Factor(d["name"], d["kind"], tuple(d.get("values", ())), d.get("low", 0.0), d.get("high", 1.0))


def categorical(name: str, values: tuple[str, ...] | list[str]) -> Factor:
    return Factor(name, "categorical", tuple(values))


def continuous(name: str, low: float, high: float) -> Factor:
    return Factor(name, "continuous", (), float(low), float(high))


@dataclass(frozen=True)
class Slot:
    name: str
    factors: tuple[Factor, ...]

    def factor(self, name: str) -> Factor:
        for f in self.factors:
            if f.name == name:
                return f
        raise SpaceError(f"slot {self.name!r} has no factor {name!r}; it has {[f.name for f in self.factors]}")


@dataclass(frozen=True)
class Concept:
    """A categorical factor of one slot, e.g. ``object.category``; concepts are what supports
    combine and what the readout predicts."""

    name: str  # "slot.factor"
    slot: int  # index of the ground-truth slot
    column: int  # column in the latent table
    values: tuple[str, ...]


@dataclass(frozen=True)
class LatentSpace:
    slots: tuple[Slot, ...]
    _columns: tuple[tuple[int, Factor], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [s.name for s in self.slots]
        if len(set(names)) != len(names):
            raise SpaceError(f"slot names must be unique, got {names}")
        cols = []
        for k, slot in enumerate(self.slots):
            fnames = [f.name for f in slot.factors]
            if len(set(fnames)) != len(fnames):
                raise SpaceError(f"slot {slot.name!r} repeats a factor name: {fnames}")
            cols.extend((k, f) for f in slot.factors)
        object.__setattr__(self, "_columns", tuple(cols))

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    @property
    def n_columns(self) -> int:
        return len(self._columns)

    @property
    def columns(self) -> tuple[tuple[int, Factor], ...]:
        """(slot index, factor) of every latent column, in storage order."""
        return self._columns

    def column_names(self) -> list[str]:
        return [f"{self.slots[k].name}.{f.name}" for k, f in self._columns]

    def column(self, slot: str, factor: str) -> int:
        name = f"{slot}.{factor}"
        names = self.column_names()
        if name not in names:
            raise SpaceError(f"no latent {name!r}; latents are {', '.join(names)}")
        return names.index(name)

    def slot_index(self, slot: str) -> int:
        for k, s in enumerate(self.slots):
            if s.name == slot:
                return k
        raise SpaceError(f"no slot {slot!r}; slots are {[s.name for s in self.slots]}")

    def slot_columns(self, k: int) -> list[int]:
        return [c for c, (s, _) in enumerate(self._columns) if s == k]

    @property
    def concepts(self) -> tuple[Concept, ...]:
        names = self.column_names()
        return tuple(
            Concept(names[c], k, c, f.values) for c, (k, f) in enumerate(self._columns) if f.categorical
        )

    def concept(self, name: str) -> Concept:
        for c in self.concepts:
            if c.name == name:
                return c
        raise SpaceError(f"no concept {name!r}; concepts are {[c.name for c in self.concepts]}")

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Unit coordinates (N, L) → factor values (N, L); categorical columns hold indices."""
        out = np.empty_like(unit, dtype=np.float64)
        for c, (_, f) in enumerate(self._columns):
            out[:, c] = f.from_unit(unit[:, c])
        return out

    def labels(self, values: np.ndarray) -> np.ndarray:
        """Concept labels (N, C) int64 from factor values (N, L)."""
        cols = [c.column for c in self.concepts]
        return values[:, cols].astype(np.int64)

    def to_json(self) -> list[dict]:
        return [{"name": s.name, "factors": [f.to_json() for f in s.factors]} for s in self.slots]

    @staticmethod
    def from_json(d: list[dict]) -> LatentSpace:
        return LatentSpace(tuple(Slot(s["name"], tuple(Factor.from_json(f) for f in s["factors"])) for s in d))
