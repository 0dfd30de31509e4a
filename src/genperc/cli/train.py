"""``genperc train``: train a slot VAE on a dataset's ID images (or resume a run)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genperc.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train a slot VAE on ID data",
        description="Train a slot VAE. Config layers: defaults < model.res/n_slots from the dataset < --preset < "
        "--config FILE < key=value (e.g. data=DIR out=RUN_DIR max_steps=2000 seed=0 batch_size=32 "
        "checkpoint_every=500 model.decoder.name=xattn). Multi-device: devices=N num_nodes=M (batch_size is per "
        "device), launched directly or with torchrun.")
    p.add_argument("--preset", help="named preset in genperc/configs/train (e.g. tiny, quick)")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML train config")
    p.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue a killed or finished run "
                   "(only max_steps=N may be given with it)")
    p.add_argument("--devices", type=int, help="devices per node (same as devices=N)")
    p.add_argument("--num-nodes", type=int, dest="num_nodes", help="nodes (same as num_nodes=N)")
    p.add_argument("--accelerator", choices=["auto", "cpu", "cuda", "gpu", "mps"], help="same as accelerator=...")
    p.add_argument("overrides", nargs="*", metavar="key=value")
    p.set_defaults(func=cmd_train)


def resolve_train_config(preset: str | None, file: Path | None, overrides: list[str]):
    """Layer the config; model.res and model.n_slots default to the dataset's."""
    from genperc import config
    from genperc.data.dataset import DatasetInfo
    from genperc.training import TrainConfig

    data = None
    for item in overrides:
        key, value = config.parse_override(item)
        if key == "data":
            data = str(value)
    if data is None and file is not None:
        data = config.load(TrainConfig, file=file).data or None
    base = {}
    if data:
        info = DatasetInfo.from_dir(data)
        base = {"model": {"res": info.res, "n_slots": info.n_slots}}
    return config.load(TrainConfig, base=base, preset=("train", preset) if preset else None, file=file,
                       overrides=overrides)


def cmd_train(args: argparse.Namespace) -> int:
    from genperc.training import resume_training, train

    flags = [f"{k}={getattr(args, k)}" for k in ("devices", "num_nodes", "accelerator") if getattr(args, k) is not None]
    if args.resume is not None:
        if args.preset or args.config or flags:
            raise UserError("--resume takes the run's saved config; drop --preset/--config/--devices/...")
        result = resume_training(args.resume, args.overrides)
    else:
        cfg = resolve_train_config(args.preset, args.config, flags + list(args.overrides))
        result = train(cfg)
    if result.rank == 0:
        print(f"trained {result.run_dir}: step {result.step}, loss {result.loss:.3f}, {result.img_per_s:.1f} img/s "
              f"on {result.world_size} process(es), {result.train_s:.1f} s in training steps")
    return 0
