from dataclasses import dataclass, field
from typing import Literal

import pytest

from genperc import config
from genperc.config import ConfigError


@dataclass
class Inner:
    width: int = 4
    name: Literal["a", "b"] = "a"


@dataclass
class Outer:
    lr: float = 1e-3
    steps: int = 10
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    tag: str | None = None
    inner: Inner = field(default_factory=Inner)


def test_layers_defaults_file_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("steps: 20\ninner:\n  width: 8\n")
    cfg = config.load(Outer, file=f, overrides=["lr=1e-4", "inner.name=b", "flag=true", "sizes=3,4,5"])
    assert cfg == Outer(lr=1e-4, steps=20, flag=True, sizes=(3, 4, 5), inner=Inner(width=8, name="b"))


def test_unknown_key_names_source_and_suggests(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'inner.widht'.*did you mean 'inner.width'"):
        config.load(Outer, overrides=["inner.widht=3"])
    f = tmp_path / "bad.yaml"
    f.write_text("stepz: 3\n")
    with pytest.raises(ConfigError, match=str(f)):
        config.load(Outer, file=f)


@pytest.mark.parametrize("item, msg", [("steps=abc", "must be an integer"), ("flag=maybe", "true or false"),
                                       ("inner.name=c", "must be one of"), ("lr", "key=value")])
def test_bad_values_are_rejected(item, msg):
    with pytest.raises(ConfigError, match=msg):
        config.load(Outer, overrides=[item])


def test_round_trip_and_hash(tmp_path):
    cfg = config.load(Outer, overrides=["tag=x", "steps=7"])
    config.save(cfg, tmp_path / "c.yaml")
    again = config.load(Outer, file=tmp_path / "c.yaml")
    assert again == cfg and config.sha256(again) == config.sha256(cfg)
    assert config.sha256(config.load(Outer, overrides=["steps=8"])) != config.sha256(cfg)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(Outer, file=tmp_path / "nope.yaml")
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        config.load(Outer, file=f)
