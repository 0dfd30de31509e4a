"""Checks of plain-JSON values that name the offending key path (``runs[2].ood["object.category"]``)."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any, Callable, Iterable, TypeVar

from genperc.errors import UserError

T = TypeVar("T")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_+\-]*$")


class ResultsError(UserError, ValueError):
    """A results object (or file) that does not have the documented shape; ``path`` locates it."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path or '<top level>'}: {message}")

    def under(self, prefix: str) -> ResultsError:
        """The same error, located below ``prefix`` (checks deep inside report paths relative to
        the object they check; the caller knows where that object sits)."""
        if not self.path:
            return ResultsError(prefix, self.message)
        sep = "" if self.path.startswith("[") else "."
        return ResultsError(f"{prefix}{sep}{self.path}" if prefix else self.path, self.message)


def child(path: str, key: str | int) -> str:
    """The path of ``key`` below ``path``; keys that are not identifiers (concept names contain a
    dot) are quoted so the path stays unambiguous."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(key):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]'


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def expect_mapping(value: Any, path: str) -> dict:
    """A JSON object with free (string) keys."""
    if not isinstance(value, dict):
        raise ResultsError(path, f"expected an object, got {_describe(value)}")
    for key in value:
        if not isinstance(key, str):
            raise ResultsError(path, f"keys must be strings, got {_describe(key)}")
    return value


def expect_object(value: Any, path: str, required: Iterable[str] = (), optional: Iterable[str] = ()) -> dict:
    """A JSON object with all ``required`` keys and no keys beyond ``required`` and ``optional``."""
    expect_mapping(value, path)
    required = tuple(required)
    for key in required:
        if key not in value:
            raise ResultsError(child(path, key), "missing (required key)")
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            raise ResultsError(child(path, key), f"unexpected key; allowed here: {', '.join(sorted(allowed))}")
    return value


def expect_number(value: Any, path: str, lo: float | None = None, hi: float | None = None) -> float:
    """A finite real number (not a boolean; numpy scalars pass) within [lo, hi], as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ResultsError(path, f"expected a number, got {_describe(value)}")
    x = float(value)
    if not math.isfinite(x):
        raise ResultsError(path, f"expected a finite number, got {x}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        bounds = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise ResultsError(path, f"{x} is outside {bounds}")
    return x


def expect_int(value: Any, path: str) -> int:
    """An integer (not a boolean; numpy integers pass), as an int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ResultsError(path, f"expected an integer, got {_describe(value)}")
    return int(value)


def expect_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise ResultsError(path, f"expected a string, got {_describe(value)}")
    return value


def expect_list(value: Any, path: str, item: Callable[[Any, str], T]) -> list[T]:
    """A JSON array whose entries each pass ``item(entry, path)``."""
    if not isinstance(value, list):
        raise ResultsError(path, f"expected a list, got {_describe(value)}")
    return [item(v, child(path, i)) for i, v in enumerate(value)]


def optional(parse: Callable[[Any, str], T]) -> Callable[[Any, str], T | None]:
    """``parse`` that also accepts null."""
    return lambda value, path: None if value is None else parse(value, path)
