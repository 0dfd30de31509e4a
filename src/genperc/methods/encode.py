"""The non-generative representation: an encoder applied directly (posterior means).

``encode_split(RUN, DATA, "test_ood")`` is the paper's "w/o replay" baseline, the trained VAE's
encoder on OOD images; ``encode_dataset`` runs any encoder (the replay encoder, an encoder given
as a module) over a split the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import torch
from torch import Tensor

from genperc.data.dataset import SlotDataset
from genperc.methods.common import check_data, check_split, check_vae_run, eval_mode, module_device, resolve_device
from genperc.methods.latents import Cost, Latents
from genperc.methods.slot_encoder_net import SlotEncoderNet
from genperc.models import SlotVAE


@dataclass
class EncodeConfig:
    batch_size: int = 256  # images per forward pass
    device: str = "cpu"  # auto, cpu or cuda

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


# What reads images into slots: the VAE (its encoder part) or a standalone slot encoder.
Encoder = Union[SlotVAE, SlotEncoderNet]


@torch.no_grad()
def encode(model: Encoder, images: Tensor, batch_size: int = 256) -> Tensor:
    """Posterior means (N, K, D) on the CPU for images (N, 3, H, W) in [0, 1], in chunks on the
    model's device, in eval mode."""
    device = module_device(model)
    out = []
    with eval_mode(model):
        for i in range(0, len(images), batch_size):
            out.append(model.encode(images[i : i + batch_size].to(device)).mu.float().cpu())
    if not out:
        raise ValueError("no images to encode")
    return torch.cat(out)


def split_images(dataset: SlotDataset, batch_size: int, limit: int = 0):
    """(index, images) chunks of a split (its first ``limit`` images if > 0), read from the
    memory-mapped shards one chunk at a time."""
    n = min(limit, len(dataset)) if limit > 0 else len(dataset)
    for start in range(0, n, batch_size):
        index = np.arange(start, min(start + batch_size, n))
        yield index, dataset.batch(index).images


def encode_dataset(model: Encoder, dataset: SlotDataset, method: str, batch_size: int = 256,
                   meta: dict | None = None) -> Latents:
    """``Latents`` of every image of a split under ``model``, timed."""
    if len(dataset) == 0:
        raise ValueError(f"split {dataset.split!r} of {dataset.info.root} is empty")
    t0 = time.perf_counter()
    mu = torch.cat([encode(model, images, batch_size) for _, images in split_images(dataset, batch_size)])
    wall = time.perf_counter() - t0
    return Latents(method=method, split=dataset.split, mu=mu.numpy(), labels=dataset.array("labels"),
                   factors=dataset.array("latents"), index=np.arange(len(dataset)),
                   cost=Cost(wall_s=wall, per_image_s=wall / len(dataset)), meta=dict(meta or {}))


def encode_split(source: str | Path | Encoder, data_dir: str | Path, split: str, batch_size: int = 256,
                 device: str = "cpu", method: str = "encoder") -> Latents:
    """Encode a split with the VAE encoder of a run directory, or with a given encoder module
    (which then stays on its own device, and ``method`` names it)."""
    from genperc.training import load_run

    check_split(split)
    meta: dict = {"data": str(data_dir), "batch_size": batch_size}
    if isinstance(source, (str, Path)):
        run = check_vae_run(source)
        loaded = load_run(run, device=resolve_device(device))
        model = loaded.model
        meta.update(run=str(run), vae_step=loaded.step)
    else:
        model = source
    check_data(data_dir, model.cfg.res)
    return encode_dataset(model, SlotDataset(data_dir, split), method, batch_size, meta)
