"""Typed configs: dataclass schemas filled from YAML presets, YAML files and ``key=value`` overrides.

Every stage of genperc has one dataclass config. Values are layered
``defaults < preset < --config FILE < key=value`` and checked against the schema at each layer:
an unknown key or a value of the wrong type is an error that names the key, where it came from
and what would be accepted. No string routing, no inheritance between presets: a preset is a
plain partial YAML over the dataclass defaults, so reading it tells you what it changes.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from genperc.errors import UserError

T = TypeVar("T")

PRESET_DIR = Path(__file__).parent / "configs"


class ConfigError(UserError, ValueError):
    """A config value or key is wrong; the message names it and where it came from."""


def preset_path(group: str, name: str) -> Path:
    """Path of the YAML preset ``name`` of a config group (``train``, ``data``, ``reproduce``…)."""
    path = PRESET_DIR / group / f"{name}.yaml"
    if not path.is_file():
        names = preset_names(group)
        raise ConfigError(
            f"unknown {group} preset {name!r}; available: {', '.join(names) or '(none)'}"
        )
    return path


def preset_names(group: str) -> list[str]:
    return sorted(p.stem for p in (PRESET_DIR / group).glob("*.yaml"))


def load(
    schema: type[T],
    *,
    preset: tuple[str, str] | None = None,
    file: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    base: dict[str, Any] | None = None,
) -> T:
    """Build ``schema`` from its defaults, then ``base``, a preset ``(group, name)``, a YAML file
    and ``key=value`` overrides (dotted keys for nested fields), in that order."""
    data: dict[str, Any] = {}
    if base:
        _merge(data, base)
    if preset is not None:
        path = preset_path(*preset)
        _merge(data, _read_yaml(path), source=str(path), schema=schema)
    if file is not None:
        _merge(data, _read_yaml(Path(file)), source=str(file), schema=schema)
    for item in overrides:
        key, value = parse_override(item)
        nested: dict[str, Any] = {}
        cursor = nested
        parts = key.split(".")
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = value
        _merge(data, nested, source=f"override {item!r}", schema=schema)
    return from_dict(schema, data)


def parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, not {type(data).__name__}")
    return data


def _merge(dst: dict[str, Any], src: dict[str, Any], source: str = "", schema: type | None = None) -> None:
    if schema is not None:
        _check_keys(schema, src, source)
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def _check_keys(schema: type, data: dict[str, Any], source: str, prefix: str = "") -> None:
    """Fail early (before any work) on keys the schema does not have, naming where they came from."""
    hints = get_type_hints(schema)
    names = [f.name for f in dataclasses.fields(schema)]
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(names)}"
            raise ConfigError(f"unknown config key {path!r} (from {source or 'input'}){hint}")
        sub = _dataclass_in(hints[key])
        if sub is not None and isinstance(value, dict):
            _check_keys(sub, value, source, prefix=f"{path}.")


def _dataclass_in(tp: Any) -> type | None:
    if dataclasses.is_dataclass(tp):
        return tp  # type: ignore[return-value]
    for arg in get_args(tp):
        if dataclasses.is_dataclass(arg):
            return arg  # type: ignore[return-value]
    return None


def from_dict(schema: type[T], data: dict[str, Any], prefix: str = "") -> T:
    """Instantiate ``schema`` from ``data`` with type checks; missing keys keep their defaults."""
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {data!r}")
    _check_keys(schema, data, "input", prefix)
    hints = get_type_hints(schema)
    kwargs = {}
    for f in dataclasses.fields(schema):
        if f.name in data:
            kwargs[f.name] = _coerce(hints[f.name], data[f.name], f"{prefix}{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
            raise ConfigError(f"config key {prefix}{f.name!r} is required")
    try:
        return schema(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"invalid config {prefix.rstrip('.') or schema.__name__}: {e}") from None


def _coerce(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, path)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: {value!r} fits none of {tp}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"{path} must be one of {', '.join(map(repr, choices))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, prefix=f"{path}.")  # type: ignore[arg-type]
    if origin in (tuple, list):
        if isinstance(value, str):  # "a,b,c" from the command line
            value = [yaml.safe_load(v) for v in value.split(",")] if value else []
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path} must be a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{path} must have {len(args)} items, got {len(value)}")
            items = [_coerce(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        else:
            inner = args[0] if args else Any
            items = [_coerce(inner, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path} must be a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{path} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(f"{path} must be an integer, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{path} must be an integer, got {value!r}") from None
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{path} must be a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{path} must be a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{path} must be a string, got {value!r}")
        return str(value)
    return value


def to_dict(cfg: Any) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    return json.loads(json.dumps(d))  # tuples → lists, so YAML/JSON round-trips are exact


def dump_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def save(cfg: Any, path: str | Path) -> None:
    Path(path).write_text(dump_yaml(cfg))


def sha256(cfg: Any) -> str:
    return hashlib.sha256(json.dumps(to_dict(cfg), sort_keys=True).encode()).hexdigest()


__all__ = [
    "ConfigError",
    "load",
    "from_dict",
    "to_dict",
    "dump_yaml",
    "save",
    "sha256",
    "preset_path",
    "preset_names",
    "parse_override",
]
