"""Mean and sample standard deviation over seeds of every metric of a set of runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from genperc.report.jsonshape import ResultsError, child
from genperc.report.runs import COSTS, EXTRA_METRICS, METHODS, MethodRun


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof = 1) of ``n`` values; std is 0.0 when n = 1, so a
    single-seed run shows no spread rather than nan."""

    mean: float
    std: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> Stat:
        a = np.asarray(values, dtype=np.float64)
        if a.size == 0:
            raise ValueError("a statistic needs at least one value")
        return Stat(float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0, int(a.size))


@dataclass(frozen=True)
class MethodSummary:
    """Accuracy of one method over its ``n`` seeds, per concept and joint."""

    n: int
    id: dict[str, Stat]
    ood: dict[str, Stat]


@dataclass(frozen=True)
class IdOodStat:
    id: Stat
    ood: Stat


@dataclass(frozen=True)
class ExtraSummary:
    """The optional metrics of one method over the seeds that measured them (each Stat has its
    own n); None where no seed did."""

    recon_mse: IdOodStat | None
    fg_ari: IdOodStat | None
    identifiability: IdOodStat | None
    train_s: Stat | None
    infer_s_per_image: Stat | None
    search_steps: Stat | None


def _by_method(runs: Iterable[MethodRun]) -> dict[str, list[tuple[int, MethodRun]]]:
    """(index in ``runs``, run) per method, in ``METHODS`` order."""
    grouped: dict[str, list[tuple[int, MethodRun]]] = {}
    for i, run in enumerate(runs):
        grouped.setdefault(run.method, []).append((i, run))
    return {m: grouped[m] for m in METHODS if m in grouped}


def summarize(runs: Iterable[MethodRun]) -> dict[str, MethodSummary]:
    """Mean and sample std (ddof = 1; 0.0 for one seed) over seeds of every accuracy, per method in
    ``METHODS`` order; methods without runs are absent. All runs of a method must report the same
    concepts."""
    out = {}
    for method, indexed in _by_method(runs).items():
        group = [run for _, run in indexed]
        keys = list(group[0].id)
        for i, run in indexed[1:]:
            if set(run.id) != set(keys):
                raise ResultsError(
                    child(child("runs", i), "id"),
                    f"concepts {sorted(run.id)} differ from those of the first {method} run: {sorted(keys)}",
                )
        out[method] = MethodSummary(
            n=len(group),
            id={k: Stat.of([r.id[k] for r in group]) for k in keys},
            ood={k: Stat.of([r.ood[k] for r in group]) for k in keys},
        )
    return out


def _stat_or_none(values: list[float | None]) -> Stat | None:
    present = [v for v in values if v is not None]
    return Stat.of(present) if present else None


def summarize_extra(runs: Iterable[MethodRun]) -> dict[str, ExtraSummary]:
    """Mean and sample std over seeds of the optional metrics and costs, per method."""
    out = {}
    for method, indexed in _by_method(runs).items():
        group = [run for _, run in indexed]
        metrics: dict[str, IdOodStat | None] = {}
        for name in EXTRA_METRICS:
            values = [getattr(r, name) for r in group if getattr(r, name) is not None]
            metrics[name] = IdOodStat(Stat.of([v.id for v in values]), Stat.of([v.ood for v in values])) if values else None
        costs = {k: _stat_or_none([None if r.cost is None else getattr(r.cost, k) for r in group]) for k in COSTS}
        out[method] = ExtraSummary(**metrics, **costs)
    return out


def _stat_json(s: Stat | None, with_n: bool) -> dict[str, float] | None:
    if s is None:
        return None
    return {"mean": s.mean, "std": s.std, **({"n": s.n} if with_n else {})}


def summary_to_json(summary: Mapping[str, MethodSummary]) -> dict[str, Any]:
    return {
        m: {split: {k: _stat_json(s, False) for k, s in getattr(ms, split).items()} for split in ("id", "ood")}
        for m, ms in summary.items()
    }


def summary_extra_to_json(extra: Mapping[str, ExtraSummary]) -> dict[str, Any]:
    def id_ood(v: IdOodStat | None) -> dict | None:
        return None if v is None else {"id": _stat_json(v.id, True), "ood": _stat_json(v.ood, True)}

    return {
        m: {
            **{name: id_ood(getattr(e, name)) for name in EXTRA_METRICS},
            "cost": {k: _stat_json(getattr(e, k), True) for k in COSTS},
        }
        for m, e in extra.items()
    }
