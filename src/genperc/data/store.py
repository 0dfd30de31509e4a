"""On-disk dataset format: a directory with ``manifest.json`` and ``.npy`` shards per split.

    DIR/manifest.json                      written last: its presence means the dataset is complete
    DIR/<split>/shard-00000.images.npy     (n, H, W, 3) uint8
    DIR/<split>/shard-00000.masks.npy      (n, H, W) uint8 slot labels (255 = no slot)
    DIR/<split>/shard-00000.latents.npy    (n, L) float32 factor values (categorical: value index)
    DIR/<split>/shard-00000.unit.npy       (n, L) float64 unit coordinates (support membership)
    DIR/<split>/shard-00000.labels.npy     (n, C) int16 concept labels

Every file is written to a temporary name and renamed, so a killed writer leaves either the whole
file or none. While generating, ``DIR/.generate/`` holds the plan and one receipt per finished
shard (with its checksums); both are removed when the manifest is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import genperc
from genperc.errors import UserError

FORMAT = "genperc-dataset/1"
SPLITS = ("train", "val", "test_id", "test_ood")
ARRAYS = ("images", "masks", "latents", "unit", "labels")
WORK = ".generate"


class DatasetError(UserError, ValueError):
    """A dataset directory is missing, incomplete or corrupted; the message names the file."""


def shard_stem(split: str, index: int) -> str:
    return f"{split}/shard-{index:05d}"


def array_path(root: Path, split: str, index: int, array: str) -> Path:
    return root / f"{shard_stem(split, index)}.{array}.npy"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: object) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def atomic_save_npy(path: Path, array: np.ndarray) -> dict:
    """Save ``array`` atomically; returns its file record (relative path filled by the caller)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size, "shape": list(array.shape),
            "dtype": str(array.dtype)}


def git_commit() -> str | None:
    """The commit of the genperc source checkout, if it is one (``+dirty`` with local changes)."""
    src = Path(genperc.__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass(frozen=True)
class ShardRecord:
    split: str
    index: int
    n: int
    files: dict[str, dict]  # array name -> {"path", "sha256", "bytes", "shape", "dtype"}


def read_manifest(root: Path) -> dict:
    path = Path(root) / "manifest.json"
    if not path.is_file():
        work = Path(root) / WORK
        hint = (" (generation is unfinished: run the same `genperc data generate` command again to resume)"
                if work.exists() else "")
        raise DatasetError(f"{path} not found: {root} is not a complete genperc dataset{hint}")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path} is not valid JSON ({e}); the dataset is corrupted") from None
    if manifest.get("format") != FORMAT:
        raise DatasetError(f"{path} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def shard_records(manifest: dict, split: str) -> list[ShardRecord]:
    return [ShardRecord(split, s["index"], s["n"], s["files"]) for s in manifest["shards"].get(split, [])]


@dataclass
class VerifyReport:
    ok: bool
    problems: list[str]
    files: int
    bytes: int


def verify(root: Path, checksums: bool = True) -> VerifyReport:
    """Check that every shard file listed in the manifest exists, has its size and its SHA-256."""
    root = Path(root)
    try:
        manifest = read_manifest(root)
    except DatasetError as e:
        return VerifyReport(False, [str(e)], 0, 0)
    problems: list[str] = []
    n_files = n_bytes = 0
    for split in SPLITS:
        for rec in shard_records(manifest, split):
            for meta in rec.files.values():
                path = root / meta["path"]
                n_files += 1
                if not path.is_file():
                    problems.append(f"{path}: missing")
                    continue
                size = path.stat().st_size
                n_bytes += size
                if size != meta["bytes"]:
                    problems.append(f"{path}: {size} bytes, expected {meta['bytes']} (truncated or altered)")
                elif checksums and sha256_file(path) != meta["sha256"]:
                    problems.append(f"{path}: SHA-256 differs from the manifest (corrupted)")
    return VerifyReport(not problems, problems, n_files, n_bytes)
