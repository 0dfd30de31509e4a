"""``genperc`` entry point: parses the sub-command and turns expected errors into one clear line."""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from genperc.errors import UserError

# (module, help) of each command group; a module defines add_parser(subparsers)
COMMANDS = (
    ("genperc.cli.data", "data"),
    ("genperc.cli.train", "train"),
    ("genperc.cli.methods", "encode, replay, search, train-supervised"),
    ("genperc.cli.reproduce", "reproduce, sweep-data"),
)


class CLIError(UserError):
    """A bad combination of command-line arguments."""


def build_parser() -> argparse.ArgumentParser:
    from genperc import __version__

    parser = argparse.ArgumentParser(
        prog="genperc",
        description="Compositional generalization in visual perception: render slot datasets, train slot "
        "autoencoders, invert their decoders (search, replay) and compare with encoders on unseen combinations.",
    )
    parser.add_argument("--version", action="version", version=f"genperc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module, _ in COMMANDS:
        import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may stand anywhere, also after options (argparse alone would refuse them)
    args, extra = parser.parse_known_args(argv)
    stray = [a for a in extra if a.startswith("-") or "=" not in a or not hasattr(args, "overrides")]
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if extra:
        args.overrides = list(args.overrides) + extra
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"genperc {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"genperc {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
