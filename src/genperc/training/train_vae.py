"""Train a slot VAE on the ID training images: the explicit loop.

    cfg = genperc.config.load(TrainConfig, preset=("train", "tiny"), overrides=["data=DIR", "out=RUN"])
    result = train(cfg)             # or resume_training("RUN") after a kill

Lightning Fabric places the model, sets precision and runs DDP (``devices``/``num_nodes``;
launched by ``torchrun`` or by Fabric itself); everything else is written out here. The batch
of step t and the posterior noise of step t are functions of (seed, t) alone, so a run resumed
from the checkpoint of step s continues exactly like the uninterrupted run: same batches, same
noise, same weights (on CPU with deterministic settings).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genperc import config as config_lib
from genperc.data.dataset import DatasetInfo, SlotDataset
from genperc.errors import UserError
from genperc.models import SlotVAE, build_model
from genperc.training import checkpoint as ckpt
from genperc.training.config import TrainConfig
from genperc.training.logs import MetricsLog


class TrainingError(UserError):
    """Training cannot start or cannot go on (bad config, diverged); the message says what to do."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    loss: float
    train_s: float  # seconds spent in training steps (the cost reported with results)
    img_per_s: float
    world_size: int = 1  # processes that trained together (DDP)
    rank: int = 0  # this process's global rank


