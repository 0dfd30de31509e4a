"""The reproduction config: every stage's config in one typed tree (presets: ``configs/reproduce``).

The orchestration fills what must agree across stages, so a preset cannot get it wrong: the
dataset path, run directories and seed of every stage; ``train.model.res`` and ``n_slots`` from
the data; the supervised encoder gets the VAE's encoder architecture; the device everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from genperc.data.config import DataConfig
from genperc.methods import ReplayConfig, SearchConfig, SupervisedConfig
from genperc.training import TrainConfig

ALL_METHODS = ("supervised", "encoder", "replay", "search", "replay+search", "replay-augmentation")
NEEDS_REPLAY = ("replay", "replay+search", "replay-augmentation")


@dataclass
class EvalConfig:
    readout: Literal["logreg", "mlp"] = "logreg"
    # Which ID latents the concept readout is fitted on. "encoder": one readout per seed, fitted on
    # the VAE encoder's latents of the ID training images and applied to the latents of every
    # method that lives in the VAE's latent space (encoder, replay, search, replay+search), so
    # methods differ only in how they infer slots. "method": each method's own ID training latents
    # (search runs on the first `readout_fit_images` training images).
    readout_fit: Literal["encoder", "method"] = "encoder"
    readout_fit_images: int = 1000
    identifiability: bool = True
    segmentation: bool = True
    batch_size: int = 256
    figure_images: int = 6


@dataclass
class ReproduceConfig:
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    supervised: SupervisedConfig = field(default_factory=SupervisedConfig)  # also the replay-augmentation control
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    search: SearchConfig = field(default_factory=SearchConfig)  # used for search and replay+search
    eval: EvalConfig = field(default_factory=EvalConfig)
    methods: list[str] = field(default_factory=lambda: list(ALL_METHODS))
    # splits on which slots do not separate the combined concepts (texture: both on one object), so
    # only search applies, as in the paper: replay-based methods are left out there
    search_only_splits: list[str] = field(default_factory=lambda: ["texture"])
    # key=value overrides applied for one split only, e.g. {object: ["data.n_train=4000"]}
    split_overrides: dict[str, list[str]] = field(default_factory=dict)
    device: str = "auto"  # auto (cuda when available), cpu or cuda
    threads: int = 0  # torch CPU threads; 0 = torch's default

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in ALL_METHODS]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; choose from {list(ALL_METHODS)}")
        if not self.methods:
            raise ValueError("methods is empty")
        for split in self.split_overrides:
            if split not in ("background", "texture", "object", "diagonal"):
                raise ValueError(f"split_overrides names unknown split {split!r}")

    def methods_for(self, split: str) -> list[str]:
        """The methods run on ``split``, in the configured order."""
        skip = NEEDS_REPLAY if split in self.search_only_splits else ()
        return [m for m in self.methods if m not in skip]
