"""The replay sampler: new slot combinations with independent slot-wise marginals.

A bank holds the slots of N ID images, (N, K, D). A sample takes slot k from some bank row
r_k, with r_1, …, r_K all different, so every slot's marginal is the bank's while the
combination is (mostly) one no single image had:

* ``with_replacement``: each r_k uniform over the bank; a sample whose rows repeat is drawn
  again whole (rejection keeps every slot's marginal exactly uniform, by symmetry).
* ``cyclic_shift``: the rows of a block of samples are a random permutation p of bank rows
  and sample i takes slot k from p[(i + k) mod b] (SlotDiffusion's slot swap): rows differ by
  construction and every row of the block is used once per slot.
* ``novel_only``: as ``with_replacement``, and also drawn again while its concept combination
  occurs among the ID labels. The combination of a sample is read through ``concept_slots``
  (concept c is carried by inferred slot ``concept_slots[c]``, e.g. from a fitted
  ``SlotReadout``): its label c is the ID label c of the bank row that slot came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import torch
from torch import Tensor

from genperc.eval import SlotReadout
from genperc.methods.common import MethodError

RecombineMode = Literal["with_replacement", "cyclic_shift", "novel_only"]


@dataclass
class RecombineConfig:
    mode: RecombineMode = "with_replacement"
    max_tries: int = 1000  # rounds of redrawing rejected samples before giving up

    def __post_init__(self) -> None:
        if self.max_tries < 1:
            raise ValueError(f"max_tries must be >= 1, got {self.max_tries}")


@dataclass
class Recombination:
    z: Tensor  # (B, K, D) sampled slots, on the bank's device
    source: np.ndarray  # (B, K) int64 bank row each slot was taken from


def concept_slots_from_readout(readout: SlotReadout) -> tuple[int, ...]:
    """Inferred slot carrying each concept, in the readout's concept order."""
    return tuple(readout.assignment[c] for c in readout.concepts)


def _repeats(rows: np.ndarray) -> np.ndarray:
    """(B,) True where a sample takes two slots from the same bank row."""
    s = np.sort(rows, axis=1)
    return (s[:, 1:] == s[:, :-1]).any(axis=1)


class SlotRecombiner:
    """Draws recombinations of a bank of ID slots; seeded, so a sequence of ``sample`` calls is
    reproducible."""

    def __init__(self, bank: Tensor, cfg: RecombineConfig | None = None, seed: int = 0,
                 labels: np.ndarray | None = None, concept_slots: Sequence[int] | None = None) -> None:
        self.cfg = cfg or RecombineConfig()
        if bank.ndim != 3:
            raise ValueError(f"bank must be (N, K, D), got shape {tuple(bank.shape)}")
        self.bank = bank
        self.n, self.k = bank.shape[:2]
        if self.n < self.k:
            raise MethodError(f"a bank of {self.n} images cannot give {self.k} slots from different images")
        self.rng = np.random.default_rng(seed)
        self.labels = self.slot_of = self._id_keys = None
        if self.cfg.mode == "novel_only":
            self._setup_novel(labels, concept_slots)

    def _setup_novel(self, labels: np.ndarray | None, concept_slots: Sequence[int] | None) -> None:
        if labels is None or concept_slots is None:
            raise MethodError("mode novel_only needs the bank's ID labels and the slot carrying each concept")
        labels = np.asarray(labels, dtype=np.int64)
        slot_of = np.asarray(concept_slots, dtype=np.int64)
        if labels.shape != (self.n, len(slot_of)):
            raise ValueError(f"labels must be (N, C) = ({self.n}, {len(slot_of)}), got {labels.shape}")
        if slot_of.min() < 0 or slot_of.max() >= self.k:
            raise ValueError(f"concept slots {slot_of.tolist()} must lie in [0, {self.k})")
        if len(set(slot_of.tolist())) < 2:
            raise MethodError("novel_only needs concepts carried by at least two different slots; here every "
                              "concept is read from one slot, so recombining slots never changes the combination")
        self.labels, self.slot_of = labels, slot_of
        self._radix = np.cumprod(np.concatenate([[1], labels.max(axis=0)[:-1] + 1]))  # mixed-radix code
        self._id_keys = np.unique(labels @ self._radix)

    def combinations(self, source: np.ndarray) -> np.ndarray:
        """(B, C) concept labels of sampled rows (B, K) (``novel_only`` sampler only)."""
        if self.labels is None:
            raise MethodError("concept combinations need the labels of a novel_only sampler")
        cols = np.arange(len(self.slot_of))
        return self.labels[source[:, self.slot_of], cols]

    def _rejected(self, source: np.ndarray) -> np.ndarray:
        bad = _repeats(source)
        if self._id_keys is not None:
            bad |= np.isin(self.combinations(source) @ self._radix, self._id_keys)
        return bad

    def _draw_independent(self, n: int) -> np.ndarray:
        source = self.rng.integers(self.n, size=(n, self.k))
        bad = self._rejected(source)
        for _ in range(self.cfg.max_tries):
            if not bad.any():
                return source
            source[bad] = self.rng.integers(self.n, size=(int(bad.sum()), self.k))
            bad[bad] = self._rejected(source[bad])
        raise MethodError(f"{int(bad.sum())} of {n} samples still rejected after {self.cfg.max_tries} rounds "
                          f"({self.cfg.mode}): the bank has too few distinct images or novel combinations")

    def _draw_cyclic(self, n: int) -> np.ndarray:
        blocks = -(-n // self.n)  # as few blocks as the bank allows, of near-equal size
        sizes = [n // blocks + (i < n % blocks) for i in range(blocks)]
        if min(sizes) < self.k:
            raise MethodError(f"cyclic_shift needs at least {self.k} samples per block, got {min(sizes)}; "
                              f"draw at least {self.k} samples at a time")
        parts = []
        for b in sizes:
            perm = self.rng.permutation(self.n)[:b]
            shift = (np.arange(b)[:, None] + np.arange(self.k)[None, :]) % b  # (b, K)
            parts.append(perm[shift])
        return np.concatenate(parts)

    def sample(self, n: int) -> Recombination:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        source = self._draw_cyclic(n) if self.cfg.mode == "cyclic_shift" else self._draw_independent(n)
        rows = torch.from_numpy(source).to(self.bank.device)
        z = self.bank[rows, torch.arange(self.k, device=self.bank.device)]  # (n, K, D)
        return Recombination(z=z, source=source)