def lr_factor(cfg: TrainConfig, step: int) -> float:
    if cfg.lr_warmup_steps and step < cfg.lr_warmup_steps:
        return (step + 1) / cfg.lr_warmup_steps
    if cfg.lr_decay == "constant":
        return 1.0
    span = max(1, cfg.max_steps - cfg.lr_warmup_steps)
    t = min(1.0, (step - cfg.lr_warmup_steps) / span)
    return cfg.lr_min_ratio + (1 - cfg.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def ramp(value: float, step: int, start: int, warmup: int) -> float:
    if step < start:
        return 0.0
    return value if warmup <= 0 else value * min(1.0, (step - start + 1) / warmup)


def batch_indices(n: int, batch: int, world: int, rank: int, seed: int, step: int) -> torch.Tensor:
    """Indices of this rank's batch at ``step``: epoch-wise permutations seeded by (seed, epoch)."""
    per_epoch = n // (batch * world)
    epoch, pos = divmod(step, per_epoch)
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(n, generator=g)
    start = (pos * world + rank) * batch
    return perm[start : start + batch]


def check_config(cfg: TrainConfig, resume: bool) -> DatasetInfo:
    """Everything that can be checked before a model is built."""
    if not cfg.data:
        raise TrainingError("no dataset: set data=DIR (a directory made by `genperc data generate`)")
    if not cfg.out:
        raise TrainingError("no run directory: set out=RUN_DIR")
    info = DatasetInfo.from_dir(cfg.data)
    if cfg.model.res != info.res:
        raise TrainingError(f"model.res={cfg.model.res} but {cfg.data} holds {info.res}² images; "
                            f"set model.res={info.res}")
    n = info.manifest["counts"]["train"]
    world = cfg.devices * cfg.num_nodes
    if n < cfg.batch_size * world:
        raise TrainingError(f"{cfg.data} has {n} training images, fewer than one global batch "
                            f"({cfg.batch_size} × {world} devices); lower batch_size")
    run = Path(cfg.out)
    if not resume and run.exists() and any(run.iterdir()):
        raise TrainingError(f"{run} already holds files; continue that run with `genperc train --resume {run}` "
                            "or choose another out=")
    if cfg.precision.startswith("bf16") and cfg.accelerator in ("cpu", "auto") and not torch.cuda.is_available():
        print("genperc train: note: bf16 on this CPU is far slower than fp32 (no bf16 units)", file=sys.stderr)
    return info


def _make_fabric(cfg: TrainConfig):
    from lightning_fabric import Fabric

    accelerator = "cuda" if cfg.accelerator == "gpu" else cfg.accelerator
    fabric = Fabric(accelerator=accelerator, devices=cfg.devices, num_nodes=cfg.num_nodes, strategy=cfg.strategy,
                    precision=cfg.precision)
    fabric.launch()
    return fabric


def train(cfg: TrainConfig, resume: bool = False) -> TrainResult:
    check_config(cfg, resume)
    run = Path(cfg.out)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    fabric = _make_fabric(cfg)
    zero = fabric.is_global_zero
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    model = build_model(cfg.model)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(cfg, s))
    step = 0
    if resume:
        for stale in (run / "checkpoints").glob(".*.tmp*"):  # left by a kill during a write
            stale.unlink()
        state = ckpt.load(ckpt.latest(run))
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        ckpt.set_rng_state(state["rng"])
        step = state["step"]
    elif zero:
        run.mkdir(parents=True, exist_ok=True)
        config_lib.save(cfg, run / "config.yaml")
    if zero:
        print(f"# train config ({'resumed at step %d' % step if resume else 'new run'}: {run})\n"
              + config_lib.dump_yaml(cfg), end="", file=sys.stderr)
    fmodel, fopt = fabric.setup(model, opt)

    train_set = SlotDataset(cfg.data, "train")
    images = train_set.images_uint8().to(fabric.device)  # (N, 3, H, W) uint8, on the device
    val_set = SlotDataset(cfg.data, "val")
    val_set = val_set if len(val_set) else train_set
    val_x = val_set.batch(np.arange(min(cfg.val_images, len(val_set)))).images.to(fabric.device)
    log = MetricsLog(run, "metrics", resume_step=step if resume else None, tensorboard=zero) if zero else None
    val_log = MetricsLog(run, "val_metrics", resume_step=step if resume else None, tensorboard=zero) if zero else None

    from tqdm import tqdm

    bar = tqdm(total=cfg.max_steps, initial=step, desc="train", unit="step", disable=not (zero and cfg.progress),
               file=sys.stderr, dynamic_ncols=True)
    world, rank = fabric.world_size, fabric.global_rank
    start_step = step
    train_s, window_t, window_steps = 0.0, 0.0, 0
    last_ckpt, loss = step, float("nan")
    fmodel.train()
    try:
        while step < cfg.max_steps:
            t0 = time.perf_counter()
            idx = batch_indices(len(images), cfg.batch_size, world, rank, cfg.seed, step).to(fabric.device)
            x = images[idx].float().div_(255.0)
            beta = ramp(cfg.beta, step, 0, cfg.beta_warmup_steps)
            alpha = ramp(cfg.alpha, step, cfg.alpha_start_step, cfg.alpha_warmup_steps)
            torch.manual_seed(cfg.seed * 7_919 + step * 104_729 + rank)  # posterior noise of this step
            out = fmodel(x, sample=cfg.sample_posterior)
            terms = model.loss(x, out, beta=beta, alpha=alpha)
            if not torch.isfinite(terms.total):
                raise TrainingError(
                    f"non-finite loss at step {step} (recon={terms.recon.item():.4g}, kl={terms.kl.item():.4g}, "
                    f"interaction={terms.interaction.item():.4g}); training stopped. The last good checkpoint "
                    f"(step {last_ckpt}) is kept in {run / 'checkpoints'}: lower lr (now {cfg.lr}) or grad_clip "
                    "and start again, or resume from it")
            fabric.backward(terms.total)
            if cfg.grad_clip > 0:
                fabric.clip_gradients(fmodel, fopt, max_norm=cfg.grad_clip)
            fopt.step()
            fopt.zero_grad(set_to_none=True)
            sched.step()
            step += 1
            dt = time.perf_counter() - t0
            train_s += dt
            window_t += dt
            window_steps += 1
            bar.update(1)

            if step % cfg.log_every == 0 or step == cfg.max_steps:
                vals = torch.stack([terms.total, terms.recon, terms.kl, terms.interaction]).detach()
                vals = fabric.all_reduce(vals, reduce_op="mean") if world > 1 else vals
                ips = window_steps * cfg.batch_size * world / max(window_t, 1e-9)
                row = {"step": step, "loss": vals[0].item(), "recon": vals[1].item(), "kl": vals[2].item(),
                       "interaction": vals[3].item(), "lr": sched.get_last_lr()[0], "beta": beta, "alpha": alpha,
                       "img_per_s": ips}
                window_t, window_steps, loss = 0.0, 0, row["loss"]
                if log is not None:
                    log.log(row)
                    bar.set_postfix(loss=f"{row['loss']:.1f}", img_s=f"{ips:.0f}")
            if zero and cfg.val_every and (step % cfg.val_every == 0 or step == cfg.max_steps):
                val_log.log({"step": step, **validate(model, val_x)})
            if zero and cfg.image_every and (step % cfg.image_every == 0 or step == cfg.max_steps):
                from genperc.training.pictures import reconstruction_figure

                reconstruction_figure(model, val_x[:8], run / "images" / f"step_{step:08d}.png",
                                      title=f"step {step}")
                fmodel.train()
            if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
                if zero:
                    ckpt.save(ckpt.path_for(run, step), {
                        "step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(), "rng": ckpt.rng_state(),
                        "config_sha256": config_lib.sha256(cfg)})
                    ckpt.prune(run, cfg.keep_checkpoints)
                fabric.barrier()
                last_ckpt = step
    finally:
        bar.close()
        for lg in (log, val_log):
            if lg is not None:
                lg.close()
    result = TrainResult(run, step, loss, train_s, (step - start_step) * cfg.batch_size * world / max(train_s, 1e-9),
                         world, rank)
    if zero:
        _write_summary(run, result, resume)
    return result


