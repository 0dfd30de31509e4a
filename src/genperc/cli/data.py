"""``genperc data generate|verify|show``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from genperc.errors import UserError

# flag -> DataConfig field; flags override a --config file, key=value overrides override both
FLAGS = {"renderer": "renderer", "split": "split", "n_train": "n_train", "n_val": "n_val", "n_test": "n_test",
         "res": "res", "seed": "seed", "spp": "spp", "workers": "workers"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="generate, verify and look at datasets",
                          description="Render datasets of slot-structured images with ID/OOD splits.")
    dsub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    gen = dsub.add_parser("generate", help="render a dataset (train / val / test_id / test_ood)",
                          description="Render a dataset. Flags, a YAML --config and key=value overrides "
                          "(e.g. support.heldout_fraction=0.3) are merged in the order config < flags < key=value. "
                          "Interrupted generation resumes when the same command is run again.")
    gen.add_argument("--renderer", choices=["sprites", "scenes3d"])
    gen.add_argument("--split", choices=["background", "texture", "object", "diagonal"])
    gen.add_argument("--n-train", type=int, dest="n_train", help="ID training images")
    gen.add_argument("--n-val", type=int, dest="n_val", help="ID validation images")
    gen.add_argument("--n-test", type=int, dest="n_test", help="images in each of test_id and test_ood")
    gen.add_argument("--res", type=int, help="image side in pixels (e.g. 32, 64, 128)")
    gen.add_argument("--seed", type=int)
    gen.add_argument("--spp", type=int, help="scenes3d: samples per pixel")
    gen.add_argument("--workers", type=int, help="render processes (default: automatic)")
    gen.add_argument("--out", required=True, type=Path, help="dataset directory (new or empty)")
    gen.add_argument("--heldout", type=Path, metavar="FILE",
                     help="JSON list of held-out combinations by value name, e.g. [[\"cube\", \"forest\"], ...]")
    gen.add_argument("--config", type=Path, metavar="FILE", help="YAML data config (replaces the flags)")
    gen.add_argument("--preset", help="named data preset (see genperc/configs/data)")
    gen.add_argument("--shard", metavar="I/N", help="render only shard group I of N (several machines share the work)")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing dataset in --out")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.add_argument("overrides", nargs="*", metavar="key=value")
    gen.set_defaults(func=cmd_generate)

    ver = dsub.add_parser("verify", help="check a dataset's files against its manifest (exit 1 if not intact)")
    ver.add_argument("dir", type=Path)
    ver.add_argument("--fast", action="store_true", help="sizes only, no SHA-256")
    ver.set_defaults(func=cmd_verify)

    show = dsub.add_parser("show", help="write a picture grid of images, slot masks and labels")
    show.add_argument("dir", type=Path)
    show.add_argument("--out", required=True, type=Path, help="PNG path")
    show.add_argument("--n", type=int, default=8, help="images per split")
    show.add_argument("--splits", default="train,test_ood", help="comma-separated: train,val,test_id,test_ood")
    show.set_defaults(func=cmd_show)


def load_data_config(args: argparse.Namespace):
    from genperc import config
    from genperc.data.config import DataConfig

    flags = {FLAGS[k]: v for k, v in vars(args).items() if k in FLAGS and v is not None}
    overrides = [f"{k}={v}" for k, v in flags.items()] + list(args.overrides)
    if args.heldout is not None:
        combos = read_heldout(args.heldout)
        overrides += ["support.kind=heldout", f"support.heldout={json.dumps(combos)}"]
    preset = ("data", args.preset) if args.preset else None
    return config.load(DataConfig, preset=preset, file=args.config, overrides=overrides)


def read_heldout(path: Path) -> list:
    if not path.is_file():
        raise UserError(f"--heldout {path}: file not found")
    try:
        combos = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"--heldout {path}: not valid JSON ({e})") from None
    if not isinstance(combos, list) or not combos:
        raise UserError(f"--heldout {path}: expected a non-empty JSON list of combinations, "
                        "e.g. [[\"cube\", \"forest\"], [\"sphere\", \"desert\"]]")
    return combos


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UserError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise UserError(f"--shard {text}: expected 0 <= I < N")
    return i, n


def cmd_generate(args: argparse.Namespace) -> int:
    from genperc import config
    from genperc.data.generate import generate

    cfg = load_data_config(args)
    shard = parse_shard(args.shard)
    print("# data config\n" + config.dump_yaml(cfg), end="", file=sys.stderr)
    result = generate(cfg, args.out, shard=shard, overwrite=args.overwrite, progress=not args.quiet)
    if result.complete and result.rendered == 0 and result.skipped_shards == 0:
        print(f"dataset up to date: {result.root} already holds it (same config); nothing rendered")
    elif result.complete:
        print(f"dataset ready: {result.root} ({result.rendered} images rendered, {result.skipped_shards} shards "
              f"reused, {result.wall_s:.1f} s)")
    else:
        print(f"rendered shard group {args.shard} into {result.root} ({result.rendered} images, "
              f"{result.wall_s:.1f} s); when every group is there, run the command once more without --shard "
              "to write the manifest")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from genperc.data.store import verify

    report = verify(args.dir, checksums=not args.fast)
    for problem in report.problems:
        print(problem, file=sys.stderr)
    if report.ok:
        print(f"{args.dir}: intact ({report.files} files, {report.bytes / 1e6:.1f} MB)")
        return 0
    print(f"{args.dir}: {len(report.problems)} problem(s)", file=sys.stderr)
    return 1


def cmd_show(args: argparse.Namespace) -> int:
    from genperc.data.show import show

    splits = tuple(s for s in args.splits.split(",") if s)
    path = show(args.dir, args.out, n=args.n, splits=splits)
    print(f"wrote {path}")
    return 0
