"""The stages of one seed of a reproduction: train the VAE, run every method, save latents.

Each stage is skipped when its record says it finished with the same inputs (see ``stages``),
so an interrupted reproduction resumes; a killed VAE run resumes from its last checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from genperc import config as config_lib
from genperc.data.dataset import DatasetInfo
from genperc.experiment.config import ReproduceConfig
from genperc.experiment.stages import StageBook
from genperc.methods import (
    Latents,
    encode_split,
    replay_split,
    search_split,
    supervised_split,
    train_replay,
    train_supervised,
)
from genperc.training import checkpoint as ckpt
from genperc.training import load_run, resume_training, train
from genperc.training.train_vae import load_config

EVAL_SPLITS = ("test_id", "test_ood")


def key_of(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class SeedRun:
    """Where one seed's stages read and write."""

    cfg: ReproduceConfig
    split: str
    seed: int
    data: Path
    info: DatasetInfo
    root: Path  # the split's output directory (stage records live there)
    book: StageBook
    device: str
    progress: bool = True

    @property
    def dir(self) -> Path:
        return self.root / f"seed_{self.seed}"

    @property
    def vae(self) -> Path:
        return self.dir / "vae"

    def latents_path(self, method: str, split: str) -> Path:
        return self.dir / "latents" / f"{method.replace('+', '_')}_{split}.pt"

    def latents(self, method: str, split: str) -> Latents:
        return Latents.load(self.latents_path(method, split))

    def splits(self) -> list[str]:
        """Splits every method infers latents for: ID validation (for choosing settings without
        looking at OOD data), ID test and OOD test."""
        return (["val"] if self.info.manifest["counts"]["val"] else []) + list(EVAL_SPLITS)

    def say(self, msg: str) -> None:
        print(f"[{self.split} seed {self.seed}] {msg}", file=sys.stderr, flush=True)

    def stage(self, name: str, key: str, owned: list[Path], work: Callable[[], list[Path]]) -> str:
        """Run ``work`` unless the stage finished before with ``key``; returns the key."""
        full = f"seed_{self.seed}/{name}"
        if self.book.done(full, key) is not None:
            self.say(f"{name}: done before, skipped")
            return key
        self.book.forget(full, owned)
        self.say(f"{name} ...")
        t0 = time.perf_counter()
        outputs = work()
        rec = self.book.finish(full, key, outputs, t0)
        self.say(f"{name}: {rec.wall_s:.1f} s")
        return key


# --- stages ---------------------------------------------------------------------------------------


def train_vae(r: SeedRun) -> str:
    tcfg = replace(r.cfg.train, data=str(r.data), out=str(r.vae), seed=r.seed, progress=r.progress,
                   accelerator="cuda" if r.device == "cuda" else "cpu")
    key = key_of("vae", config_lib.to_dict(tcfg), r.info.manifest["shards"])

    def work() -> list[Path]:
        if (r.vae / "config.yaml").is_file() and ckpt.list_checkpoints(r.vae) and \
                config_lib.to_dict(load_config(r.vae)) == config_lib.to_dict(tcfg):
            resume_training(r.vae)  # killed part-way: continue from its checkpoint
        else:
            import shutil

            shutil.rmtree(r.vae, ignore_errors=True)
            train(tcfg)
        return [r.vae / "config.yaml", ckpt.latest(r.vae), r.vae / "summary.json"]

    return r.stage("vae", key, [], work)


def encoder_latents(r: SeedRun, vae_key: str) -> str:
    splits = ["train"] + [s for s in r.splits() if s != "train"]
    paths = [r.latents_path("encoder", s) for s in splits]

    def work() -> list[Path]:
        for s, path in zip(splits, paths):
            encode_split(r.vae, r.data, s, batch_size=r.cfg.eval.batch_size, device=r.device).save(path)
        return paths

    return r.stage("encoder", key_of("encoder", vae_key, splits), paths, work)


def supervised(r: SeedRun, method: str, vae_key: str) -> str:
    """``supervised`` or, with the VAE's recombinations mixed in, ``replay-augmentation``."""
    folder = r.dir / ("supervised" if method == "supervised" else "augmentation")
    scfg = replace(r.cfg.supervised, data=str(r.data), out=str(folder), seed=r.seed, device=r.device,
                   progress=r.progress, model=r.cfg.train.model,
                   augment_from=str(r.vae) if method == "replay-augmentation" else "")
    splits = r.splits()
    paths = [r.latents_path(method, s) for s in splits]
    upstream = vae_key if method == "replay-augmentation" else None
    key = key_of(method, config_lib.to_dict(scfg), upstream, r.info.manifest["shards"], splits)

    def work() -> list[Path]:
        train_supervised(scfg)
        for s, path in zip(splits, paths):
            supervised_split(folder, r.data, s, batch_size=r.cfg.eval.batch_size, device=r.device).save(path)
        return [folder / "summary.json", *paths]

    return r.stage(method, key, [folder, *paths], work)


def replay(r: SeedRun, vae_key: str) -> str:
    rcfg = replace(r.cfg.replay, data=str(r.data), seed=r.seed, device=r.device, progress=r.progress)
    splits = (["train"] if r.cfg.eval.readout_fit == "method" else []) + r.splits()
    paths = [r.latents_path("replay", s) for s in splits]

    def work() -> list[Path]:
        result = train_replay(r.vae, rcfg, overwrite=True)
        for s, path in zip(splits, paths):
            replay_split(r.vae, r.data, s, batch_size=r.cfg.eval.batch_size, device=r.device).save(path)
        return [result.replay_dir / "encoder.pt", result.replay_dir / "summary.json", *paths]

    return r.stage("replay", key_of("replay", vae_key, config_lib.to_dict(rcfg), splits), paths, work)


def search(r: SeedRun, method: str, upstream_key: str) -> str:
    """``search`` (from the VAE encoder) or ``replay+search`` (from the replay encoder)."""
    scfg = replace(r.cfg.search, init="encoder" if method == "search" else "replay", seed=r.seed, device=r.device)
    splits = r.splits()
    paths = [r.latents_path(method, s) for s in splits]
    fit_path = r.latents_path(method, "train")
    n_fit = r.cfg.eval.readout_fit_images if r.cfg.eval.readout_fit == "method" else 0

    def work() -> list[Path]:
        for s, path in zip(splits, paths):
            search_split(r.vae, r.data, s, scfg).save(path)
        if n_fit:
            search_split(r.vae, r.data, "train", scfg, limit=n_fit).save(fit_path)
        return paths + ([fit_path] if n_fit else [])

    key = key_of(method, upstream_key, config_lib.to_dict(scfg), splits, n_fit)
    return r.stage(method, key, paths + [fit_path], work)


def run_methods(r: SeedRun) -> dict[str, str]:
    """Every method of the split for this seed; returns the stage key of each (for evaluation)."""
    methods = r.cfg.methods_for(r.split)
    keys = {"vae": train_vae(r)}
    keys["encoder"] = encoder_latents(r, keys["vae"])
    if "supervised" in methods:
        keys["supervised"] = supervised(r, "supervised", keys["vae"])
    if {"replay", "replay+search"} & set(methods):
        keys["replay"] = replay(r, keys["vae"])
    if "search" in methods:
        keys["search"] = search(r, "search", keys["vae"])
    if "replay+search" in methods:
        keys["replay+search"] = search(r, "replay+search", keys["replay"])
    if "replay-augmentation" in methods:
        keys["replay-augmentation"] = supervised(r, "replay-augmentation", keys["vae"])
    return keys


def vae_model(r: SeedRun):
    return load_run(r.vae, device=r.device).model
