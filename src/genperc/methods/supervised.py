"""The supervised non-generative encoder, and the replay-augmentation control.

    result = train_supervised(SupervisedConfig(data=DATA, out=RUN))                  # "supervised"
    result = train_supervised(SupervisedConfig(data=DATA, out=RUN2, augment_from=VAE_RUN))
    lat = supervised_split(RUN, DATA, "test_ood")       # lat.pred: its own labels, lat.mu: slot features

The network is the VAE's base + slot encoder (``SlotEncoderNet``) with one linear head per
concept applied to every slot's posterior mean. Which slot answers for which ground-truth slot:

* ``matching=hungarian`` (default). Training: per image, the cost of reading ground-truth slot g
  from inferred slot k is the summed cross-entropy of g's concepts on k's heads; ground-truth
  slots get distinct inferred slots by the minimum-cost assignment, and the loss is that cost.
  A slot-type head learns, from these matches, which ground-truth slot (or none) each inferred
  slot shows. Test: no labels, so the same assignment on the slot-type head (cost = −log p(g)).
  Not on the concept heads' confidence: heads of a slot never matched to g were never trained
  on g and may be confidently wrong. It adapts to any slot order the encoder settles on.
* ``matching=fixed``: ground-truth slot g is always read from inferred slot g (in sorted order of
  the ground-truth slot ids), in training and test. Sound because the slot encoders start from
  learned per-slot initial values, so slot k can specialise; no test-time decision is made.

The **replay-augmentation control** (``augment_from=VAE_RUN``): a share ``augment_fraction`` of
each batch is decoded recombinations of that VAE's ID slots, labelled by a slot-wise readout
fitted on the VAE encoder's ID latents and applied to the sampled slots (or by a given
``label_fn``). Same network, same
loss, more (generated) data: it separates the benefit of inverting the decoder from that of
seeing the decoder's recombined images. Its results are reported as ``replay-augmentation``.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from genperc import config as config_lib
from genperc.data.dataset import SlotDataset
from genperc.eval import SlotReadout, fit_readout, score_predictions
from genperc.eval.matching import BRUTE_FORCE_MAX_K
from genperc.methods.common import MethodError, check_data, check_split, check_vae_run, eval_mode, resolve_device
from genperc.methods.encode import split_images
from genperc.methods.latents import Cost, Latents
from genperc.methods.recombine import RecombineConfig, SlotRecombiner, concept_slots_from_readout
from genperc.methods.replay import decode_images
from genperc.methods.slot_encoder_net import SlotEncoderNet
from genperc.models import ModelConfig, SlotVAE
from genperc.training import checkpoint as ckpt
from genperc.training.logs import MetricsLog

Matching = Literal["hungarian", "fixed"]


@dataclass
class SupervisedConfig:
    data: str = ""  # dataset directory: train split for training, val for validation
    out: str = ""  # run directory (new)
    seed: int = 0
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    lr_warmup_steps: int = 100  # linear warm-up from 0, then constant
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max gradient norm; 0 = off
    matching: Matching = "hungarian"  # slot ↔ ground-truth slot: per-image assignment, or fixed order
    augment_from: str = ""  # VAE run directory: add its decoded recombinations (replay-augmentation control)
    augment_fraction: float = 0.5  # share of each batch that is decoded recombinations
    augment_sampler: RecombineConfig = field(default_factory=RecombineConfig)
    augment_readout: Literal["logreg", "mlp"] = "logreg"  # labels the recombinations (fitted on ID latents)
    log_every: int = 50
    val_every: int = 250  # ID validation accuracy; 0 = only at the end
    device: str = "cpu"  # auto, cpu or cuda
    progress: bool = True
    model: ModelConfig = field(default_factory=ModelConfig)  # encoder and slot_encoder; decoder unused

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < self.augment_fraction < 1.0:
            raise ValueError(f"augment_fraction must lie in (0, 1), got {self.augment_fraction}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")

    @property
    def method(self) -> str:
        return "replay-augmentation" if self.augment_from else "supervised"


@lru_cache(maxsize=16)
def _injections(k: int, g: int) -> Tensor:
    return torch.tensor(list(itertools.permutations(range(k), g)), dtype=torch.long)  # (P, G)


def min_cost_assignment(cost: Tensor) -> Tensor:
    """(B, G) distinct inferred slots for G ground-truth slots minimising Σ_g cost[b, g, slot],
    for cost (B, G, K) with G ≤ K: all injections when K is small, Hungarian per image above."""
    B, G, K = cost.shape
    if G > K:
        raise ValueError(f"{G} ground-truth slots cannot be read from {K} slots")
    cost = cost.detach()
    if K <= BRUTE_FORCE_MAX_K:
        inj = _injections(K, G).to(cost.device)  # (P, G)
        totals = cost[:, torch.arange(G, device=cost.device), inj].sum(-1)  # (B, P)
        return inj[totals.argmin(1)]
    out = np.empty((B, G), dtype=np.int64)
    for b, c in enumerate(cost.cpu().double().numpy()):
        rows, cols = linear_sum_assignment(c)
        out[b, rows] = cols
    return torch.from_numpy(out).to(cost.device)


@dataclass
class SupervisedOutput:
    feats: Tensor  # (B, K, D) slot features (posterior means): what the common readout reads
    log_probs: list[Tensor]  # per concept, (B, K, n_c): every slot's prediction of that concept
    slot_type: Tensor | None  # (B, K, G + 1) log p(slot shows ground-truth slot g, or none); hungarian only


class SupervisedNet(nn.Module):
    def __init__(self, model_cfg: ModelConfig, n_values: Sequence[int], concept_slots: Sequence[int],
                 matching: Matching) -> None:
        super().__init__()
        self.encoder = SlotEncoderNet(model_cfg)
        self.heads = nn.ModuleList(nn.Linear(model_cfg.slot_dim, n) for n in n_values)
        self.concept_slots = tuple(int(g) for g in concept_slots)  # ground-truth slot of each concept
        self.gt_slots = tuple(sorted(set(self.concept_slots)))
        G = len(self.gt_slots)
        if G > model_cfg.n_slots:
            raise MethodError(f"concepts live in {G} ground-truth slots but the model has "
                              f"{model_cfg.n_slots} slots; raise model.n_slots")
        self.matching = matching
        # the concept heads of a slot not matched to g are never trained on g, so their confidence
        # cannot tell which slot shows g: a slot-type head, trained on the matches, does
        self.type_head = nn.Linear(model_cfg.slot_dim, G + 1) if matching == "hungarian" else None
        # member[g, c] = 1 when concept c belongs to ground-truth slot gt_slots[g]
        member = torch.tensor([[float(s == g) for s in self.concept_slots] for g in self.gt_slots])
        self.register_buffer("member", member, persistent=False)

    def forward(self, images: Tensor) -> SupervisedOutput:
        feats = self.encoder.encode(images).mu
        slot_type = self.type_head(feats).log_softmax(-1) if self.type_head is not None else None
        return SupervisedOutput(feats, [head(feats).log_softmax(-1) for head in self.heads], slot_type)

    def _fixed(self, batch: int, device: torch.device) -> Tensor:
        return torch.arange(len(self.gt_slots), device=device).expand(batch, -1)

    def loss(self, out: SupervisedOutput, labels: Tensor) -> Tensor:
        """Cross-entropy of every concept on its ground-truth slot's matched inferred slot (+ the
        slot-type cross-entropy of every slot under that match, hungarian)."""
        nll = torch.stack([-lp.gather(2, labels[:, c, None, None].expand(-1, lp.shape[1], 1))[..., 0]
                           for c, lp in enumerate(out.log_probs)], dim=-1)  # (B, K, C)
        cost = torch.einsum("bkc,gc->bgk", nll, self.member)  # (B, G, K)
        B, G, K = cost.shape
        slots = self._fixed(B, cost.device) if out.slot_type is None else min_cost_assignment(cost)
        loss = cost.gather(2, slots[..., None]).sum(dim=(1, 2)).mean()
        if out.slot_type is not None:
            target = torch.full((B, K), G, dtype=torch.long, device=cost.device)  # "none" unless matched
            target.scatter_(1, slots, torch.arange(G, device=cost.device).expand(B, -1))
            loss = loss + F.nll_loss(out.slot_type.reshape(B * K, G + 1), target.reshape(-1))
        return loss

    def predict_from(self, out: SupervisedOutput) -> Tensor:
        """(B, C) labels, each concept read from the slot assigned to its ground-truth slot: fixed,
        or the minimum-cost assignment on −log p(slot type)."""
        B = out.feats.shape[0]
        if out.slot_type is None:
            slots = self._fixed(B, out.feats.device)
        else:
            slots = min_cost_assignment(-out.slot_type[..., :-1].transpose(1, 2))  # (B, G)
        g_of = torch.tensor([self.gt_slots.index(g) for g in self.concept_slots], device=slots.device)
        picked = slots[:, g_of]  # (B, C)
        return torch.stack([lp.argmax(-1).gather(1, picked[:, c, None])[:, 0]
                            for c, lp in enumerate(out.log_probs)], dim=1)


@torch.no_grad()
def predict(net: SupervisedNet, images: Tensor, batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """Slot features (N, K, D) and predicted labels (N, C), on the CPU."""
    device = next(net.parameters()).device
    feats, preds = [], []
    with eval_mode(net):
        for i in range(0, len(images), batch_size):
            out = net(images[i : i + batch_size].to(device))
            feats.append(out.feats.cpu())
            preds.append(net.predict_from(out).cpu())
    return torch.cat(feats), torch.cat(preds)


@dataclass
class Augmentation:
    """Decoded recombinations labelled by ``label_fn`` (sampled slots (B, K, D) -> labels (B, C))."""

    model: SlotVAE
    sampler: SlotRecombiner
    label_fn: Callable[[Tensor], Tensor]

    def next(self, n: int) -> tuple[Tensor, Tensor]:
        z = self.sampler.sample(n).z
        return decode_images(self.model, z, clamp=True), self.label_fn(z)


def readout_labeller(readout: SlotReadout) -> Callable[[Tensor], Tensor]:
    """A label function from a fitted ``SlotReadout``: its predictions on the sampled slots."""
    return lambda z: torch.from_numpy(readout.predict(z.detach().cpu().numpy())).to(z.device)


def build_augmentation(vae_run: str | Path, data: str, cfg: SupervisedConfig, device: torch.device,
                       label_fn: Callable[[Tensor], Tensor] | None = None) -> Augmentation:
    """Recombinations of the VAE encoder's ID slots, decoded by the VAE; labelled by ``label_fn``,
    or by default by a slot-wise readout fitted on those ID latents and their labels."""
    from genperc.methods.encode import encode_dataset
    from genperc.training import load_run

    loaded = load_run(check_vae_run(vae_run), device=device)
    info = check_data(data, loaded.model.cfg.res)
    bank = encode_dataset(loaded.model, SlotDataset(data, "train"), "encoder")
    readout = fit_readout(bank.mu, bank.labels, info.concept_names, [c.slot for c in info.concepts],
                          model=cfg.augment_readout, seed=cfg.seed)
    sampler = SlotRecombiner(torch.from_numpy(bank.mu).to(device), cfg.augment_sampler, seed=cfg.seed,
                             labels=bank.labels, concept_slots=concept_slots_from_readout(readout))
    return Augmentation(loaded.model, sampler, label_fn or readout_labeller(readout))


@dataclass
class SupervisedResult:
    run_dir: Path
    step: int
    final_loss: float
    val_accuracy: dict[str, float]  # ID validation accuracy per concept at the end
    train_s: float


def _validate(net: SupervisedNet, val: tuple[Tensor, Tensor], concepts: Sequence[str]) -> dict:
    _, pred = predict(net, val[0])
    scores = score_predictions(pred.numpy(), val[1].numpy(), concepts)
    return {"val_mean": scores.mean, "val_joint": scores.joint, **{f"val_{c}": a for c, a in scores.accuracy.items()}}


def train_supervised(cfg: SupervisedConfig, label_fn: Callable[[Tensor], Tensor] | None = None) -> SupervisedResult:
    """Train and save a supervised run (``cfg.augment_from``: the replay-augmentation control, its
    recombinations labelled by ``label_fn`` if given, else by the fitted ID readout)."""
    from tqdm import tqdm

    info = check_data(cfg.data, cfg.model.res)
    if not cfg.out:
        raise MethodError("no run directory: set out=RUN_DIR")
    run = Path(cfg.out)
    if run.exists() and any(run.iterdir()):
        raise MethodError(f"{run} already holds files; choose another out=")
    if cfg.augment_from:
        check_vae_run(cfg.augment_from)
    device = resolve_device(cfg.device)
    train_set, val_set = SlotDataset(cfg.data, "train"), SlotDataset(cfg.data, "val")
    val_set = val_set if len(val_set) else train_set
    torch.manual_seed(cfg.seed)
    net = SupervisedNet(cfg.model, [len(c.values) for c in info.concepts], [c.slot for c in info.concepts],
                        cfg.matching).to(device)
    augment = build_augmentation(cfg.augment_from, cfg.data, cfg, device, label_fn) if cfg.augment_from else None
    n_aug = round(cfg.batch_size * cfg.augment_fraction) if augment else 0

    run.mkdir(parents=True, exist_ok=True)
    config_lib.save(cfg, run / "config.yaml")
    print(f"# {cfg.method} config ({run})\n" + config_lib.dump_yaml(cfg), end="", file=sys.stderr)
    images = train_set.images_uint8().to(device)
    labels = torch.from_numpy(train_set.array("labels")).long().to(device)
    val = val_set.batch(np.arange(len(val_set)))
    val_xy = (val.images, val.labels)

    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    log, val_log = MetricsLog(run, "metrics"), MetricsLog(run, "val_metrics")
    bar = tqdm(total=cfg.steps, desc=cfg.method, unit="step", disable=not cfg.progress, file=sys.stderr,
               dynamic_ncols=True)
    train_s, window, val_row, final_loss = 0.0, [], {}, float("nan")
    try:
        net.train()
        for step in range(cfg.steps):
            t0 = time.perf_counter()
            for group in opt.param_groups:
                group["lr"] = cfg.lr * min(1.0, (step + 1) / max(1, cfg.lr_warmup_steps))
            idx = torch.randint(len(images), (cfg.batch_size - n_aug,), generator=g).to(device)
            x, y = images[idx].float().div_(255.0), labels[idx]
            if augment is not None:
                x_aug, y_aug = augment.next(n_aug)
                x, y = torch.cat([x, x_aug]), torch.cat([y, y_aug.long()])
            loss = net.loss(net(x), y)
            if not torch.isfinite(loss):
                raise MethodError(f"non-finite loss at step {step}; lower lr (now {cfg.lr})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            train_s += time.perf_counter() - t0
            window.append(loss.item())
            bar.update(1)
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.steps:
                log.log({"step": done, "loss": float(np.mean(window)), "lr": opt.param_groups[0]["lr"]})
                bar.set_postfix(loss=f"{np.mean(window):.3f}")
                final_loss, window = float(np.mean(window)), []
            if (cfg.val_every and done % cfg.val_every == 0) or done == cfg.steps:
                val_row = _validate(net, val_xy, info.concept_names)
                val_log.log({"step": done, **val_row})
                net.train()
    finally:
        bar.close()
        log.close()
        val_log.close()
    ckpt.save(ckpt.path_for(run, cfg.steps), {
        "step": cfg.steps, "model": net.state_dict(), "config_sha256": config_lib.sha256(cfg),
        "n_values": [len(c.values) for c in info.concepts], "concept_slots": list(net.concept_slots)})
    val_acc = {c: val_row[f"val_{c}"] for c in info.concept_names}
    summary = {"method": cfg.method, "step": cfg.steps, "loss": final_loss, "train_s": train_s, "val_accuracy": val_acc}
    (run / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return SupervisedResult(run, cfg.steps, final_loss, val_acc, train_s)


@dataclass
class LoadedSupervised:
    net: SupervisedNet
    cfg: SupervisedConfig
    step: int


def load_supervised(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedSupervised:
    run = Path(run_dir)
    if not (run / "config.yaml").is_file():
        raise MethodError(f"{run} is not a supervised run (no config.yaml)")
    cfg = config_lib.load(SupervisedConfig, file=run / "config.yaml")
    state = ckpt.load(ckpt.latest(run), map_location=device)
    net = SupervisedNet(cfg.model, state["n_values"], state["concept_slots"], cfg.matching).to(device)
    net.load_state_dict(state["model"])
    return LoadedSupervised(net.eval(), cfg, state["step"])


def supervised_split(run_dir: str | Path, data_dir: str | Path, split: str, batch_size: int = 256,
                     device: str = "cpu") -> Latents:
    """Slot features (``mu``) and the network's own predictions (``pred``) for a split; method
    ``supervised`` or ``replay-augmentation``."""
    check_split(split)
    loaded = load_supervised(run_dir, resolve_device(device))
    check_data(data_dir, loaded.cfg.model.res)
    dataset = SlotDataset(data_dir, split)
    if len(dataset) == 0:
        raise MethodError(f"split {split!r} of {data_dir} is empty")
    t0 = time.perf_counter()
    feats, preds = [], []
    for _, images in split_images(dataset, batch_size):
        f, p = predict(loaded.net, images, batch_size)
        feats.append(f)
        preds.append(p)
    wall = time.perf_counter() - t0
    meta = {"run": str(run_dir), "data": str(data_dir), "step": loaded.step, "config": config_lib.to_dict(loaded.cfg)}
    return Latents(method=loaded.cfg.method, split=split, mu=torch.cat(feats).numpy(), labels=dataset.array("labels"),
                   factors=dataset.array("latents"), index=np.arange(len(dataset)),
                   cost=Cost(wall_s=wall, per_image_s=wall / len(dataset)), pred=torch.cat(preds).numpy(), meta=meta)