@torch.no_grad()
def validate(model: SlotVAE, images: torch.Tensor, batch: int = 128) -> dict:
    was = model.training
    model.eval()
    sse = []
    for i in range(0, len(images), batch):
        x = images[i : i + batch]
        recon = model(x, sample=False).decoded.image
        sse.append((recon - x).square().sum(dim=(1, 2, 3)))
    model.train(was)
    sse_t = torch.cat(sse)
    return {"val_recon": sse_t.mean().item(), "val_mse": (sse_t.mean() / images[0].numel()).item()}


def _write_summary(run: Path, result: TrainResult, resumed: bool) -> None:
    import json

    path = run / "summary.json"
    prev = json.loads(path.read_text()) if resumed and path.exists() else {}
    summary = {"step": result.step, "loss": result.loss, "train_s": result.train_s + prev.get("train_s", 0.0),
               "img_per_s": result.img_per_s, "world_size": result.world_size}
    path.write_text(json.dumps(summary, indent=1) + "\n")


def load_config(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise TrainingError(f"{run_dir} is not a training run (no config.yaml)")
    return config_lib.load(TrainConfig, file=path, overrides=overrides)


def resume_training(run_dir: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainResult:
    allowed = {"max_steps", "progress"}
    for item in overrides:
        key = config_lib.parse_override(item)[0]
        if key not in allowed:
            raise TrainingError(f"--resume takes only {sorted(allowed)} as overrides (changing {key!r} would "
                                "make the resumed run differ from the original); start a new run instead")
    cfg = load_config(run_dir, overrides)
    cfg.out = str(run_dir)
    return train(cfg, resume=True)


@dataclass
class LoadedRun:
    model: SlotVAE
    cfg: TrainConfig
    step: int


def load_run(run_dir: str | Path, device: str | torch.device = "cpu") -> LoadedRun:
    """The trained model of a run (latest checkpoint), in eval mode."""
    cfg = load_config(run_dir)
    state = ckpt.load(ckpt.latest(run_dir), map_location=device)
    model = build_model(cfg.model).to(device)
    model.load_state_dict(state["model"])
    model.eval()
    return LoadedRun(model, cfg, state["step"])
