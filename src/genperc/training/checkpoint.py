"""Checkpoints that are written atomically and verified on load.

A checkpoint file is ``MAGIC + sha256(payload) + "\\n" + payload`` where the payload is a
``torch.save`` of plain state (tensors, numbers, strings, lists, dicts). It is written to a
temporary file, fsync'ed and renamed, so a kill at any moment leaves the previous checkpoint
intact; on load the checksum is recomputed, so a truncated or altered file is rejected by name
instead of being half-loaded. Loading uses ``weights_only=True``: no code runs from a checkpoint.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from genperc.errors import UserError

MAGIC = b"GENPERC-CKPT-1\n"
_NAME = re.compile(r"step_(\d{8})\.pt$")


class CheckpointError(UserError, ValueError):
    """A checkpoint is missing, truncated or altered; the message names the file."""


def save(path: str | Path, state: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n")
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{path} is not a genperc checkpoint (bad header)")
    head_end = data.find(b"\n", len(MAGIC))
    digest, payload = data[len(MAGIC):head_end].decode(errors="replace"), data[head_end + 1:]
    if hashlib.sha256(payload).hexdigest() != digest:
        raise CheckpointError(f"{path} is corrupted (checksum mismatch: truncated or altered); delete it to "
                              "resume from the previous checkpoint")
    return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)


def path_for(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step_{step:08d}.pt"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the checkpoints of a run, oldest first."""
    folder = Path(run_dir) / "checkpoints"
    found = [(int(m.group(1)), p) for p in folder.glob("step_*.pt") if (m := _NAME.search(p.name))]
    return sorted(found)


def latest(run_dir: str | Path) -> Path:
    found = list_checkpoints(run_dir)
    if not found:
        raise CheckpointError(f"{run_dir} has no checkpoints (looked in {Path(run_dir) / 'checkpoints'})")
    return found[-1][1]


def prune(run_dir: str | Path, keep: int) -> None:
    for _, path in list_checkpoints(run_dir)[:-keep]:
        path.unlink()


def rng_state() -> dict:
    """Every random generator a training step may touch, as plain tensors/ints."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
