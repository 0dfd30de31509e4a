"""The command line: --help everywhere, one-line errors with exit status 2 for bad input."""

import argparse
import json
import subprocess
import sys

import pytest

from genperc.cli.main import build_parser, main


def all_commands():
    """Every (sub)command path of the parser, e.g. ["data", "generate"]."""
    out = []

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    out.append(prefix + [name])
                    walk(sub, prefix + [name])

    walk(build_parser(), [])
    return out


def test_every_command_has_help(capsys):
    commands = all_commands()
    assert ["data", "generate"] in commands and ["train"] in commands
    for cmd in [[]] + commands:
        with pytest.raises(SystemExit) as e:
            main(cmd + ["--help"])
        assert e.value.code == 0
        assert "usage: genperc" in capsys.readouterr().out


def run(*args):
    return subprocess.run([sys.executable, "-m", "genperc.cli.main", *args], capture_output=True, text=True)


def test_data_cli_round_trip(tmp_path):
    out = tmp_path / "d"
    r = run("data", "generate", "--renderer", "sprites", "--split", "object", "--n-train", "40", "--n-val", "8",
            "--n-test", "8", "--res", "16", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "split: object" in r.stderr  # the resolved config is printed
    assert run("data", "verify", str(out)).returncode == 0
    r = run("data", "show", str(out), "--out", str(tmp_path / "grid.png"), "--n", "4")
    assert r.returncode == 0 and (tmp_path / "grid.png").stat().st_size > 1000
    again = run("data", "generate", "--renderer", "sprites", "--split", "object", "--n-train", "40", "--n-val",
                "8", "--n-test", "8", "--res", "16", "--out", str(out), "--quiet")
    assert again.returncode == 0 and "up to date" in again.stdout
    changed = run("data", "generate", "--renderer", "sprites", "--split", "object", "--n-train", "41", "--out",
                  str(out), "--quiet")
    assert changed.returncode == 2 and "--overwrite" in changed.stderr
    (out / "train" / "shard-00000.labels.npy").write_bytes(b"\x93NUMPY broken")
    r = run("data", "verify", str(out))
    assert r.returncode == 1 and "shard-00000.labels.npy" in r.stderr


def test_heldout_file(tmp_path):
    f = tmp_path / "held.json"
    f.write_text(json.dumps([["circle", "checker"], ["star", "dots"]]))
    out = tmp_path / "d"
    r = run("data", "generate", "--renderer", "sprites", "--split", "background", "--n-train", "30", "--n-test",
            "10", "--n-val", "0", "--res", "16", "--heldout", str(f), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["support"]["heldout"] == [["circle", "checker"], ["star", "dots"]]


@pytest.mark.parametrize("args, message", [
    (["data", "generate", "--renderer", "sprites", "--out", "{tmp}/x", "support.heldout_fractio=0.3"],
     "did you mean 'support.heldout_fraction'"),
    (["data", "generate", "--renderer", "sprites", "--out", "{tmp}/x", "categories=[zebra]"], "'zebra'"),
    (["data", "generate", "--renderer", "sprites", "--out", "{tmp}/x", "--heldout", "{tmp}/none.json"],
     "file not found"),
    (["data", "generate", "--renderer", "sprites", "--out", "{tmp}/x", "--shard", "3/2"], "0 <= I < N"),
    (["data", "generate", "--renderer", "scenes3d", "--split", "diagonal", "--out", "{tmp}/x"], "sprites renderer"),
    (["data", "show", "{tmp}/nothing", "--out", "{tmp}/g.png"], "not a complete genperc dataset"),
    (["train", "out={tmp}/r"], "no dataset"),
    (["train", "data={tmp}/nothing", "out={tmp}/r"], "manifest.json not found"),
    (["train", "--resume", "{tmp}/nothing"], "not a training run"),
    (["train", "--preset", "nope", "out={tmp}/r"], "unknown train preset"),
])
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    r = run(*[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()
