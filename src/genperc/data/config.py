"""The data-generation config (one dataclass; YAML presets under ``configs/data``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from genperc.data.supports import SupportConfig


@dataclass
class DataConfig:
    renderer: Literal["sprites", "scenes3d"] = "scenes3d"
    split: Literal["background", "texture", "object", "diagonal"] = "background"
    res: int = 64
    n_train: int = 2000  # ID training images
    n_val: int = 200  # ID validation images (model selection never looks at OOD data)
    n_test: int = 500  # images in each of test_id and test_ood
    seed: int = 0
    support: SupportConfig = field(default_factory=SupportConfig)
    # value subsets by name (empty = all the renderer has); fewer values = fewer combinations
    categories: list[str] = field(default_factory=list)
    backgrounds: list[str] = field(default_factory=list)
    textures: list[str] = field(default_factory=list)
    spp: int = 16  # scenes3d: samples per pixel
    variant: str | None = None  # scenes3d: Mitsuba variant (default: cuda_ad_rgb > llvm_ad_rgb > scalar_rgb)
    ood_no_overlap: bool = True  # diagonal: drop OOD samples whose sprites overlap (as ICLR'24 does)
    shard_size: int = 1000  # images per shard file
    workers: int = 0  # render processes (0 = automatic); does not change the data

    def __post_init__(self) -> None:
        if self.res < 8:
            raise ValueError(f"res must be at least 8, got {self.res}")
        for name in ("n_train", "n_val", "n_test"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.n_train < 1:
            raise ValueError("n_train must be at least 1")
        if self.spp < 1:
            raise ValueError(f"spp must be at least 1, got {self.spp}")
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be at least 1, got {self.shard_size}")

    def counts(self) -> dict[str, int]:
        """Images per stored split, in storage order."""
        return {"train": self.n_train, "val": self.n_val, "test_id": self.n_test, "test_ood": self.n_test}
