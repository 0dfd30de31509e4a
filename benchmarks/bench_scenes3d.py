"""Throughput of the Mitsuba scene renderer: parameter-update (template) path vs a fresh scene per image.

    python benchmarks/bench_scenes3d.py [--res 64 --spp 16 --n 50] [--variant llvm_ad_rgb] [--threads 1]

Renders random two-object scenes (image + mask each) at the given setting and at the quick
32 x 32 @ 8 spp setting, and prints images/s. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from genperc.data.scenes3d import (
    BACKGROUNDS, CATEGORIES, MIN_SEPARATION_X, TEXTURES, ObjectParams, SceneParams, Scenes3DRenderer,
)


def random_scenes(n: int, seed: int = 0) -> list[SceneParams]:
    """Two objects on opposite sides (never occluding), all other latents uniform."""
    rng = np.random.default_rng(seed)

    def obj(x: float) -> ObjectParams:
        return ObjectParams(int(rng.integers(len(CATEGORIES))), int(rng.integers(len(TEXTURES))), float(rng.random()),
                            x, float(rng.random()), float(rng.random()), float(rng.random()))

    span = (1.0 - MIN_SEPARATION_X) / 2
    return [SceneParams((obj(span * float(rng.random())), obj(1.0 - span * float(rng.random()))),
                        int(rng.integers(len(BACKGROUNDS))), float(rng.random()), float(rng.random()))
            for _ in range(n)]


def images_per_second(render, scenes: list[SceneParams]) -> float:
    start = time.perf_counter()
    for i, scene in enumerate(scenes):
        render(scene, i)
    return len(scenes) / (time.perf_counter() - start)


def bench(res: int, spp: int, n: int, n_fresh: int, variant: str | None, threads: int | None) -> None:
    start = time.perf_counter()
    renderer = Scenes3DRenderer(res=res, spp=spp, max_objects=2, variant=variant, threads=threads)
    built = time.perf_counter() - start
    scenes = random_scenes(n + 3)
    start = time.perf_counter()
    renderer.render(scenes[0], 0)  # compiles the kernels
    first = time.perf_counter() - start
    for i, scene in enumerate(scenes[1:3]):
        renderer.render(scene, i)
    template = images_per_second(renderer.render, scenes[3:])
    fresh = images_per_second(renderer.render_fresh, scenes[3:3 + n_fresh])
    print(f"{res}x{res} @ {spp} spp, {renderer.variant}: setup {built:.2f} s, first image {first:.2f} s; "
          f"template {template:.1f} img/s ({1000 / template:.1f} ms), fresh scene {fresh:.1f} img/s "
          f"({1000 / fresh:.0f} ms); ratio {template / fresh:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--res", type=int, default=64)
    parser.add_argument("--spp", type=int, default=16)
    parser.add_argument("--n", type=int, default=50, help="images per template-path measurement")
    parser.add_argument("--n-fresh", type=int, default=10, help="images per fresh-scene measurement")
    parser.add_argument("--variant", default=None, help="Mitsuba variant (default: the fastest that works)")
    parser.add_argument("--threads", type=int, default=None, help="Dr.Jit threads (default: all cores)")
    args = parser.parse_args()
    for res, spp in dict.fromkeys([(args.res, args.spp), (32, 8)]):
        bench(res, spp, args.n, args.n_fresh, args.variant, args.threads)


if __name__ == "__main__":
    main()
