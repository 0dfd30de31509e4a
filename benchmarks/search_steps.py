"""How many search steps does the generative gain need? OOD (and ID) readout accuracy after t steps.

    python benchmarks/search_steps.py RUN_DIR/seed_0 [--steps 0,5,10,20,40,60,100] [--split test_ood] [--data DIR]

RUN_DIR is a finished ``genperc reproduce`` directory of one split; its seed directory holds the
VAE and the encoder's latents. The search settings are the reproduction's (``config.yaml``), except
that early stopping is off so every image takes exactly t steps. The readout is the one the
reproduction scores with: fitted on the encoder's ID training latents. Prints joint accuracy per t
and the fewest steps reaching 95% of the gain at the largest t. This reads test data, so it
describes a finished experiment; it is not a way to choose settings.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from genperc import config as config_lib
from genperc.data.dataset import SlotDataset
from genperc.eval import fit_readout
from genperc.experiment.config import ReproduceConfig
from genperc.methods import search_split
from genperc.methods.latents import Latents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed_dir", type=Path)
    parser.add_argument("--steps", default="0,5,10,20,40,60,100")
    parser.add_argument("--split", default="test_ood", choices=["val", "test_id", "test_ood"])
    parser.add_argument("--data", type=Path, help="dataset directory (default: the one the latents name)")
    args = parser.parse_args()
    seed_dir = args.seed_dir
    cfg_path = seed_dir.parent / "config.yaml"
    if not (seed_dir / "vae").is_dir() or not cfg_path.is_file():
        raise SystemExit(f"{seed_dir} is not a seed directory of a finished reproduction "
                         "(expected vae/ in it and config.yaml next to it)")
    cfg = config_lib.load(ReproduceConfig, file=cfg_path)
    train = Latents.load(seed_dir / "latents" / "encoder_train.pt")
    data = args.data or Path(train.meta["data"])
    if not (data / "manifest.json").is_file():
        raise SystemExit(f"no dataset at {data}; pass --data DIR")
    info = SlotDataset(data, "train").info
    readout = fit_readout(train.mu, train.labels, info.concept_names, [c.slot for c in info.concepts],
                          model=cfg.eval.readout, seed=int(seed_dir.name.split("_")[-1]))
    steps = [int(s) for s in args.steps.split(",")]
    print(f"{seed_dir}: search {cfg.search.optimizer} lr {cfg.search.lr}, prior "
          f"{'beta' if cfg.search.prior is None else cfg.search.prior}, split {args.split}")
    print(f"{'steps':>6} {'joint':>7} " + " ".join(f"{c:>20}" for c in info.concept_names) + "  s/image")
    joint = {}
    for t in steps:
        t0 = time.perf_counter()
        if t == 0:  # the encoder's own latents: what search starts from
            lat = Latents.load(seed_dir / "latents" / f"encoder_{args.split}.pt")
        else:
            lat = search_split(seed_dir / "vae", data, args.split,
                               replace(cfg.search, steps=t, early_stop=False, device="cpu"))
        wall = time.perf_counter() - t0
        s = readout.score(lat.mu, lat.labels)
        joint[t] = s.joint
        print(f"{t:6d} {s.joint:7.3f} " + " ".join(f"{s.accuracy[c]:20.3f}" for c in info.concept_names)
              + (f"  {wall / len(lat.mu):.2e}" if t else "        -"), flush=True)
    gain = joint[steps[-1]] - joint[steps[0]]
    if gain <= 0:
        print(f"no gain from search at {steps[-1]} steps ({gain:+.3f})")
        return
    first = next(t for t in steps if joint[t] - joint[steps[0]] >= 0.95 * gain)
    print(f"gain at {steps[-1]} steps: {gain:+.3f} joint; 95% of it reached by {first} steps")


if __name__ == "__main__":
    main()
