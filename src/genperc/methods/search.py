"""Search: invert a frozen decoder by gradient descent on the slots, z(x) = argmin_z ||x − f̂(z)||².

    result = search(model, images, initial_latents(encoder_mu, cfg), cfg)
    lat = search_split(RUN, DATA, "test_ood", SearchConfig(init="replay"))   # replay + search

The loss of an image is its sum of squared pixel errors (the VAE's reconstruction term), plus
``prior · ||z||² / 2`` (by default prior = the VAE's beta: the model's own MAP objective). Images
are optimised together, yet each exactly as if alone:

* the batch loss is the *sum* of the per-image losses, and the decoder treats images
  independently (no batch statistics), so the gradient w.r.t. image i's slots depends on image i
  only — a mean would rescale it by the batch size, which Adam undoes only up to its ε;
* Adam is written out here, element-wise, with one step counter shared by the active images:
  they all started together and were all updated at every step, so the counter is each one's own.

Early stopping is per image: an image stops when its best loss improved by less than ``tol``
(relative) over the last ``window`` steps; stopped images leave the active set (all tensors are
compacted), so they cost nothing more. Restarts are extra problems in the same batch; each image
keeps the restart with the lowest loss. The decoder runs in eval mode, gradients are taken with
``torch.autograd.grad`` w.r.t. the slots only, so its parameters get no ``.grad`` and never change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from genperc import config as config_lib
from genperc.methods.common import (
    MethodError,
    check_data,
    check_split,
    check_vae_run,
    eval_mode,
    module_device,
    resolve_device,
)
from genperc.methods.latents import Cost, Latents
from genperc.methods.slot_encoder_net import SlotEncoderNet
from genperc.models import SlotVAE

SearchInit = Literal["encoder", "replay", "zero", "random"]
# the method name under which each initialisation's latents are reported
METHOD_NAMES = {"encoder": "search", "replay": "replay+search", "zero": "search-zero", "random": "search-random"}


@dataclass
class SearchConfig:
    init: SearchInit = "encoder"  # first guess: VAE encoder, replay encoder, zeros or N(0, init_scale²)
    steps: int = 100  # most optimiser steps per image and restart
    # adam: per-coordinate normalised steps (torch.optim.Adam's update). sgd: heavy-ball gradient
    # descent (momentum beta1), steps in proportion to the gradient, so slot dimensions the decoder
    # ignores stay where the encoder put them; Adam moves them as far as the used ones, which
    # pushes latents off the distribution a readout fitted on encoder latents knows.
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 0.05
    beta1: float = 0.9  # adam: first-moment decay; sgd: momentum
    beta2: float = 0.999
    eps: float = 1e-8
    batch_size: int = 256  # images optimised together (× restarts problems)
    early_stop: bool = True
    window: int = 10  # early stopping: steps over which the improvement is measured
    tol: float = 1e-3  # early stopping: stop when the best loss fell by less than tol × itself in a window
    restarts: int = 1  # initialisations per image; the lowest final loss is kept
    restart_noise: float = 0.1  # restarts after the first: init + N(0, restart_noise²) (random: fresh draws)
    init_scale: float = 1.0  # std of the random init (the VAE prior is N(0, I))
    # weight of the prior term prior · ||z||² / 2 added to each image's sum of squared errors:
    # None = the VAE's beta (the MAP objective of the model as trained: SSE + beta · KL of a
    # zero-variance posterior, up to a constant), 0 = plain reconstruction. It keeps the slots
    # where the decoder (and a readout fitted on encoder latents) saw data. search() on its own has
    # no training config and reads None as 0; search_split fills in the run's beta.
    prior: float | None = None
    seed: int = 0  # random init and restart noise
    device: str = "cpu"  # search_split: auto, cpu or cuda; search() runs where the model is
    encode_batch_size: int = 256

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "window", "restarts", "encode_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.tol < 0 or self.restart_noise < 0 or self.init_scale < 0:
            raise ValueError("lr must be > 0; tol, restart_noise and init_scale must be >= 0")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be adam or sgd, got {self.optimizer!r}")
        if self.prior is not None and self.prior < 0:
            raise ValueError(f"prior must be >= 0 (or null for the VAE's beta), got {self.prior}")


@dataclass
class SearchResult:
    z: Tensor  # (N, K, D) best slots found for each image (CPU)
    loss: Tensor  # (N,) their reconstruction loss (sum of squares)
    init_loss: Tensor  # (N,) loss of the first initialisation
    steps: Tensor  # (N,) int64 optimiser steps spent on the image, summed over restarts
    best_restart: Tensor  # (N,) int64 restart the kept slots come from
    trace: Tensor  # (T,) mean over images of the current loss (best restart) at every step
    wall_s: float

    @property
    def per_image_s(self) -> float:
        return self.wall_s / max(1, len(self.z))

    @staticmethod
    def concat(parts: list[SearchResult]) -> SearchResult:
        """Results of consecutive chunks of images as one; traces are averaged weighted by image
        count, a chunk that stopped early contributing its last value."""
        length = max(len(p.trace) for p in parts)
        traces = torch.stack([torch.cat([p.trace, p.trace[-1:].expand(length - len(p.trace))]) for p in parts])
        weights = torch.tensor([float(len(p.z)) for p in parts])
        return SearchResult(
            z=torch.cat([p.z for p in parts]), loss=torch.cat([p.loss for p in parts]),
            init_loss=torch.cat([p.init_loss for p in parts]), steps=torch.cat([p.steps for p in parts]),
            best_restart=torch.cat([p.best_restart for p in parts]),
            trace=(traces * weights[:, None]).sum(0) / weights.sum(), wall_s=sum(p.wall_s for p in parts))


def initial_latents(base: Tensor | None, cfg: SearchConfig, shape: tuple[int, int, int],
                    generator: torch.Generator | None = None) -> Tensor:
    """Initialisations (R, N, K, D) for ``cfg.restarts`` R: restart 0 is ``base`` (an encoder's
    latents; zeros for ``zero``; a N(0, init_scale²) draw for ``random``), later ones add
    N(0, restart_noise²) to it (``random``: fresh draws). Noise comes from ``generator``
    (default: one seeded with ``cfg.seed``)."""
    g = generator if generator is not None else torch.Generator().manual_seed(cfg.seed)
    if cfg.init == "random":
        return torch.randn(cfg.restarts, *shape, generator=g) * cfg.init_scale
    if cfg.init == "zero":
        base = torch.zeros(shape)
    elif base is None:
        raise ValueError(f"init {cfg.init!r} needs the encoder's latents as base")
    base = base.detach().float().cpu()
    if tuple(base.shape) != tuple(shape):
        raise ValueError(f"base latents have shape {tuple(base.shape)}, expected {shape}")
    noise = torch.randn(cfg.restarts - 1, *shape, generator=g) * cfg.restart_noise
    return torch.cat([base[None], base[None] + noise])


def reconstruction_loss(model: SlotVAE, z: Tensor, images: Tensor, prior: float = 0.0) -> Tensor:
    """Per-image objective (B,): sum of squared errors of the decoded slots + prior · ||z||² / 2."""
    loss = (model.decode(z).image - images).square().flatten(1).sum(1)
    return loss + 0.5 * prior * z.square().flatten(1).sum(1) if prior else loss


def _search_chunk(model: SlotVAE, images: Tensor, init: Tensor, cfg: SearchConfig) -> SearchResult:
    """Search for one chunk: images (n, 3, H, W), init (R, n, K, D); every (restart, image) pair
    is one problem, restart-major."""
    t0 = time.perf_counter()
    device = module_device(model)
    R, n = init.shape[:2]
    P = R * n
    x_all = images.to(device).repeat(R, 1, 1, 1)  # (P, 3, H, W)
    z_all = init.to(device).reshape(P, *init.shape[2:]).clone()
    best_z, best_loss = z_all.clone(), torch.full((P,), float("inf"), device=device)
    current = torch.empty(P, device=device)  # loss at the latest evaluation; frozen once stopped
    init_loss = torch.empty(P, device=device)
    steps = torch.zeros(P, dtype=torch.long, device=device)
    # the active set, compacted whenever images stop: ids, slots, Adam moments, best-loss history
    ids = torch.arange(P, device=device)
    x, z = x_all, z_all
    m, v = torch.zeros_like(z), torch.zeros_like(z)
    history = torch.empty(P, cfg.window, device=device)  # best loss at the last `window` evaluations
    trace = []
    prior = cfg.prior or 0.0
    for t in range(cfg.steps):
        zq = z.detach().requires_grad_(True)
        loss = reconstruction_loss(model, zq, x, prior)
        (grad,) = torch.autograd.grad(loss.sum(), zq)
        loss = loss.detach()
        if t == 0:
            init_loss[ids] = loss
        better = loss < best_loss[ids]
        best_loss[ids] = torch.where(better, loss, best_loss[ids])
        best_z[ids[better]] = z[better]
        current[ids] = loss
        trace.append(current.view(R, n).min(0).values.mean())

        if cfg.early_stop and t >= cfg.window:
            before = history[:, t % cfg.window]  # best loss `window` evaluations ago
            keep = before - best_loss[ids] > cfg.tol * before
        else:
            keep = torch.ones(len(ids), dtype=torch.bool, device=device)
        history[:, t % cfg.window] = best_loss[ids]
        if not keep.all():  # stopped images leave every tensor of the active set
            ids, x, z, m, v, history, grad = (a[keep] for a in (ids, x, z, m, v, history, grad))
            if len(ids) == 0:
                break

        if cfg.optimizer == "adam":  # torch.optim.Adam's update, element by element
            step = t + 1
            m = cfg.beta1 * m + (1 - cfg.beta1) * grad
            v = cfg.beta2 * v + (1 - cfg.beta2) * grad.square()
            denom = (v / (1 - cfg.beta2**step)).sqrt() + cfg.eps
            z = z - cfg.lr / (1 - cfg.beta1**step) * m / denom
        else:  # torch.optim.SGD's heavy-ball update (dampening 0, no Nesterov)
            m = grad if t == 0 else cfg.beta1 * m + grad
            z = z - cfg.lr * m
        steps[ids] += 1
    if len(ids):  # the last update was never evaluated
        with torch.no_grad():
            loss = reconstruction_loss(model, z, x, prior)
        better = loss < best_loss[ids]
        best_loss[ids] = torch.where(better, loss, best_loss[ids])
        best_z[ids[better]] = z[better]

    restart = best_loss.view(R, n).argmin(0)  # (n,)
    pick = restart * n + torch.arange(n, device=device)
    return SearchResult(z=best_z[pick].cpu(), loss=best_loss[pick].cpu(), init_loss=init_loss[:n].cpu(),
                        steps=steps.view(R, n).sum(0).cpu(), best_restart=restart.cpu(),
                        trace=torch.stack(trace).cpu(), wall_s=time.perf_counter() - t0)


def search(model: SlotVAE, images: Tensor, init: Tensor, cfg: SearchConfig) -> SearchResult:
    """Optimise the slots of ``images`` (N, 3, H, W) from ``init`` ((N, K, D), or (R, N, K, D) for R
    restarts) under ``model``'s frozen decoder, ``cfg.batch_size`` images at a time, on the
    model's device. See the module docstring for independence, early stopping and restarts."""
    if init.ndim == 3:
        init = init[None]
    if init.ndim != 4 or init.shape[1] != len(images):
        raise ValueError(f"init must be (N, K, D) or (R, N, K, D) with N = {len(images)}; got {tuple(init.shape)}")
    if len(images) == 0:
        raise ValueError("no images to search")
    parts = []
    with eval_mode(model), torch.enable_grad():
        for i in range(0, len(images), cfg.batch_size):
            parts.append(_search_chunk(model, images[i : i + cfg.batch_size], init[:, i : i + cfg.batch_size], cfg))
    return SearchResult.concat(parts)


