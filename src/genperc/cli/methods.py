"""``genperc encode | replay | search | train-supervised``: the ways of getting representations.

Each command layers its typed config as defaults < --preset < --config FILE < key=value, prints
the resolved config and saves it (beside the latents, or in the run directory), and checks its
inputs — run directory, dataset, split, trained replay encoder, output file — before any work.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genperc.errors import UserError


def _overrides_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (see the description)")


def _config_args(p: argparse.ArgumentParser, group: str) -> None:
    p.add_argument("--preset", help=f"named preset in genperc/configs/{group}")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML config file")
    _overrides_arg(p)


def _output_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="latents file to write (default: RUN_DIR/latents/<method>_<split>.pt)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from genperc.data.store import SPLITS

    enc = sub.add_parser(
        "encode", help="encode a split with an encoder used directly (non-generative)",
        description="Write the latents of a split under an encoder: the VAE's (--method encoder, the "
        "'w/o replay' baseline), its trained replay encoder (--method replay) or a supervised run's "
        "(--method supervised: features and its own predictions). key=value: batch_size=256 device=cpu.")
    enc.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="VAE run (or supervised run)")
    enc.add_argument("--data", required=True, type=Path, metavar="DIR", help="dataset directory")
    enc.add_argument("--split", required=True, help=f"one of {', '.join(SPLITS)}")
    enc.add_argument("--method", choices=["encoder", "replay", "supervised"], default="encoder",
                     help="encoder: RUN_DIR is a VAE run; replay: its replay encoder; supervised: RUN_DIR is "
                     "a train-supervised run")
    _output_args(enc)
    _overrides_arg(enc)
    enc.set_defaults(func=cmd_encode)

    rep = sub.add_parser(
        "replay", help="train the replay encoder of a VAE run",
        description="Train an encoder on decoded recombinations of the run's ID slots and save it in "
        "RUN_DIR/replay/ (config.yaml, metrics, encoder.pt). key=value e.g. steps=2000 "
        "sampler.mode=cyclic_shift init=fresh real_fraction=0.25 cache=disk device=cuda.")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="VAE run (made by genperc train)")
    rep.add_argument("--data", type=Path, metavar="DIR", help="dataset directory (or data=DIR)")
    rep.add_argument("--overwrite", action="store_true", help="train again over an existing replay encoder")
    _config_args(rep, "methods/replay")
    rep.set_defaults(func=cmd_replay)

    sea = sub.add_parser(
        "search", help="invert the VAE's decoder by gradient search on the slots",
        description="Optimise the slots of every image of a split to reconstruct it under the frozen "
        "decoder; writes latents with their cost (steps, seconds). --init replay is replay + search. "
        "key=value e.g. steps=100 lr=0.05 restarts=3 early_stop=false device=cuda.")
    sea.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="VAE run (made by genperc train)")
    sea.add_argument("--data", required=True, type=Path, metavar="DIR", help="dataset directory")
    sea.add_argument("--split", required=True, help=f"one of {', '.join(SPLITS)}")
    sea.add_argument("--init", choices=["encoder", "replay", "zero", "random"], help="initialisation (or init=)")
    _output_args(sea)
    _config_args(sea, "methods/search")
    sea.set_defaults(func=cmd_search)

    sup = sub.add_parser(
        "train-supervised", help="train the supervised encoder (or the replay-augmentation control)",
        description="Train the VAE's encoder architecture with cross-entropy per concept on ID images. "
        "augment_from=VAE_RUN_DIR adds that VAE's decoded recombinations, labelled by an ID readout, as "
        "augmentation (method replay-augmentation). Model: the dataset's res/n_slots, or the VAE's model "
        "with augment_from; key=value e.g. steps=2000 matching=fixed model.encoder.channels=64.")
    sup.add_argument("--data", type=Path, metavar="DIR", help="dataset directory (or data=DIR)")
    sup.add_argument("--out", type=Path, metavar="RUN", help="new run directory (or out=RUN)")
    _config_args(sup, "methods/supervised")
    sup.set_defaults(func=cmd_train_supervised)


def _load(schema, group: str, args: argparse.Namespace, flags: dict, base: dict | None = None):
    """defaults < base < --preset < --config < flags < key=value."""
    from genperc import config

    extra = [f"{k}={v}" for k, v in flags.items() if v is not None]
    return config.load(schema, base=base, preset=(group, args.preset) if args.preset else None, file=args.config,
                       overrides=extra + list(args.overrides))


def _show(title: str, cfg) -> None:
    from genperc import config

    print(f"# {title}\n" + config.dump_yaml(cfg), end="", file=sys.stderr)


def _save_latents(lat, path: Path, overwrite: bool, cfg) -> None:
    from genperc import config

    lat.save(path, overwrite=overwrite)
    config.save(cfg, path.with_suffix(".yaml"))
    steps = f", {lat.cost.mean_steps:.1f} steps/image" if lat.cost.steps is not None else ""
    print(f"wrote {path}: {lat.method} latents of {len(lat)} {lat.split} images {tuple(lat.mu.shape[1:])}, "
          f"{lat.cost.wall_s:.2f} s ({1000 * lat.cost.per_image_s:.2f} ms/image{steps})")


def _out_path(args: argparse.Namespace, method: str) -> Path:
    from genperc.methods.common import check_output, latents_path

    path = args.out or latents_path(args.run_dir, method, args.split)
    if path.suffix == ".yaml":
        raise UserError(f"--out {path}: the resolved config is written beside the latents as .yaml; "
                        "choose another suffix (e.g. .pt)")
    return check_output(path, args.overwrite)


def cmd_encode(args: argparse.Namespace) -> int:
    from genperc import config
    from genperc.methods.common import check_split, check_vae_run
    from genperc.methods.encode import EncodeConfig, encode_split
    from genperc.methods.replay import check_replay_trained, replay_split
    from genperc.methods.supervised import load_supervised, supervised_split

    check_split(args.split)
    cfg = config.load(EncodeConfig, overrides=args.overrides)
    if args.method == "supervised":
        method = load_supervised(args.run_dir).cfg.method
    else:
        check_vae_run(args.run_dir)
        if args.method == "replay":
            check_replay_trained(args.run_dir)
        method = args.method
    path = _out_path(args, method)
    _show(f"encode config ({args.method})", cfg)
    if args.method == "encoder":
        lat = encode_split(args.run_dir, args.data, args.split, cfg.batch_size, cfg.device)
    elif args.method == "replay":
        lat = replay_split(args.run_dir, args.data, args.split, cfg.batch_size, cfg.device)
    else:
        lat = supervised_split(args.run_dir, args.data, args.split, cfg.batch_size, cfg.device)
    _save_latents(lat, path, args.overwrite, cfg)
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from genperc.methods.replay import ReplayConfig, train_replay

    cfg = _load(ReplayConfig, "methods/replay", args, {"data": args.data})
    result = train_replay(args.run_dir, cfg, overwrite=args.overwrite)
    print(f"trained the replay encoder in {result.replay_dir}: {result.steps} steps, loss {result.final_loss:.4g}, "
          f"{result.train_s:.1f} s in training steps")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from genperc.methods.common import check_split, check_vae_run
    from genperc.methods.replay import check_replay_trained
    from genperc.methods.search import METHOD_NAMES, SearchConfig, search_split

    check_split(args.split)
    cfg = _load(SearchConfig, "methods/search", args, {"init": args.init})
    check_vae_run(args.run_dir)
    if cfg.init == "replay":
        check_replay_trained(args.run_dir)
    path = _out_path(args, METHOD_NAMES[cfg.init])
    _show("search config", cfg)
    lat = search_split(args.run_dir, args.data, args.split, cfg)
    _save_latents(lat, path, args.overwrite, cfg)
    print(f"reconstruction error (sum of squares / image): {lat.meta['init_loss_mean']:.4g} at init -> "
          f"{lat.meta['loss_mean']:.4g}")
    return 0


def cmd_train_supervised(args: argparse.Namespace) -> int:
    from genperc import config
    from genperc.methods.common import check_data, check_vae_run
    from genperc.methods.supervised import SupervisedConfig, train_supervised
    from genperc.training.train_vae import load_config

    flags = {"data": args.data, "out": args.out}
    cfg = _load(SupervisedConfig, "methods/supervised", args, flags)  # to find data= and augment_from=
    if cfg.augment_from:  # the control uses exactly the VAE's encoder architecture
        base = {"model": config.to_dict(load_config(check_vae_run(cfg.augment_from)).model)}
    else:
        info = check_data(cfg.data)
        base = {"model": {"res": info.res, "n_slots": info.n_slots}}
    cfg = _load(SupervisedConfig, "methods/supervised", args, flags, base=base)
    result = train_supervised(cfg)
    accs = ", ".join(f"{c} {a:.3f}" for c, a in result.val_accuracy.items())
    print(f"trained {result.run_dir} ({cfg.method}): {result.step} steps, loss {result.final_loss:.3f}, "
          f"ID val accuracy {accs}, {result.train_s:.1f} s in training steps")
    return 0
