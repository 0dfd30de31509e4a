"""Replay: train an encoder on decoded recombinations of ID slots to recover those slots.

    result = train_replay(RUN, ReplayConfig(data=DATA))    # writes RUN/replay/
    lat = replay_split(RUN, DATA, "test_ood")               # method "replay"

The bank is the VAE encoder's posterior means of the ID training images. Every step draws
recombinations z̃ from it (``SlotRecombiner``), decodes them with the frozen decoder (no
gradient) into x̃ and trains the encoder — a copy of the VAE encoder (``init=vae``) or a fresh
one of the same architecture — on ``matched_mse(encoder(x̃), z̃)``, the Hungarian-matched L2.
Optionally a fraction of each batch is real ID images with their bank latents as targets.

Decoded images are made on the fly (``cache=none``: nothing is kept) or once into shards under
``RUN/replay/cache/<key>/`` (``cache=disk``), which later replay runs with the same decoder and
sampler reuse; training then streams the shards one at a time. Cached images are stored as the
dataset stores real ones (clamped to [0, 1], uint8), so the encoder sees the quantisation of
real data.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from genperc import config as config_lib
from genperc.data.dataset import SlotDataset
from genperc.eval import fit_readout, matched_mse
from genperc.methods.common import (
    REPLAY_DIR,
    MethodError,
    check_data,
    check_split,
    check_vae_run,
    eval_mode,
    module_device,
    resolve_device,
)
from genperc.methods.encode import encode_dataset
from genperc.methods.latents import Latents
from genperc.methods.recombine import RecombineConfig, SlotRecombiner, concept_slots_from_readout
from genperc.methods.slot_encoder_net import SlotEncoderNet
from genperc.models import ModelConfig, SlotVAE
from genperc.training import checkpoint as ckpt
from genperc.training.logs import MetricsLog

ENCODER_FILE = "encoder.pt"


@dataclass
class ReplayConfig:
    data: str = ""  # dataset directory; its train split (ID) is the bank of slots
    steps: int = 2000
    batch_size: int = 64
    lr: float = 5e-4
    lr_warmup_steps: int = 100  # linear warm-up from 0, then constant
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max gradient norm; 0 = off
    init: Literal["vae", "fresh"] = "vae"  # fine-tune the VAE encoder, or train a new one of its architecture
    sampler: RecombineConfig = field(default_factory=RecombineConfig)
    readout: Literal["logreg", "mlp"] = "logreg"  # novel_only: the ID readout deciding which slot carries what
    real_fraction: float = 0.0  # share of each batch that is real ID images (targets: their bank latents)
    clamp: bool = True  # clip decoded images to [0, 1], the range of real images
    cache: Literal["none", "disk"] = "none"
    cache_images: int = 10000  # cache=disk: decoded recombinations stored (training cycles over them)
    shard_size: int = 1000  # cache=disk: images per shard file
    encode_batch_size: int = 256
    log_every: int = 50
    seed: int = 0
    device: str = "cpu"  # auto, cpu or cuda
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "cache_images", "shard_size", "encode_batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.real_fraction < 1.0:
            raise ValueError(f"real_fraction must lie in [0, 1), got {self.real_fraction}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass
class ReplayFit:
    encoder: SlotEncoderNet
    losses: np.ndarray  # (steps,) training loss of every step
    train_s: float


@dataclass
class ReplayResult:
    replay_dir: Path
    steps: int
    final_loss: float  # mean training loss of the last logging window
    train_s: float


@torch.no_grad()
def decode_images(model: SlotVAE, z: Tensor, clamp: bool) -> Tensor:
    with eval_mode(model):
        images = model.decode(z).image
    return images.clamp(0, 1) if clamp else images


class LiveRecombinations:
    """Fresh recombinations decoded at every call: nothing is stored."""

    def __init__(self, model: SlotVAE, sampler: SlotRecombiner, clamp: bool) -> None:
        self.model, self.sampler, self.clamp = model, sampler, clamp

    def next(self, n: int) -> tuple[Tensor, Tensor]:
        z = self.sampler.sample(n).z
        return decode_images(self.model, z, self.clamp), z


def build_cache(folder: Path, key: dict, model: SlotVAE, sampler: SlotRecombiner, cfg: ReplayConfig) -> None:
    """Decode ``cfg.cache_images`` recombinations into shards; ``key.json``, written last, marks
    the cache complete and says what made it."""
    if folder.exists():
        shutil.rmtree(folder)  # an unfinished cache (no key.json): start it again
    done = 0
    while done < cfg.cache_images:
        n = min(cfg.shard_size, cfg.cache_images - done)
        z = sampler.sample(n).z
        images = decode_images(model, z, clamp=True).mul(255).round().to(torch.uint8)
        ckpt.save(folder / f"shard-{done // cfg.shard_size:05d}.pt", {"images": images.cpu(), "z": z.cpu()})
        done += n
    (folder / "key.json").write_text(json.dumps(key, indent=1) + "\n")


class CachedRecombinations:
    """Batches streamed from cache shards, one shard in memory; shards and their images are
    visited in a fresh seeded order every pass."""

    def __init__(self, folder: Path, device: torch.device, seed: int) -> None:
        self.shards = sorted(folder.glob("shard-*.pt"))
        self.device = device
        self.rng = np.random.default_rng(seed)
        self.order: list[Path] = []
        self.images = torch.empty(0, dtype=torch.uint8)
        self.z = torch.empty(0)

    def _load_next_shard(self) -> None:
        if not self.order:
            self.order = [self.shards[i] for i in self.rng.permutation(len(self.shards))]
        state = ckpt.load(self.order.pop())
        perm = torch.from_numpy(self.rng.permutation(len(state["z"])))
        self.images = torch.cat([self.images, state["images"][perm]])
        self.z = torch.cat([self.z, state["z"][perm]])

    def next(self, n: int) -> tuple[Tensor, Tensor]:
        while len(self.z) < n:
            self._load_next_shard()
        images, z = self.images[:n], self.z[:n]
        self.images, self.z = self.images[n:], self.z[n:]
        return images.to(self.device).float().div_(255.0), z.to(self.device)


def fit_replay_encoder(bank: Tensor, encoder: SlotEncoderNet, cfg: ReplayConfig,
                       source: LiveRecombinations | CachedRecombinations,
                       real_images: Tensor | None = None, log: MetricsLog | None = None) -> ReplayFit:
    """The training loop. ``bank`` (N, K, D): ID slots (targets of real images); ``real_images``
    (N, 3, H, W) uint8: the matching ID images, needed when ``cfg.real_fraction`` > 0."""
    from tqdm import tqdm

    n_real = round(cfg.batch_size * cfg.real_fraction)
    if n_real and (real_images is None or len(real_images) != len(bank)):
        raise ValueError("real_fraction > 0 needs the ID images the bank was encoded from")
    device = module_device(encoder)
    rng = torch.Generator().manual_seed(cfg.seed + 1)
    params = [p for p in encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    losses = np.empty(cfg.steps)
    train_s, window_t, window = 0.0, 0.0, []
    encoder.train()
    bar = tqdm(total=cfg.steps, desc="replay", unit="step", disable=not cfg.progress, file=sys.stderr,
               dynamic_ncols=True)
    try:
        for step in range(cfg.steps):
            t0 = time.perf_counter()
            for group in opt.param_groups:
                group["lr"] = cfg.lr * min(1.0, (step + 1) / max(1, cfg.lr_warmup_steps))
            images, targets = source.next(cfg.batch_size - n_real)
            if n_real:
                idx = torch.randint(len(bank), (n_real,), generator=rng).to(real_images.device)
                images = torch.cat([images, real_images[idx].to(device).float().div_(255.0)])
                targets = torch.cat([targets, bank[idx.to(bank.device)].to(device)])
            loss = matched_mse(encoder.encode(images).mu, targets)
            if not torch.isfinite(loss):
                raise MethodError(f"non-finite replay loss at step {step}; lower lr (now {cfg.lr})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            dt = time.perf_counter() - t0
            train_s += dt
            window_t += dt
            losses[step] = loss.item()
            window.append(losses[step])
            bar.update(1)
            if log is not None and ((step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps):
                log.log({"step": step + 1, "loss": float(np.mean(window)), "lr": opt.param_groups[0]["lr"],
                         "img_per_s": len(window) * cfg.batch_size / max(window_t, 1e-9)})
                bar.set_postfix(loss=f"{np.mean(window):.4f}")
                window, window_t = [], 0.0
    finally:
        bar.close()
    encoder.eval()
    return ReplayFit(encoder=encoder, losses=losses, train_s=train_s)


def replay_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / REPLAY_DIR


def check_replay_trained(run_dir: str | Path) -> Path:
    path = replay_dir(run_dir) / ENCODER_FILE
    if not path.is_file():
        raise MethodError(f"{run_dir} has no replay encoder yet ({path} missing); train it with "
                          f"`genperc replay {run_dir} --data DIR`")
    return path


def load_replay_encoder(run_dir: str | Path, device: str | torch.device = "cpu") -> SlotEncoderNet:
    state = ckpt.load(check_replay_trained(run_dir), map_location=device)
    net = SlotEncoderNet(config_lib.from_dict(ModelConfig, state["model_config"])).to(device)
    net.load_state_dict(state["model"])
    return net.eval()


def train_replay(run_dir: str | Path, cfg: ReplayConfig, overwrite: bool = False) -> ReplayResult:
    """Train the replay encoder of a VAE run and save it (config, logs, checkpoint) in RUN/replay/."""
    from genperc.training import load_run

    run = check_vae_run(run_dir)
    out = replay_dir(run)
    if (out / ENCODER_FILE).exists() and not overwrite:
        raise MethodError(f"{out / ENCODER_FILE} already exists; pass --overwrite to train it again")
    device = resolve_device(cfg.device)
    loaded = load_run(run, device=device)
    model = loaded.model
    info = check_data(cfg.data, model.cfg.res)
    train_set = SlotDataset(cfg.data, "train")
    if len(train_set) < model.cfg.n_slots:
        raise MethodError(f"{cfg.data} has {len(train_set)} training images, fewer than the {model.cfg.n_slots} slots")

    # a retrained encoder logs afresh, and a failed retraining leaves no stale encoder behind
    for stale in (ENCODER_FILE, "metrics.jsonl", "metrics.csv", "summary.json"):
        (out / stale).unlink(missing_ok=True)
    shutil.rmtree(out / "tb", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    config_lib.save(cfg, out / "config.yaml")
    print(f"# replay config ({out})\n" + config_lib.dump_yaml(cfg), end="", file=sys.stderr)

    bank_latents = encode_dataset(model, train_set, "encoder", cfg.encode_batch_size)
    bank = torch.from_numpy(bank_latents.mu).to(device)
    concept_slots = None
    if cfg.sampler.mode == "novel_only":
        readout = fit_readout(bank_latents.mu, bank_latents.labels, info.concept_names,
                              [c.slot for c in info.concepts], model=cfg.readout, seed=cfg.seed)
        concept_slots = concept_slots_from_readout(readout)
    sampler = SlotRecombiner(bank, cfg.sampler, seed=cfg.seed, labels=bank_latents.labels,
                             concept_slots=concept_slots)

    source: LiveRecombinations | CachedRecombinations = LiveRecombinations(model, sampler, cfg.clamp)
    cache_key = None
    if cfg.cache == "disk":
        cache_key = {"vae_step": loaded.step, "vae_config": config_lib.sha256(loaded.cfg), "data": str(cfg.data),
                     "sampler": config_lib.to_dict(cfg.sampler), "concept_slots": concept_slots,
                     "seed": cfg.seed, "images": cfg.cache_images, "shard_size": cfg.shard_size}
        folder = out / "cache" / hashlib.sha256(json.dumps(cache_key, sort_keys=True).encode()).hexdigest()[:12]
        if not (folder / "key.json").is_file():
            build_cache(folder, cache_key, model, sampler, cfg)
        source = CachedRecombinations(folder, device, cfg.seed)

    torch.manual_seed(cfg.seed)  # the fresh encoder's initial weights
    encoder = SlotEncoderNet.from_vae(model) if cfg.init == "vae" else SlotEncoderNet(model.cfg).to(device)
    real = train_set.images_uint8().to(device) if cfg.real_fraction > 0 else None
    log = MetricsLog(out, "metrics")
    try:
        fit = fit_replay_encoder(bank, encoder, cfg, source, real_images=real, log=log)
    finally:
        log.close()
    ckpt.save(out / ENCODER_FILE, {"model": fit.encoder.state_dict(), "model_config": config_lib.to_dict(model.cfg),
                                   "step": cfg.steps, "vae_step": loaded.step,
                                   "config_sha256": config_lib.sha256(cfg)})
    final = float(fit.losses[-min(cfg.log_every, cfg.steps):].mean())
    summary = {"steps": cfg.steps, "final_loss": final, "train_s": fit.train_s, "vae_step": loaded.step,
               "bank_images": len(bank), "cache": cache_key}
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return ReplayResult(replay_dir=out, steps=cfg.steps, final_loss=final, train_s=fit.train_s)


def replay_split(run_dir: str | Path, data_dir: str | Path, split: str, batch_size: int = 256,
                 device: str = "cpu") -> Latents:
    """Latents of a split under the run's trained replay encoder (method ``replay``)."""
    check_split(split)
    run = check_vae_run(run_dir)
    encoder = load_replay_encoder(run, device=resolve_device(device))
    check_data(data_dir, encoder.cfg.res)
    meta = {"run": str(run), "data": str(data_dir), "batch_size": batch_size,
            "replay_config": config_lib.to_dict(config_lib.load(ReplayConfig, file=replay_dir(run) / "config.yaml"))}
    return encode_dataset(encoder, SlotDataset(data_dir, split), "replay", batch_size, meta)
