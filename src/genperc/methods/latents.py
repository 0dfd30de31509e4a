"""The representations a method produces for one split, with the ground truth and the cost of
getting them — the hand-over format between the method stages and the evaluation.

    lat = encode_split(run, data, "test_ood")      # or search_split(...), replay_split(...)
    lat.save(run / "latents" / "encoder_test_ood.pt")
    lat = Latents.load(path)
    readout.score(lat.mu, lat.labels)

Files use genperc's checkpoint format (atomic write, checksum verified on load, no code run on
load); an existing file is never replaced unless ``overwrite=True``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from genperc.methods.common import MethodError, check_output
from genperc.training import checkpoint as ckpt

FORMAT = "genperc-latents/1"


@dataclass
class Cost:
    """What producing the latents cost, at inference (training costs live in the run's summaries)."""

    wall_s: float  # seconds for the whole split: encoding plus search, if any
    per_image_s: float  # wall_s / number of images
    steps: np.ndarray | None = None  # (N,) int64 gradient steps spent on each image (search, all restarts)

    @property
    def mean_steps(self) -> float | None:
        return None if self.steps is None else float(self.steps.mean())


@dataclass
class Latents:
    method: str  # "encoder", "replay", "search", "replay+search", "supervised", "replay-augmentation", …
    split: str  # "train", "val", "test_id" or "test_ood"
    mu: np.ndarray  # (N, K, D) float32 slot representations (posterior means, searched slots, features)
    labels: np.ndarray  # (N, C) int64 ground-truth concept labels, columns as DatasetInfo.concepts
    factors: np.ndarray  # (N, L) float32 ground-truth factor values, columns as DatasetInfo.space
    index: np.ndarray  # (N,) int64 image index in the split
    cost: Cost
    pred: np.ndarray | None = None  # (N, C) int64 labels predicted by the method itself (supervised heads)
    loss: np.ndarray | None = None  # (N,) reconstruction error (sum of squares) of mu, when computed (search)
    meta: dict = field(default_factory=dict)  # provenance: run, data, resolved config, checkpoint step (JSON)

    def __post_init__(self) -> None:
        self.mu = np.asarray(self.mu, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.factors = np.asarray(self.factors, dtype=np.float32)
        self.index = np.asarray(self.index, dtype=np.int64)
        n = len(self.mu)
        if self.mu.ndim != 3:
            raise ValueError(f"mu must be (N, K, D), got shape {self.mu.shape}")
        for name in ("labels", "factors", "index", "pred", "loss"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"{name} has {len(value)} rows but mu has {n}")
        if self.pred is not None and self.pred.shape != self.labels.shape:
            raise ValueError(f"pred {self.pred.shape} and labels {self.labels.shape} differ in shape")

    def __len__(self) -> int:
        return len(self.mu)

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        path = check_output(path, overwrite)
        arrays = {"mu": self.mu, "labels": self.labels, "factors": self.factors, "index": self.index,
                  "pred": self.pred, "loss": self.loss, "steps": self.cost.steps}
        state = {
            "format": FORMAT, "method": self.method, "split": self.split,
            "wall_s": float(self.cost.wall_s), "per_image_s": float(self.cost.per_image_s),
            "meta": json.dumps(self.meta),  # a string: any JSON survives weights_only loading
            **{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items() if v is not None},
        }
        ckpt.save(path, state)
        return path

    @staticmethod
    def load(path: str | Path) -> Latents:
        state = ckpt.load(path)
        if state.get("format") != FORMAT:
            raise MethodError(f"{path} holds no genperc latents (format {state.get('format')!r})")

        def arr(key: str) -> np.ndarray | None:
            return state[key].numpy() if key in state else None

        cost = Cost(wall_s=state["wall_s"], per_image_s=state["per_image_s"], steps=arr("steps"))
        return Latents(method=state["method"], split=state["split"], mu=arr("mu"), labels=arr("labels"),
                       factors=arr("factors"), index=arr("index"), cost=cost, pred=arr("pred"),
                       loss=arr("loss"), meta=json.loads(state["meta"]))
