"""What every method stage shares: its error type, checks of its inputs (run directory, dataset,
split, device) that run before any expensive work, and where its outputs go by default."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch
from torch import nn

from genperc.data import store
from genperc.data.dataset import DatasetInfo
from genperc.errors import UserError

REPLAY_DIR = "replay"  # inside a VAE run directory: the replay encoder, its config and logs
LATENTS_DIR = "latents"  # inside a run directory: default place of written latents


class MethodError(UserError, ValueError):
    """A method cannot run on the given input; the message says what is missing and what to do."""


def check_split(split: str) -> str:
    if split not in store.SPLITS:
        raise MethodError(f"unknown split {split!r}; choose one of {', '.join(store.SPLITS)}")
    return split


def check_vae_run(run_dir: str | Path) -> Path:
    """A VAE run directory: ``config.yaml`` and at least one checkpoint."""
    run = Path(run_dir)
    if not run.is_dir():
        raise MethodError(f"run directory {run} does not exist (train one with `genperc train`)")
    if not (run / "config.yaml").is_file():
        raise MethodError(f"{run} is not a training run (no config.yaml)")
    if not any((run / "checkpoints").glob("step_*.pt")):
        raise MethodError(f"{run} has no checkpoints yet (is training still starting?)")
    return run


def check_data(data_dir: str | Path, res: int | None = None) -> DatasetInfo:
    """The dataset's description; with ``res``, its images must have that size (the model's)."""
    if not str(data_dir):
        raise MethodError("no dataset given: pass the dataset directory (--data DIR or data=DIR)")
    info = DatasetInfo.from_dir(data_dir)  # DatasetError (a UserError) names a missing manifest
    if res is not None and info.res != res:
        raise MethodError(f"{data_dir} holds {info.res}² images but the model takes {res}²")
    return info


def check_output(path: str | Path, overwrite: bool) -> Path:
    path = Path(path)
    if path.exists() and not overwrite:
        raise MethodError(f"{path} already exists; pass --overwrite (overwrite=True) to replace it")
    return path


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when present), ``cpu`` or ``cuda[:i]``; asking for a missing GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise MethodError(f"unknown device {name!r}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MethodError(f"device {name!r} requested but no CUDA GPU is available; use device=cpu")
    return device


def latents_path(run_dir: str | Path, method: str, split: str) -> Path:
    """Default file of a method's latents of one split, inside the run directory."""
    return Path(run_dir) / LATENTS_DIR / f"{method.replace('+', '_')}_{split}.pt"


def module_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run in eval mode and put the module's training flag back afterwards."""
    was = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was)
