"""Data engine throughput, measured in one run: sprites, scenes3d (template vs fresh scene), the
whole generation pipeline with its worker processes, and batch loading from a stored dataset.

    python benchmarks/bench_data.py [--n 200] [--skip-3d]

Timings are printed, never asserted (the machine is noisy); compare ratios within one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def sprites_rate(res: int, n: int) -> float:
    from genperc.data.sprites import SpriteParams, SpriteRenderer, SpriteScene

    rng = np.random.default_rng(0)
    r = SpriteRenderer(res)
    scenes = [SpriteScene(tuple(SpriteParams(int(rng.integers(8)), rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8),
                                             rng.uniform(0.2, 0.4), rng.random(), rng.random(), int(rng.integers(6)))
                                for _ in range(2)), background=int(rng.integers(1, 9)), background_hue=rng.random())
              for _ in range(n)]
    t0 = time.perf_counter()
    for s in scenes:
        r.render(s)
    return n / (time.perf_counter() - t0)


def pipeline_rate(renderer: str, res: int, spp: int, n: int, workers: int) -> float:
    from genperc.data.config import DataConfig
    from genperc.data.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        cfg = DataConfig(renderer=renderer, split="background", res=res, spp=spp, n_train=n, n_val=0, n_test=0,
                         workers=workers)
        result = generate(cfg, Path(tmp) / "d", progress=False)
    return result.rendered / result.wall_s


def loading_rate(res: int, n: int, batch: int) -> float:
    from genperc.data.config import DataConfig
    from genperc.data.dataset import SlotDataset
    from genperc.data.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(DataConfig(renderer="sprites", res=res, n_train=n, n_val=0, n_test=0, shard_size=500),
                 Path(tmp) / "d", progress=False)
        ds = SlotDataset(Path(tmp) / "d")
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        for _ in range(50):
            ds.batch(rng.choice(n, batch, replace=False))
        return 50 * batch / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="images per measurement")
    parser.add_argument("--skip-3d", action="store_true")
    args = parser.parse_args()
    rows = [("sprites renderer, 64², 2 objects + masks", sprites_rate(64, args.n * 5)),
            ("sprites renderer, 32²", sprites_rate(32, args.n * 5)),
            ("sprites generation pipeline (shards + checksums), 64²", pipeline_rate("sprites", 64, 1, args.n * 5, 1)),
            ("batch loading from memory-mapped shards, 32², batch 64", loading_rate(32, 4000, 64))]
    if not args.skip_3d:
        from bench_scenes3d import bench

        print("scenes3d renderer, one process (template = one compiled scene updated per image):")
        bench(64, 16, args.n // 4, 10, None, None)
        bench(32, 8, args.n // 2, 10, None, None)
        rows += [("scenes3d pipeline, 32² @ 8 spp, 2 workers", pipeline_rate("scenes3d", 32, 8, args.n, 2)),
                 ("scenes3d pipeline, 64² @ 16 spp, 2 workers", pipeline_rate("scenes3d", 64, 16, args.n // 2, 2))]
    width = max(len(r[0]) for r in rows)
    for name, rate in rows:
        print(f"{name:<{width}}  {rate:10.1f} img/s")


if __name__ == "__main__":
    main()