def search_split(run_dir: str | Path, data_dir: str | Path, split: str, cfg: SearchConfig, limit: int = 0) -> Latents:
    """Search latents of every image of a split (of its first ``limit`` images if > 0),
    initialised as ``cfg.init`` says; the reported cost covers the initial encoding and the search."""
    from genperc.data.dataset import SlotDataset
    from genperc.methods.encode import encode, split_images
    from genperc.methods.replay import check_replay_trained, load_replay_encoder
    from genperc.training import load_run

    check_split(split)
    run = check_vae_run(run_dir)
    if cfg.init == "replay":
        check_replay_trained(run)
    device = resolve_device(cfg.device)
    loaded = load_run(run, device=device)
    model = loaded.model
    if cfg.prior is None:  # the MAP objective of the model as it was trained
        cfg = replace(cfg, prior=loaded.cfg.beta)
    check_data(data_dir, model.cfg.res)
    dataset = SlotDataset(data_dir, split)
    if len(dataset) == 0:
        raise MethodError(f"split {split!r} of {data_dir} is empty")
    encoder: SlotVAE | SlotEncoderNet | None = None
    if cfg.init == "encoder":
        encoder = model
    elif cfg.init == "replay":
        encoder = load_replay_encoder(run, device=device)

    shape = (model.cfg.n_slots, model.cfg.slot_dim)
    g = torch.Generator().manual_seed(cfg.seed)  # one noise stream over the chunks of the split
    parts, encode_s = [], 0.0
    n = min(limit, len(dataset)) if limit > 0 else len(dataset)
    for index, images in split_images(dataset, cfg.batch_size, limit=n):
        t0 = time.perf_counter()
        base = encode(encoder, images, cfg.encode_batch_size) if encoder is not None else None
        encode_s += time.perf_counter() - t0
        parts.append(search(model, images, initial_latents(base, cfg, (len(index), *shape), g), cfg))
    result = SearchResult.concat(parts)
    wall = encode_s + result.wall_s
    meta = {"run": str(run), "data": str(data_dir), "vae_step": loaded.step, "config": config_lib.to_dict(cfg),
            "encode_s": encode_s, "search_s": result.wall_s, "trace": result.trace.tolist(),
            "init_loss_mean": float(result.init_loss.mean()), "loss_mean": float(result.loss.mean())}
    return Latents(method=METHOD_NAMES[cfg.init], split=split, mu=result.z.numpy(),
                   labels=dataset.array("labels")[:n], factors=dataset.array("latents")[:n], index=np.arange(n),
                   cost=Cost(wall_s=wall, per_image_s=wall / n, steps=result.steps.numpy()),
                   loss=result.loss.numpy(), meta=meta)
