"""Reading datasets: a memory-mapped torch ``Dataset`` with typed records and vectorised batches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genperc.data import store
from genperc.data.factors import Concept, LatentSpace


@dataclass
class Record:
    """One image of a genperc dataset."""

    image: torch.Tensor  # (3, H, W) float32 in [0, 1]
    mask: torch.Tensor  # (H, W) int64 ground-truth slot of each pixel; 255 = no slot
    latents: torch.Tensor  # (L,) float32 factor values, columns as in DatasetInfo.space
    labels: torch.Tensor  # (C,) int64 concept labels, as in DatasetInfo.concepts
    index: int


@dataclass
class Batch:
    images: torch.Tensor  # (B, 3, H, W) float32 in [0, 1]
    masks: torch.Tensor  # (B, H, W) int64
    latents: torch.Tensor  # (B, L) float32
    labels: torch.Tensor  # (B, C) int64
    index: torch.Tensor  # (B,) int64

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(t.to(device) for t in (self.images, self.masks, self.latents, self.labels, self.index)))


def collate(records: list[Record]) -> Batch:
    return Batch(torch.stack([r.image for r in records]), torch.stack([r.mask for r in records]),
                 torch.stack([r.latents for r in records]), torch.stack([r.labels for r in records]),
                 torch.tensor([r.index for r in records]))


@dataclass(frozen=True)
class DatasetInfo:
    root: Path
    manifest: dict
    space: LatentSpace
    concepts: tuple[Concept, ...]
    res: int
    object_slots: tuple[int, ...]
    background_slot: int | None

    @property
    def n_slots(self) -> int:
        return self.space.n_slots

    @property
    def concept_names(self) -> list[str]:
        return [c.name for c in self.concepts]

    @property
    def split(self) -> str:
        return self.manifest["split"]

    @staticmethod
    def from_dir(root: str | Path) -> DatasetInfo:
        root = Path(root)
        m = store.read_manifest(root)
        space = LatentSpace.from_json(m["space"])
        return DatasetInfo(root, m, space, space.concepts, m["res"], tuple(m["object_slots"]), m["background_slot"])


class SlotDataset(torch.utils.data.Dataset):
    """One stored split (``train``, ``val``, ``test_id`` or ``test_ood``) of a dataset directory.

    Shards are memory-mapped: opening is cheap and only touched images are read. On opening, the
    file sizes and array shapes are checked against the manifest (``verify=True`` also checks the
    SHA-256 of every file), so a truncated or swapped shard fails here, naming the file.
    """

    def __init__(self, root: str | Path, split: str = "train", verify: bool = False) -> None:
        if split not in store.SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {', '.join(store.SPLITS)}")
        self.info = DatasetInfo.from_dir(root)
        self.split = split
        root = self.info.root
        if verify:
            report = store.verify(root)
            if not report.ok:
                raise store.DatasetError("; ".join(report.problems))
        self._shards: list[dict[str, np.ndarray]] = []
        for rec in store.shard_records(self.info.manifest, split):
            arrays = {}
            for name in store.ARRAYS:
                meta = rec.files[name]
                path = root / meta["path"]
                if not path.is_file():
                    raise store.DatasetError(f"{path}: missing (run `genperc data verify {root}`)")
                if path.stat().st_size != meta["bytes"]:
                    raise store.DatasetError(f"{path}: size differs from the manifest (truncated or altered)")
                try:
                    arr = np.load(path, mmap_mode="r", allow_pickle=False)
                except ValueError as e:
                    raise store.DatasetError(f"{path}: not a readable .npy file ({e})") from None
                if list(arr.shape) != meta["shape"] or str(arr.dtype) != meta["dtype"]:
                    raise store.DatasetError(f"{path}: array {arr.dtype}{list(arr.shape)} does not match the "
                                             f"manifest {meta['dtype']}{meta['shape']}")
                arrays[name] = arr
            self._shards.append(arrays)
        sizes = [len(s["images"]) for s in self._shards]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def _locate(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(index) and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f"index out of range for {len(self)} images")
        shard = np.searchsorted(self._offsets, index, side="right") - 1
        return shard, index - self._offsets[shard]

    def array(self, name: str, index: np.ndarray | None = None) -> np.ndarray:
        """Rows ``index`` (default: all) of one stored array, in the given order."""
        if index is None:
            parts = [np.asarray(s[name]) for s in self._shards]
            return np.concatenate(parts) if parts else np.empty((0,))
        index = np.asarray(index, dtype=np.int64)
        shard, local = self._locate(index)
        first = self._shards[0][name]
        out = np.empty((len(index), *first.shape[1:]), dtype=first.dtype)
        for s in np.unique(shard):
            sel = shard == s
            order = np.argsort(local[sel])  # sorted reads are kinder to memory maps
            rows = np.asarray(self._shards[s][name][local[sel][order]])
            out[np.flatnonzero(sel)[order]] = rows
        return out

    def batch(self, index: np.ndarray | list[int] | torch.Tensor) -> Batch:
        index = np.asarray(index, dtype=np.int64)
        images = torch.from_numpy(self.array("images", index)).permute(0, 3, 1, 2).float().div_(255.0)
        return Batch(images.contiguous(), torch.from_numpy(self.array("masks", index)).long(),
                     torch.from_numpy(self.array("latents", index)), torch.from_numpy(self.array("labels", index)).long(),
                     torch.from_numpy(index))

    def __getitem__(self, i: int) -> Record:
        b = self.batch([int(i)])
        return Record(b.images[0], b.masks[0], b.latents[0], b.labels[0], int(i))

    def __getitems__(self, indices: list[int]) -> list[Record]:
        b = self.batch(indices)
        return [Record(b.images[j], b.masks[j], b.latents[j], b.labels[j], int(b.index[j])) for j in range(len(b.index))]

    def images_uint8(self) -> torch.Tensor:
        """All images as one (N, 3, H, W) uint8 tensor (for in-memory training on small data)."""
        return torch.from_numpy(self.array("images")).permute(0, 3, 1, 2).contiguous()
