"""The data-efficiency sweep: one ``Results`` per number of ID training images (``sweep.json``),
its table (OOD joint accuracy per method × size) and its plot (accuracy vs training images).

``sweep.json``::

    {"split": str, "preset": str, "seeds": [int], "wall_s": float,
     "points": [{"n_train": int, "results": {...a results.json object...}}, ...],   # ascending n_train
     "meta": {...}}                                                                 # optional
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from genperc.report.figures import save_figure
from genperc.report.files import atomic_write_text
from genperc.report.jsonshape import (
    ResultsError,
    child,
    expect_int,
    expect_list,
    expect_number,
    expect_object,
    expect_str,
)
from genperc.report.meta import Meta
from genperc.report.results import Results
from genperc.report.runs import GENERATIVE, JOINT, METHODS
from genperc.report.summary import Stat
from genperc.report.tables import Column, Table, duration, pct

# one colour per method across every sweep plot: cool for non-generative, warm for generative
METHOD_COLOURS = {
    "supervised": "#7f7f7f",
    "encoder": "#1f77b4",
    "replay-augmentation": "#17becf",
    "replay": "#ff7f0e",
    "search": "#d62728",
    "replay+search": "#9467bd",
}


@dataclass(frozen=True)
class SweepResults:
    """``points[n]``: the results of training on ``n`` ID images, for the same split, preset and
    seeds at every size."""

    split: str
    preset: str
    seeds: tuple[int, ...]
    points: dict[int, Results]
    wall_s: float
    meta: Meta = field(default_factory=Meta)

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(expect_int(s, child("seeds", i)) for i, s in enumerate(self.seeds)))
        object.__setattr__(self, "points", dict(sorted(self.points.items())))
        object.__setattr__(self, "wall_s", expect_number(self.wall_s, "wall_s", 0.0))
        if not self.points:
            raise ResultsError("points", "a sweep needs at least one size")
        for i, (n, results) in enumerate(self.points.items()):
            path = child(child("points", i), "n_train")
            if expect_int(n, path) <= 0:
                raise ResultsError(path, f"the number of training images must be positive, got {n}")
            for name in ("split", "preset", "seeds"):
                if getattr(results, name) != getattr(self, name):
                    raise ResultsError(
                        child(child(child("points", i), "results"), name),
                        f"{getattr(results, name)!r} differs from the sweep's {getattr(self, name)!r}",
                    )

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(self.points)

    @property
    def methods(self) -> tuple[str, ...]:
        """Methods with runs at any size, in ``METHODS`` order."""
        present = {m for r in self.points.values() for m in r.methods}
        return tuple(m for m in METHODS if m in present)

    def joint(self, method: str, split: str = "ood") -> list[Stat | None]:
        """Joint accuracy of ``method`` per size (``split`` "id" or "ood"); None where it did not run."""
        out = []
        for r in self.points.values():
            s = r.summary.get(method)
            out.append(None if s is None else getattr(s, split)[JOINT])
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "preset": self.preset,
            "seeds": list(self.seeds),
            "wall_s": self.wall_s,
            "points": [{"n_train": n, "results": r.to_json()} for n, r in self.points.items()],
            "meta": self.meta.to_json(),
        }

    @classmethod
    def from_json(cls, obj: Any) -> SweepResults:
        """Parse and check a sweep object; errors name the key path (``points[1].results.runs[0]...``)."""
        obj = expect_object(obj, "", ("split", "preset", "seeds", "wall_s", "points"), ("meta",))

        def point(value: Any, path: str) -> tuple[int, Results]:
            value = expect_object(value, path, ("n_train", "results"))
            try:
                results = Results.from_json(value["results"])
            except ResultsError as e:
                raise e.under(child(path, "results")) from None
            return expect_int(value["n_train"], child(path, "n_train")), results

        points = expect_list(obj["points"], "points", point)
        sizes = [n for n, _ in points]
        for i in range(1, len(sizes)):
            if sizes[i] <= sizes[i - 1]:
                raise ResultsError(child(child("points", i), "n_train"), "sizes must be listed in ascending order, once each")
        return cls(
            split=expect_str(obj["split"], "split"),
            preset=expect_str(obj["preset"], "preset"),
            seeds=tuple(expect_list(obj["seeds"], "seeds", expect_int)),
            points=dict(points),
            wall_s=expect_number(obj["wall_s"], "wall_s"),
            meta=Meta.from_json(obj["meta"]) if obj.get("meta") is not None else Meta.unknown(),
        )


def validate_sweep(obj: Any) -> None:
    """Raise ``ResultsError`` naming the key path where ``obj`` is not a sweep.json object."""
    SweepResults.from_json(obj)


def write_sweep(sweep: SweepResults, path: str | Path) -> Path:
    """Write sweep.json atomically."""
    return atomic_write_text(path, json.dumps(sweep.to_json(), indent=2, allow_nan=False) + "\n")


def load_sweep(path: str | Path) -> SweepResults:
    path = Path(path)
    try:
        return SweepResults.from_json(json.loads(path.read_text(encoding="utf-8")))
    except json.JSONDecodeError as e:
        raise ResultsError("", f"{path} is not JSON: {e}") from None
    except ResultsError as e:
        raise ResultsError(e.path, f"{e.message} (in {path})") from None


def sweep_table(sweep: SweepResults) -> Table:
    """Rows: methods; columns: OOD joint accuracy (%) per number of ID training images, the best
    method at each size emphasised."""
    columns = (Column("method", numeric=False), *(Column(f"{n:,}", "ID training images") for n in sweep.sizes))
    rows, emphasis = [], set()
    stats = {m: sweep.joint(m) for m in sweep.methods}
    for c in range(len(sweep.sizes)):
        ranked = [(s[c].mean, r) for r, s in enumerate(stats.values()) if s[c] is not None]
        if len(ranked) > 1:
            emphasis.add((max(ranked)[1], c + 1))
    for m, s in stats.items():
        rows.append((m, *(pct(x) for x in s)))
    return Table(columns, tuple(rows), frozenset(emphasis))


def sweep_markdown(sweep: SweepResults) -> str:
    seeds = ", ".join(map(str, sweep.seeds))
    return (
        f"# genperc data-efficiency sweep: split {sweep.split}, preset {sweep.preset}, seeds {seeds} "
        f"(n = {len(sweep.seeds)}), wall time {duration(sweep.wall_s)}\n\n"
        "OOD joint accuracy in %, mean ± sample std over seeds (ddof = 1; ± 0.0 with one seed), per number "
        "of ID training images.\n\n" + sweep_table(sweep).to_markdown() + "\n"
    )


def write_sweep_markdown(sweep: SweepResults, path: str | Path) -> Path:
    """Write sweep.md atomically."""
    return atomic_write_text(path, sweep_markdown(sweep))


def plot_data_efficiency(sweep: SweepResults, path: str | Path) -> Path:
    """Joint accuracy vs number of ID training images (log x), one colour per method: OOD solid
    with a ± std band over seeds, ID dashed."""
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    sizes = np.asarray(sweep.sizes, dtype=np.float64)
    for method in sweep.methods:
        colour = METHOD_COLOURS[method]
        for split, style in (("ood", "-"), ("id", "--")):
            stats = sweep.joint(method, split)
            have = np.array([s is not None for s in stats])
            mean = 100 * np.array([s.mean for s in stats if s is not None])
            std = 100 * np.array([s.std for s in stats if s is not None])
            if split == "ood":
                marker = "o" if method in GENERATIVE else "s"
                ax.plot(sizes[have], mean, style, color=colour, marker=marker, markersize=4, linewidth=1.6)
                ax.fill_between(sizes[have], mean - std, mean + std, color=colour, alpha=0.15, linewidth=0)
            else:  # thin and unmarked: ID lines bunch up near 100 %
                ax.plot(sizes[have], mean, style, color=colour, linewidth=1.0)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{int(n):,}" for n in sizes])
    ax.minorticks_off()
    ax.set_ylim(0, 102)
    ax.set_xlabel("ID training images")
    ax.set_ylabel("joint accuracy (%)")
    ax.grid(color="#e5e5e5", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    handles = [Line2D([], [], color=METHOD_COLOURS[m], marker="o" if m in GENERATIVE else "s", markersize=4, label=m)
               for m in sweep.methods]
    handles += [Line2D([], [], color="black", linestyle="-", label="OOD (± std)"),
                Line2D([], [], color="black", linestyle="--", linewidth=1.0, label="ID")]
    fig.legend(handles=handles, fontsize=8, frameon=False, loc="outside right upper")
    return save_figure(fig, path)
