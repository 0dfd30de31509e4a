"""Dataset generation: validate, sample latents, render shards in parallel, write the manifest.

Everything a dataset holds is a function of its config: latents come from a generator seeded by
``(seed, split)``, each image's render noise from ``(seed, split, index)``. Hence

- an interrupted run, started again with the same command, skips the shards it finished (their
  receipts and checksums are checked) and ends byte-identical to an uninterrupted run;
- ``shard=(i, n)`` renders only every n-th shard, so n machines can share the work: copy the
  shard folders together and run once more without ``shard`` to write the manifest.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

import genperc
from genperc.config import to_dict
from genperc.data import store
from genperc.data.config import DataConfig
from genperc.data.factors import SpaceError
from genperc.data.splits import NO_SLOT, SplitSpec, build_split
from genperc.data.supports import Support, SupportError, make_support
from genperc.errors import UserError

SPLIT_IDS = {name: i for i, name in enumerate(store.SPLITS)}
CHUNK = 32  # images per task sent to a render worker


class DataConfigError(UserError, ValueError):
    """The data config cannot produce a dataset; raised before anything is rendered."""


class DatasetExistsError(UserError, FileExistsError):
    """The output directory already holds a dataset or other files."""


@dataclass
class Plan:
    cfg: DataConfig
    spec: SplitSpec
    support: Support
    variant: str

    def key(self) -> dict:
        """What must match for a partial dataset to be resumed (workers do not change the data)."""
        return {"config": to_dict(replace(self.cfg, workers=0)), "variant": self.variant,
                "genperc": genperc.__version__, "renderer_version": _renderer_version(self.cfg.renderer)}


@dataclass
class GenerateResult:
    root: Path
    complete: bool  # the manifest was written
    rendered: int  # images rendered by this call
    skipped_shards: int  # shards found finished and reused
    wall_s: float


def _renderer_version(renderer: str) -> str:
    if renderer == "scenes3d":
        import mitsuba

        return f"mitsuba {mitsuba.__version__}"
    return "numpy"


def plan(cfg: DataConfig) -> Plan:
    """Validate the config and build the split, support and renderer choice (cheap, no rendering)."""
    try:
        spec = build_split(cfg)
        support = make_support(spec.space, cfg.support, default=spec.default_support)
    except (SpaceError, SupportError) as e:
        raise DataConfigError(str(e)) from None
    if cfg.n_test > 0 and not support.has_ood:
        raise DataConfigError(f"support {support.name!r} has no OOD combinations, so test_ood cannot be drawn; "
                              "set n_test=0 or choose another support")
    variant = "numpy"
    if cfg.renderer == "scenes3d":
        from genperc.data.scenes3d import choose_variant

        try:
            variant = choose_variant(cfg.variant)
        except (ValueError, RuntimeError) as e:  # an unusable variant: say so before rendering
            raise DataConfigError(str(e)) from None
    return Plan(cfg, spec, support, variant)


def sample_latents(p: Plan, split: str) -> np.ndarray:
    """Unit coordinates (n, L) of ``split``: ID splits inside the support, test_ood outside."""
    n = p.cfg.counts()[split]
    rng = np.random.default_rng([p.cfg.seed, SPLIT_IDS[split]])
    ood = split == "test_ood"
    return p.support.sample(n, rng, ood=ood, keep=p.spec.ood_filter if ood else None)


def image_seed(seed: int, split: str, index: int) -> int:
    return int(np.random.SeedSequence([seed, SPLIT_IDS[split], index]).generate_state(1)[0] & 0x7FFFFFFF)


# --- render workers -------------------------------------------------------------------------------

_RENDERER: Any = None


def make_renderer(renderer: str, res: int, spp: int, variant: str, max_objects: int, threads: int | None = None) -> Any:
    if renderer == "scenes3d":
        from genperc.data.scenes3d import Scenes3DRenderer

        return Scenes3DRenderer(res=res, spp=spp, max_objects=max_objects, variant=variant, threads=threads)
    from genperc.data.sprites import SpriteRenderer

    return SpriteRenderer(res)


def _init_worker(*args: Any) -> None:
    global _RENDERER
    _RENDERER = make_renderer(*args)


def _render_chunk(task: tuple[str, int, int, list, list]) -> tuple[str, int, int, np.ndarray, np.ndarray]:
    split, shard, start, scenes, seeds = task
    out = [_RENDERER.render(scene, seed) for scene, seed in zip(scenes, seeds)]
    return split, shard, start, np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def matches(root: Path, p: Plan) -> bool:
    """True if ``root`` holds a complete dataset made from the same config (it is then reused)."""
    path = root / "manifest.json"
    if not path.is_file():
        return False
    try:
        m = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    key = p.key()
    return (m.get("config") == key["config"] and m.get("variant") == key["variant"]
            and m.get("renderer_version") == key["renderer_version"])


# --- directory handling ---------------------------------------------------------------------------

_OWNED = {"manifest.json", store.WORK, *store.SPLITS}


def prepare_dir(root: Path, key: dict, overwrite: bool) -> None:
    """Refuse to touch anything that is not ours; resume a matching partial dataset."""
    if root.exists() and not root.is_dir():
        raise DatasetExistsError(f"{root} exists and is not a directory")
    if root.is_dir():
        foreign = sorted(p.name for p in root.iterdir() if p.name not in _OWNED)
        if foreign:
            raise DatasetExistsError(f"{root} is not empty and not a genperc dataset (it holds {foreign[:3]}); "
                                     "choose a new or empty --out")
        work_plan = root / store.WORK / "plan.json"
        if (root / "manifest.json").exists() or (not work_plan.exists() and any(root.iterdir())):
            if not overwrite:
                raise DatasetExistsError(f"{root} already holds a dataset; pass --overwrite to replace it "
                                         "or choose another --out")
            _remove_dataset(root)
        elif work_plan.exists():
            if json.loads(work_plan.read_text()) != key:
                if not overwrite:
                    raise DatasetExistsError(
                        f"{root} holds an unfinished dataset generated with a different config; run the "
                        "original command to resume it, pass --overwrite to discard it, or choose another --out")
                _remove_dataset(root)
    (root / store.WORK).mkdir(parents=True, exist_ok=True)
    store.atomic_write_json(root / store.WORK / "plan.json", key)


def _remove_dataset(root: Path) -> None:
    for name in _OWNED:
        path = root / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _receipt(root: Path, split: str, index: int) -> Path:
    return root / store.WORK / f"{split}-{index:05d}.json"


def _shard_done(root: Path, split: str, index: int) -> dict | None:
    path = _receipt(root, split, index)
    if not path.is_file():
        return None
    rec = json.loads(path.read_text())
    for meta in rec["files"].values():
        f = root / meta["path"]
        if not f.is_file() or f.stat().st_size != meta["bytes"] or store.sha256_file(f) != meta["sha256"]:
            return None  # damaged after it was written: render it again
    return rec


# --- the pipeline ---------------------------------------------------------------------------------


def generate(cfg: DataConfig, out: str | Path, shard: tuple[int, int] | None = None, overwrite: bool = False,
             progress: bool = True) -> GenerateResult:
    t0 = time.perf_counter()
    root = Path(out)
    if shard is not None and not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
        raise DataConfigError(f"--shard {shard[0]}/{shard[1]}: expected i/n with 0 <= i < n")
    p = plan(cfg)
    if not overwrite and matches(root, p):  # the same command again: the dataset is already there
        return GenerateResult(root, True, 0, 0, time.perf_counter() - t0)
    prepare_dir(root, p.key(), overwrite)

    units = {split: sample_latents(p, split) for split in store.SPLITS}
    tasks, receipts, skipped = [], {}, 0
    global_index = 0
    for split in store.SPLITS:
        n = len(units[split])
        for index in range((n + cfg.shard_size - 1) // cfg.shard_size):
            mine = shard is None or global_index % shard[1] == shard[0]
            global_index += 1
            done = _shard_done(root, split, index)
            if done is not None:
                receipts[(split, index)] = done
                skipped += 1
            elif mine:
                lo, hi = index * cfg.shard_size, min(n, (index + 1) * cfg.shard_size)
                tasks.append((split, index, lo, hi))

    rendered = _render_shards(p, root, units, tasks, receipts, progress)
    n_shards = global_index
    complete = len(receipts) == n_shards
    if complete:
        _write_manifest(p, root, units, receipts)
    return GenerateResult(root, complete, rendered, skipped, time.perf_counter() - t0)


def _render_shards(p: Plan, root: Path, units: dict, tasks: list, receipts: dict, progress: bool) -> int:
    if not tasks:
        return 0
    from tqdm import tqdm

    cfg, spec = p.cfg, p.spec
    values = {split: spec.space.from_unit(u) for split, u in units.items()}
    chunks, buffers = [], {}
    for split, index, lo, hi in tasks:
        buffers[(split, index)] = {"images": [None] * (hi - lo), "masks": [None] * (hi - lo), "lo": lo,
                                   "left": hi - lo}
        for start in range(lo, hi, CHUNK):
            stop = min(hi, start + CHUNK)
            scenes = [spec.to_scene(values[split][i]) for i in range(start, stop)]
            seeds = [image_seed(cfg.seed, split, i) for i in range(start, stop)]
            chunks.append((split, index, start, scenes, seeds))
    total = sum(hi - lo for _, _, lo, hi in tasks)
    workers = cfg.workers or (min(2, mp.cpu_count()) if cfg.renderer == "scenes3d" else 1)
    workers = min(workers, len(chunks))
    # the JIT renderer spreads over all cores by default: split them between the processes
    threads = max(1, mp.cpu_count() // workers) if workers > 1 else None
    init = (cfg.renderer, cfg.res, cfg.spp, p.variant, len(spec.object_slots), threads)
    bar = tqdm(total=total, desc=f"render {cfg.renderer}/{cfg.split} {cfg.res}px", unit="img",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    if workers > 1:
        # fork where there is one: unlike spawn it does not re-import the caller's main module, so
        # generate() also works from scripts without a __main__ guard; the workers build their own
        # renderer, and the parent has rendered nothing it could hand down.
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        pool = mp.get_context(method).Pool(workers, initializer=_init_worker, initargs=init)
        results = pool.imap_unordered(_render_chunk, chunks)
    else:
        pool = None
        _init_worker(*init)
        results = map(_render_chunk, chunks)
    try:
        for split, index, start, images, masks in results:
            buf = buffers[(split, index)]
            for j in range(len(images)):
                buf["images"][start - buf["lo"] + j] = images[j]
                buf["masks"][start - buf["lo"] + j] = masks[j]
            buf["left"] -= len(images)
            bar.update(len(images))
            if buf["left"] == 0:
                receipts[(split, index)] = _write_shard(p, root, split, index, buf, units[split], values[split])
                del buffers[(split, index)]
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    return total


def _write_shard(p: Plan, root: Path, split: str, index: int, buf: dict, unit: np.ndarray,
                 values: np.ndarray) -> dict:
    lo = buf["lo"]
    hi = lo + len(buf["images"])
    masks = p.spec.mask_labels(np.stack(buf["masks"]))
    arrays = {
        "images": np.stack(buf["images"]).astype(np.uint8),
        "masks": masks.astype(np.uint8),
        "latents": values[lo:hi].astype(np.float32),
        "unit": unit[lo:hi].astype(np.float64),
        "labels": p.spec.space.labels(values[lo:hi]).astype(np.int16),
    }
    files = {}
    for name, arr in arrays.items():
        path = store.array_path(root, split, index, name)
        files[name] = {"path": str(path.relative_to(root)), **store.atomic_save_npy(path, arr)}
    rec = {"split": split, "index": index, "n": hi - lo, "files": files}
    store.atomic_write_json(_receipt(root, split, index), rec)  # last: marks the shard finished
    return rec


def _write_manifest(p: Plan, root: Path, units: dict, receipts: dict) -> None:
    cfg, spec = p.cfg, p.spec
    shards = {split: [{"index": i, "n": receipts[(split, i)]["n"], "files": receipts[(split, i)]["files"]}
                      for (s, i) in sorted(receipts) if s == split] for split in store.SPLITS}
    manifest = {
        "format": store.FORMAT,
        "genperc_version": genperc.__version__,
        "git_commit": store.git_commit(),
        "config": to_dict(replace(cfg, workers=0)),
        "seed": cfg.seed,
        "renderer": cfg.renderer,
        "renderer_version": _renderer_version(cfg.renderer),
        "variant": p.variant,
        "split": cfg.split,
        "res": cfg.res,
        "space": spec.space.to_json(),
        "concepts": [{"name": c.name, "slot": c.slot, "values": list(c.values)} for c in spec.space.concepts],
        "object_slots": list(spec.object_slots),
        "background_slot": spec.background_slot,
        "no_slot_label": NO_SLOT,
        "support": p.support.describe(),
        "counts": {split: int(len(units[split])) for split in store.SPLITS},
        "shards": shards,
    }
    store.atomic_write_json(root / "manifest.json", manifest)
    shutil.rmtree(root / store.WORK, ignore_errors=True)
