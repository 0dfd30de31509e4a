"""All runs of one reproduction (``Results``) and ``results.json``.

The summary (mean and sample standard deviation over seeds) is always derived from the runs, never
stored beside them, so the two cannot disagree. ``Results.to_json`` writes the documented plain-JSON
shape; ``Results.from_json`` and ``validate_results`` read it back and check it, naming the key path
of the first problem.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from genperc.report.files import atomic_write_text
from genperc.report.jsonshape import (
    ResultsError,
    child,
    expect_int,
    expect_list,
    expect_mapping,
    expect_number,
    expect_object,
    expect_str,
)
from genperc.report.meta import Meta
from genperc.report.runs import MethodRun, check_method
from genperc.report.summary import (
    ExtraSummary,
    MethodSummary,
    summarize,
    summarize_extra,
    summary_extra_to_json,
    summary_to_json,
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TOLERANCE = 1e-9  # a stored summary may differ from the recomputed one by float rounding only


@dataclass(frozen=True)
class Results:
    """Everything ``genperc reproduce`` measured on one split: one ``MethodRun`` per (seed,
    method); a method may be missing (the texture split has no replay)."""

    split: str
    preset: str
    seeds: tuple[int, ...]
    runs: tuple[MethodRun, ...]
    config_sha256: str  # hash of the resolved config the numbers came from
    wall_s: float  # wall time of the whole run
    meta: Meta = field(default_factory=Meta)

    def __post_init__(self) -> None:
        for name in ("split", "preset", "config_sha256"):
            expect_str(getattr(self, name), name)
        object.__setattr__(self, "seeds", tuple(expect_int(s, child("seeds", i)) for i, s in enumerate(self.seeds)))
        object.__setattr__(self, "runs", tuple(self.runs))
        object.__setattr__(self, "wall_s", expect_number(self.wall_s, "wall_s", 0.0))
        for i, seed in enumerate(self.seeds):
            if seed in self.seeds[:i]:
                raise ResultsError(child("seeds", i), f"seed {seed} is listed twice")
        if not _SHA256.match(self.config_sha256):
            raise ResultsError("config_sha256", "expected 64 lowercase hex digits (a sha256 hexdigest)")
        seen = set()
        for i, run in enumerate(self.runs):
            if run.seed not in self.seeds:
                raise ResultsError(child(child("runs", i), "seed"), f"{run.seed} is not one of seeds {list(self.seeds)}")
            if (run.seed, run.method) in seen:
                raise ResultsError(child("runs", i), f"a second run of {run.method} with seed {run.seed}")
            seen.add((run.seed, run.method))
        _ = self.summary  # computed now: runs of one method with different concepts fail here

    @cached_property
    def summary(self) -> dict[str, MethodSummary]:
        return summarize(self.runs)

    @cached_property
    def summary_extra(self) -> dict[str, ExtraSummary]:
        return summarize_extra(self.runs)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods with runs, in ``METHODS`` order."""
        return tuple(self.summary)

    @property
    def concepts(self) -> tuple[str, ...]:
        """Every concept any method reports, in the order of first appearance (joint excluded)."""
        return tuple(dict.fromkeys(c for r in self.runs for c in r.concepts))

    def runs_of(self, method: str) -> tuple[MethodRun, ...]:
        return tuple(r for r in self.runs if r.method == method)

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "preset": self.preset,
            "seeds": list(self.seeds),
            "summary": summary_to_json(self.summary),
            "runs": [r.to_json() for r in self.runs],
            "config_sha256": self.config_sha256,
            "wall_s": self.wall_s,
            "summary_extra": summary_extra_to_json(self.summary_extra),
            "meta": self.meta.to_json(),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Results:
        """Parse and check a results object; a stored summary must match the one recomputed from
        its runs. Raises ``ResultsError`` naming the key path of the first problem."""
        required = ("split", "preset", "seeds", "summary", "runs", "config_sha256", "wall_s")
        obj = expect_object(obj, "", required, ("summary_extra", "meta"))
        _check_summary_shape(obj["summary"])
        if obj.get("summary_extra") is not None:
            expect_mapping(obj["summary_extra"], "summary_extra")
        results = cls(
            split=expect_str(obj["split"], "split"),
            preset=expect_str(obj["preset"], "preset"),
            seeds=tuple(expect_list(obj["seeds"], "seeds", expect_int)),
            runs=tuple(expect_list(obj["runs"], "runs", MethodRun.from_json)),
            config_sha256=expect_str(obj["config_sha256"], "config_sha256"),
            wall_s=expect_number(obj["wall_s"], "wall_s"),
            meta=Meta.from_json(obj["meta"]) if obj.get("meta") is not None else Meta.unknown(),
        )
        _same_json(summary_to_json(results.summary), obj["summary"], "summary")
        if obj.get("summary_extra") is not None:
            _same_json(summary_extra_to_json(results.summary_extra), obj["summary_extra"], "summary_extra")
        return results


def _check_summary_shape(obj: Any) -> None:
    """Types in ``summary`` (numbers where numbers belong), checked before its values are compared
    with the runs, so a malformed entry is reported as such."""
    for method, entry in expect_mapping(obj, "summary").items():
        path = child("summary", method)
        check_method(method, path)
        entry = expect_object(entry, path, ("id", "ood"))
        for split in ("id", "ood"):
            for concept, stat in expect_mapping(entry[split], child(path, split)).items():
                p = child(child(path, split), concept)
                stat = expect_object(stat, p, ("mean", "std"))
                expect_number(stat["mean"], child(p, "mean"), 0.0, 1.0)
                expect_number(stat["std"], child(p, "std"), 0.0)


def _same_json(expected: Any, actual: Any, path: str) -> None:
    """``actual`` equals ``expected`` key for key, numbers up to float rounding."""
    if isinstance(expected, dict):
        actual = expect_mapping(actual, path)
        for key in expected:
            if key not in actual:
                raise ResultsError(child(path, key), "missing: the runs have it")
            _same_json(expected[key], actual[key], child(path, key))
        for key in actual:
            if key not in expected:
                raise ResultsError(child(path, key), "unexpected: no run has it")
    elif isinstance(expected, (int, float)) and not isinstance(expected, bool):
        value = expect_number(actual, path)
        if not math.isclose(value, expected, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE):
            raise ResultsError(path, f"{value} disagrees with {expected} computed from the runs")
    elif actual != expected:
        raise ResultsError(path, f"{actual!r} disagrees with {expected!r} computed from the runs")


def validate_results(obj: Any) -> None:
    """Raise ``ResultsError`` (a ValueError) naming the key path of the first way ``obj`` differs
    from the results.json shape, or a summary that disagrees with its runs."""
    Results.from_json(obj)


def write_results(results: Results, path: str | Path) -> Path:
    """Write results.json atomically (a reader never sees half a file)."""
    text = json.dumps(results.to_json(), indent=2, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def load_results(path: str | Path) -> Results:
    """Read and check a results.json; errors name the file and the key path."""
    path = Path(path)
    try:
        return Results.from_json(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as e:
        raise ResultsError("", f"{path} is not JSON: {e}") from None
    except ResultsError as e:
        raise ResultsError(e.path, f"{e.message} (in {path})") from None
