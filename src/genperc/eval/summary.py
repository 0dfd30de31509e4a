"""Per-image metric values with their summary: the common result type of image-level metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def as_numpy(x: np.ndarray | torch.Tensor, dtype: type | None = None) -> np.ndarray:
    """A numpy view of an array or (detached, CPU) tensor, optionally cast."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        out = (t.float() if t.dtype == torch.bfloat16 else t).numpy()  # numpy has no bfloat16
    else:
        out = np.asarray(x)
    return out if dtype is None else out.astype(dtype, copy=False)


@dataclass(frozen=True)
class PerImageScores:
    """A metric computed per image; images where it is undefined are left out of every summary."""

    mean: float
    std: float  # sample standard deviation over images (ddof = 1; nan below two images)
    n: int  # images the metric is defined on
    values: np.ndarray  # (N_total,) per image, nan where undefined

    @property
    def sem(self) -> float:
        """Standard error of the mean."""
        return self.std / np.sqrt(self.n) if self.n > 1 else float("nan")

    @staticmethod
    def of(values: np.ndarray) -> PerImageScores:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        defined = values[np.isfinite(values)]
        n = int(defined.size)
        return PerImageScores(
            mean=float(defined.mean()) if n else float("nan"),
            std=float(defined.std(ddof=1)) if n > 1 else float("nan"),
            n=n,
            values=values,
        )
