"""Training throughput and model-FLOP utilisation (MFU) of the train presets vs a reference, and
the data feed rate of the training loop vs what training consumes.

    python benchmarks/bench_train.py [--presets quick,tiny] [--res 32] [--batch 32] [--steps 20]

MFU = FLOPs of one training step (forward + loss + backward, counted by torch's FlopCounterMode:
matmuls, convolutions, attention) / step time / the fp32 matmul peak measured in this same run.
The reference is a model shaped like the ICLR'24 Slot Attention autoencoder (4×conv5×5 with 64
channels, spatial-broadcast decoder; ``genperc.models.reference_config``) at the same resolution
and batch. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import time

import torch

from genperc import config
from genperc.models import ModelConfig, build_model, count_flops, reference_config
from genperc.training import TrainConfig


def matmul_peak(seconds: float = 1.5, n: int = 1024) -> float:
    """fp32 FLOP/s of a square matmul loop (the machine's practical peak)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def step_time(cfg: ModelConfig, batch: int, steps: int, beta: float = 0.05, alpha: float = 0.0) -> tuple[float, int]:
    torch.manual_seed(0)
    model = build_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.rand(batch, 3, cfg.res, cfg.res)
    flops = count_flops(model, x, beta=beta, alpha=alpha)

    def one() -> None:
        out = model(x)
        loss = model.loss(x, out, beta=beta, alpha=alpha).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        one()
    t0 = time.perf_counter()
    for _ in range(steps):
        one()
    return (time.perf_counter() - t0) / steps, flops


def feed_rate(res: int, batch: int, n: int = 6000, reps: int = 200) -> float:
    """Images/s of the training loop's input path: the train split is held as one uint8 tensor,
    and each step indexes a random batch and converts it to float (train_vae.py)."""
    images = torch.randint(0, 256, (n, 3, res, res), dtype=torch.uint8)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(reps):
        images[torch.randint(n, (batch,), generator=g)].float().div_(255.0)
    return reps * batch / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="quick,tiny", help="train presets (genperc/configs/train)")
    parser.add_argument("--res", type=int, default=32)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--batch", type=int, default=0, help="0 = each preset's batch_size")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--ref-steps", type=int, default=3)
    args = parser.parse_args()

    peak = matmul_peak()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; fp32 matmul peak {peak / 1e9:.1f} GFLOP/s")
    rows = []
    batch_ref = None
    for name in [p for p in args.presets.split(",") if p]:
        cfg = config.load(TrainConfig, preset=("train", name),
                          base={"model": {"res": args.res, "n_slots": args.slots}})
        batch = args.batch or cfg.batch_size
        batch_ref = batch_ref or batch
        dt, flops = step_time(cfg.model, batch, args.steps, cfg.beta, cfg.alpha)
        rows.append((f"preset {name}", batch, dt, flops))
    ref = reference_config(res=args.res, n_slots=args.slots, slot_dim=64)
    dt, flops = step_time(ref, batch_ref or 32, args.ref_steps)
    rows.append(("ICLR'24-shaped reference", batch_ref or 32, dt, flops))
    ref_ips = rows[-1][1] / rows[-1][2]
    print(f"{'model':<26} {'batch':>5} {'s/step':>8} {'img/s':>8} {'GFLOP/img':>10} {'MFU':>6} {'vs ref':>7}")
    for name, batch, dt, flops in rows:
        ips = batch / dt
        print(f"{name:<26} {batch:>5} {dt:>8.3f} {ips:>8.1f} {flops / batch / 1e9:>10.3f} "
              f"{flops / dt / peak:>6.1%} {ips / ref_ips:>6.1f}x")
    name, batch, dt, _ = rows[0]
    feed = feed_rate(args.res, batch)
    print(f"data feed of the training loop, batch {batch}: {feed:.0f} img/s = {feed * dt / batch:.0f}x "
          f"what {name} consumes")


if __name__ == "__main__":
    main()
