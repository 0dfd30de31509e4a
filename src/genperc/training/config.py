"""The slot-VAE training config (presets: ``configs/train/*.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from genperc.models import ModelConfig


@dataclass
class TrainConfig:
    data: str = ""  # dataset directory (its train split is used; val for validation)
    out: str = ""  # run directory (new)
    seed: int = 0
    max_steps: int = 2000
    batch_size: int = 32  # per device: the global batch is batch_size × devices × num_nodes
    lr: float = 5e-4
    lr_warmup_steps: int = 200  # linear warm-up from 0
    lr_decay: Literal["cosine", "constant"] = "cosine"  # after warm-up, to lr × lr_min_ratio at max_steps
    lr_min_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max gradient norm; 0 = off
    beta: float = 0.05  # KL weight
    beta_warmup_steps: int = 0  # linear warm-up of beta from 0
    alpha: float = 0.0  # interaction-penalty weight (xattn: attention weights; additive: masks)
    alpha_start_step: int = 0  # alpha is 0 before this step ...
    alpha_warmup_steps: int = 0  # ... then rises linearly to `alpha` over this many steps
    sample_posterior: bool = True  # decode z ~ q(z|x) (VAE) or the mean (deterministic AE)
    log_every: int = 25
    val_every: int = 250  # ID validation reconstruction error; 0 = off
    val_images: int = 256
    image_every: int = 500  # reconstruction / slot-mask picture; 0 = off
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    accelerator: Literal["auto", "cpu", "cuda", "gpu", "mps"] = "auto"
    devices: int = 1  # per node
    num_nodes: int = 1
    strategy: str = "auto"  # Fabric strategy (auto = DDP when there are several devices)
    precision: str = "32-true"  # Fabric precision; bf16 is ~15x slower than fp32 on CPUs without bf16 units
    threads: int = 0  # torch CPU threads; 0 = torch's default
    deterministic: bool = True  # deterministic algorithms (exact resume on CPU)
    progress: bool = True
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        for name in ("max_steps", "batch_size", "log_every", "checkpoint_every", "keep_checkpoints", "devices",
                     "num_nodes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
