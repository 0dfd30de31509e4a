"""Stage records: what makes an interrupted reproduction resume instead of starting over.

A stage (train the VAE of seed 0, search the OOD images of seed 1, …) writes its outputs, then a
record ``stages/<name>.json`` with the SHA-256 of each output and the hash of the config that
produced them. On the next run a stage is skipped only if its record exists, its config hash
matches and every output still has its checksum; anything else runs it again (after removing the
stage's own unfinished outputs, which live in folders the stage owns).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from genperc.data.store import atomic_write_json, sha256_file


@dataclass
class StageRecord:
    name: str
    key: str  # hash of what produced the outputs
    outputs: dict[str, str]  # path relative to the root -> SHA-256
    wall_s: float
    info: dict = field(default_factory=dict)


class StageBook:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / "stages"

    def _path(self, name: str) -> Path:
        return self.folder / f"{name.replace('/', '__')}.json"

    def done(self, name: str, key: str) -> StageRecord | None:
        """The record of a finished, intact stage made with ``key``; None if it must run."""
        path = self._path(name)
        if not path.is_file():
            return None
        try:
            rec = StageRecord(**json.loads(path.read_text()))
        except (json.JSONDecodeError, TypeError):
            return None
        if rec.key != key:
            return None
        for rel, digest in rec.outputs.items():
            f = self.root / rel
            if not f.is_file() or sha256_file(f) != digest:
                return None
        return rec

    def finish(self, name: str, key: str, outputs: list[Path], t0: float, info: dict | None = None) -> StageRecord:
        rec = StageRecord(name, key, {self._rel(Path(p)): sha256_file(Path(p)) for p in outputs},
                          time.perf_counter() - t0, info or {})
        atomic_write_json(self._path(name), rec.__dict__)
        return rec

    def _rel(self, path: Path) -> str:
        """Outputs inside the root are recorded relative to it (the folder may move), others absolutely."""
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path.resolve())

    def records(self, prefix: str = "") -> list[StageRecord]:
        """Every stage record whose name starts with ``prefix`` (e.g. ``seed_0/``)."""
        out = []
        for path in sorted(self.folder.glob("*.json")):
            rec = StageRecord(**json.loads(path.read_text()))
            if rec.name.startswith(prefix):
                out.append(rec)
        return out

    def forget(self, name: str, owned: list[Path] = ()) -> None:
        """Drop a stage's record and the unfinished outputs it owns, before running it again."""
        self._path(name).unlink(missing_ok=True)
        for path in owned:
            path = Path(path)
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
