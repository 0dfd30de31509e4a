"""Provenance and context of a run (``Meta``): versions, code commit, time, device, dataset,
held-out combinations, hyper-parameters."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from genperc import __version__
from genperc.report.jsonshape import child, expect_list, expect_mapping, expect_object, expect_str, optional

# the libraries whose versions can change a number in results.json
TRACKED_PACKAGES = ("torch", "numpy", "scipy", "scikit-learn", "matplotlib", "mitsuba")


def package_versions() -> dict[str, str]:
    """Python and the installed versions of ``TRACKED_PACKAGES`` (read from package metadata, so
    nothing heavy is imported)."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit() -> str | None:
    """The commit of genperc's own git checkout, with ``-dirty`` when tracked files have
    uncommitted changes; None for an installed copy or without git."""
    package = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(package), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        top = Path(git("rev-parse", "--show-toplevel"))
        if (top / "src" / "genperc").resolve() != package:  # a checkout that merely contains an install
            return None
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def now_utc() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Meta:
    """Provenance and context of a run, written as ``meta`` in results.json. ``Meta.current``
    fills in what genperc can find out itself."""

    genperc_version: str = __version__
    git_commit: str | None = None  # "-dirty" appended when the checkout had uncommitted changes
    created: str | None = None  # ISO 8601, UTC
    device: str | None = None  # what it ran on, e.g. "cpu (2 threads)"
    dataset: str | None = None  # the dataset's folder or identifier
    concept_values: dict[str, list[str]] = field(default_factory=dict)  # concept → value names
    heldout_concepts: list[str] = field(default_factory=list)  # concept order inside `heldout`
    heldout: list[list[str]] = field(default_factory=list)  # the OOD combinations of concept values
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # any JSON: per-method settings
    versions: dict[str, str] = field(default_factory=dict)  # python and library versions

    @classmethod
    def current(cls, **fields: Any) -> Meta:
        """Meta with this checkout's commit, the installed versions and the time, plus ``fields``."""
        found = {"git_commit": git_commit(), "created": now_utc(), "versions": package_versions()}
        return cls(**{**found, **fields})

    @classmethod
    def unknown(cls) -> Meta:
        """The Meta of a file that recorded none (not this installation's version)."""
        return cls(genperc_version="unknown")

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, obj: Any, path: str = "meta") -> Meta:
        obj = expect_object(obj, path, optional=cls.__dataclass_fields__)

        def names(v: Any, p: str) -> list[str]:
            return expect_list(v, p, expect_str)

        parse = {
            "genperc_version": expect_str,
            "git_commit": optional(expect_str),
            "created": optional(expect_str),
            "device": optional(expect_str),
            "dataset": optional(expect_str),
            "concept_values": lambda v, p: {k: names(x, child(p, k)) for k, x in expect_mapping(v, p).items()},
            "heldout_concepts": names,
            "heldout": lambda v, p: expect_list(v, p, names),
            "hyperparameters": expect_mapping,
            "versions": lambda v, p: {k: expect_str(x, child(p, k)) for k, x in expect_mapping(v, p).items()},
        }
        return cls(**{k: parse[k](v, child(path, k)) for k, v in obj.items()})
