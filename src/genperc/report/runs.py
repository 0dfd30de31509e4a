"""One method trained and evaluated with one seed (``MethodRun``), and its plain-JSON form."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from genperc.report.jsonshape import (
    ResultsError,
    child,
    expect_int,
    expect_mapping,
    expect_number,
    expect_object,
    expect_str,
    optional,
)

METHODS = ("supervised", "encoder", "replay-augmentation", "replay", "search", "replay+search")
GENERATIVE = frozenset({"replay", "search", "replay+search"})  # the ones that invert the decoder
JOINT = "joint"  # the key of joint accuracy (every concept of an image right) beside the concepts
_CONCEPT = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$")  # "object.category", "left.category"
EXTRA_METRICS = ("recon_mse", "fg_ari", "identifiability")  # the optional IdOod fields of MethodRun
COSTS = ("train_s", "infer_s_per_image", "search_steps")  # the fields of Cost


def check_method(method: str, path: str = "method") -> None:
    if method not in METHODS:
        raise ResultsError(path, f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def _checked_scores(scores: Mapping[str, Any], path: str) -> dict[str, float]:
    """Accuracies by concept, plus joint: fractions in [0, 1], as a new dict of plain floats."""
    if JOINT not in scores:
        raise ResultsError(child(path, JOINT), "missing (every run reports joint accuracy)")
    for concept in scores:
        if concept != JOINT and not (isinstance(concept, str) and _CONCEPT.match(concept)):
            raise ResultsError(child(path, str(concept)), "a concept name looks like 'object.category'")
    return {concept: expect_number(value, child(path, concept), 0.0, 1.0) for concept, value in scores.items()}


@dataclass(frozen=True)
class IdOod:
    """One metric measured on ID test images and on OOD images."""

    id: float
    ood: float

    def __post_init__(self) -> None:
        for name in ("id", "ood"):
            object.__setattr__(self, name, expect_number(getattr(self, name), name))


@dataclass(frozen=True)
class Cost:
    """What a method costs: training wall time, inference time per image (for the search methods
    encoder and search together), and for those the mean number of search steps per image."""

    train_s: float
    infer_s_per_image: float
    search_steps: float | None = None

    def __post_init__(self) -> None:
        for name in ("train_s", "infer_s_per_image"):
            object.__setattr__(self, name, expect_number(getattr(self, name), name, 0.0))
        if self.search_steps is not None:
            object.__setattr__(self, "search_steps", expect_number(self.search_steps, "search_steps", 0.0))


class Scores(Protocol):
    """What ``MethodRun.from_scores`` reads: ``genperc.eval.ReadoutScores`` has this shape."""

    accuracy: Mapping[str, float]
    joint: float


@dataclass(frozen=True)
class MethodRun:
    """One method trained and evaluated with one seed. ``id`` and ``ood`` map each concept and
    ``"joint"`` to an accuracy in [0, 1]; the other metrics are None when not measured."""

    seed: int
    method: str
    id: dict[str, float]
    ood: dict[str, float]
    recon_mse: IdOod | None = None
    fg_ari: IdOod | None = None
    identifiability: IdOod | None = None  # mean score relative to the ground-truth ceiling
    cost: Cost | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", expect_int(self.seed, "seed"))
        check_method(self.method)
        # plain floats, in dicts of its own: numpy scalars from the caller would not survive JSON
        object.__setattr__(self, "id", _checked_scores(self.id, "id"))
        object.__setattr__(self, "ood", _checked_scores(self.ood, "ood"))
        if set(self.id) != set(self.ood):
            raise ResultsError("ood", f"concepts {sorted(self.ood)} differ from those of id: {sorted(self.id)}")

    @classmethod
    def from_scores(cls, seed: int, method: str, id: Scores, ood: Scores, **extra: Any) -> MethodRun:
        """A run from two readout scores (ID test and OOD); ``extra`` sets the optional metrics."""
        return cls(seed, method, {**id.accuracy, JOINT: id.joint}, {**ood.accuracy, JOINT: ood.joint}, **extra)

    @property
    def concepts(self) -> tuple[str, ...]:
        return tuple(c for c in self.id if c != JOINT)

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "method": self.method,
            "id": dict(self.id),
            "ood": dict(self.ood),
            **{name: _id_ood_json(getattr(self, name)) for name in EXTRA_METRICS},
            "cost": None if self.cost is None else {k: getattr(self.cost, k) for k in COSTS},
        }

    @classmethod
    def from_json(cls, obj: Any, path: str = "") -> MethodRun:
        obj = expect_object(obj, path, ("seed", "method", "id", "ood"), (*EXTRA_METRICS, "cost"))
        scores = {k: expect_mapping(obj[k], child(path, k)) for k in ("id", "ood")}
        extras = {name: optional(_parse_id_ood)(obj.get(name), child(path, name)) for name in EXTRA_METRICS}
        try:
            return cls(
                seed=expect_int(obj["seed"], child(path, "seed")),
                method=expect_str(obj["method"], child(path, "method")),
                id=dict(scores["id"]),
                ood=dict(scores["ood"]),
                cost=optional(_parse_cost)(obj.get("cost"), child(path, "cost")),
                **extras,
            )
        except ResultsError as e:
            raise e.under(path) from None


def _id_ood_json(value: IdOod | None) -> dict[str, float] | None:
    return None if value is None else {"id": value.id, "ood": value.ood}


def _parse_id_ood(obj: Any, path: str) -> IdOod:
    obj = expect_object(obj, path, ("id", "ood"))
    return IdOod(expect_number(obj["id"], child(path, "id")), expect_number(obj["ood"], child(path, "ood")))


def _parse_cost(obj: Any, path: str) -> Cost:
    obj = expect_object(obj, path, ("train_s", "infer_s_per_image"), ("search_steps",))
    try:
        return Cost(**{k: optional(expect_number)(v, child(path, k)) for k, v in obj.items()})
    except ResultsError as e:
        raise e.under(path) from None
