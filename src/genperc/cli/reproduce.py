"""``genperc reproduce`` and ``genperc sweep-data``."""

from __future__ import annotations

import argparse
from pathlib import Path

from genperc.errors import UserError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", help="named preset in genperc/configs/reproduce (quick, paper, tiny)")
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML reproduce config")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds (0 .. N-1)")
    p.add_argument("--out", type=Path, required=True, help="output directory (new, or a run to resume)")
    p.add_argument("--heldout", type=Path, metavar="FILE",
                   help="JSON list of held-out combinations by value name, e.g. [[\"cube\", \"grass\"], ...]")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. train.max_steps=3000 data.res=64")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reproduce", help="data → VAE → every method → metrics → report, for each seed",
        description="Run the whole comparison (supervised, encoder, replay, search, replay+search, "
        "replay-augmentation) on one split or all three, for N seeds; resumes if interrupted. Writes "
        "results.json, results.md, figures/ and report.html in --out.")
    p.add_argument("--split", default="background", choices=["background", "texture", "object", "all"])
    p.add_argument("--data-root", type=Path, help="where datasets live (default OUT/data); matching ones are reused")
    _common(p)
    p.set_defaults(func=cmd_reproduce)

    s = sub.add_parser("sweep-data", help="OOD accuracy vs number of ID training images, per method",
                       description="One reproduction per number of ID training images; writes sweep.json, "
                       "sweep.md and data_efficiency.png in --out.")
    s.add_argument("--split", default="background", choices=["background", "texture", "object"])
    s.add_argument("--sizes", required=True, help="comma-separated numbers of ID training images, e.g. 500,1000,2000")
    _common(s)
    s.set_defaults(func=cmd_sweep)


def _seeds(n: int) -> list[int]:
    if n < 1:
        raise UserError(f"--seeds must be at least 1, got {n}")
    return list(range(n))


def _heldout(path: Path | None) -> list | None:
    from genperc.cli.data import read_heldout

    return None if path is None else read_heldout(path)


def cmd_reproduce(args: argparse.Namespace) -> int:
    if not args.preset and not args.config:
        raise UserError("choose a --preset (quick, paper, tiny) or a --config FILE")
    seeds, heldout = _seeds(args.seeds), _heldout(args.heldout)  # cheap checks before the heavy imports
    from genperc import report
    from genperc.experiment import reproduce

    outcomes = reproduce(args.preset, args.config, list(args.overrides), args.split, seeds, args.out,
                         args.data_root, heldout, progress=not args.quiet)
    for o in outcomes:
        print(report.results_text(o.results))
        print(f"report: {o.report_html}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    if not args.preset and not args.config:
        raise UserError("choose a --preset (quick, paper, tiny) or a --config FILE")
    try:
        sizes = [int(x) for x in args.sizes.split(",") if x]
    except ValueError:
        raise UserError(f"--sizes {args.sizes!r}: expected comma-separated integers") from None
    seeds, heldout = _seeds(args.seeds), _heldout(args.heldout)
    from genperc.experiment import sweep_data

    sweep_data(args.preset, args.config, list(args.overrides), args.split, sizes, seeds, args.out, heldout,
               progress=not args.quiet)
    print((args.out / "sweep.md").read_text())
    print(f"plot: {args.out / 'data_efficiency.png'}")
    return 0
