"""``genperc sweep-data``: OOD accuracy of every method vs the number of ID training images.

Each size is a full reproduction (``OUT/n_<size>/``) on its own dataset
(``OUT/data/n_<size>/<split>``); the ID validation and test sets are the same for every size,
because each split's latents come from their own seeded stream. The sweep writes ``sweep.json``,
``sweep.md`` and ``data_efficiency.png`` in OUT.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from genperc import report
from genperc.experiment.reproduce import ReproduceError, reproduce_split, resolve


def sweep_data(preset: str | None, file: Path | None, overrides: list[str], split: str, sizes: list[int],
               seeds: list[int], out: Path, heldout: list | None = None, progress: bool = True) -> report.SweepResults:
    if split == "all":
        raise ReproduceError("sweep-data runs one split at a time; pass --split background|texture|object")
    if not sizes or any(n < 1 for n in sizes) or len(set(sizes)) != len(sizes):
        raise ReproduceError(f"--sizes must be distinct positive numbers of images, got {sizes}")
    base = resolve(preset, file, overrides, split, heldout)  # checked before any work
    t0 = time.perf_counter()
    points = {}
    for n in sorted(sizes):
        cfg = replace(base, data=replace(base.data, n_train=n))
        outcome = reproduce_split(cfg, preset or "custom", seeds, out / f"n_{n}", out / "data" / f"n_{n}", progress)
        points[n] = outcome.results
    sweep = report.SweepResults(split, preset or "custom", tuple(seeds), points, time.perf_counter() - t0,
                                points[sorted(sizes)[0]].meta)
    report.write_sweep(sweep, out / "sweep.json")
    report.write_sweep_markdown(sweep, out / "sweep.md")
    report.plot_data_efficiency(sweep, out / "data_efficiency.png")
    return sweep
