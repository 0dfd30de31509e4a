"""Where a training step of a train preset spends its time: torch profiler, top operators.

    python benchmarks/profile_train.py [--preset quick] [--res 32] [--slots 2] [--steps 10] [--top 15]

Profiles forward + loss + backward + Adam step on random images (training data does not change
the cost) and prints the operators with the most self CPU time, so optimisation starts from the
measured hot spots.
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from genperc import config
from genperc.models import build_model
from genperc.training import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--res", type=int, default=32)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    cfg = config.load(TrainConfig, preset=("train", args.preset), base={"model": {"res": args.res, "n_slots": args.slots}})
    torch.manual_seed(0)
    model = build_model(cfg.model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    x = torch.rand(cfg.batch_size, 3, args.res, args.res)

    def step() -> None:
        out = model(x)
        loss = model.loss(x, out, beta=cfg.beta, alpha=cfg.alpha).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step()
    print(f"preset {args.preset}, {args.res}², batch {cfg.batch_size}, {torch.get_num_threads()} threads, "
          f"{args.steps} steps")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top))


if __name__ == "__main__":
    main()
