"""Reconstruction error per image; ID vs OOD is the same call on two data sets."""

from __future__ import annotations

import numpy as np
import torch

from genperc.eval.summary import PerImageScores, as_numpy


def reconstruction_mse(x_hat: torch.Tensor | np.ndarray, x: torch.Tensor | np.ndarray) -> PerImageScores:
    """Mean squared error of each image (mean over channels and pixels), summarised over images.

    Images are (N, C, H, W) or any (N, …) shape; both inputs must have the same shape.
    """
    x_hat_np, x_np = as_numpy(x_hat, np.float64), as_numpy(x, np.float64)
    if x_hat_np.shape != x_np.shape or x_np.ndim < 2 or x_np.shape[0] == 0:
        raise ValueError(
            f"reconstructions and images must be (N, ...) of one shape; got {x_hat_np.shape}, {x_np.shape}"
        )
    per_image = ((x_hat_np - x_np) ** 2).reshape(x_np.shape[0], -1).mean(axis=1)
    return PerImageScores.of(per_image)
