"""Reconstruction MSE per image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genperc.eval import reconstruction_mse


def test_per_image_mse_and_summary() -> None:
    x = torch.zeros(3, 3, 2, 2)
    x_hat = x.clone()
    x_hat[1] = 1.0  # MSE 1
    x_hat[2, 0] = 2.0  # a third of the values off by 2: MSE 4/3
    result = reconstruction_mse(x_hat, x)
    assert result.values.tolist() == pytest.approx([0.0, 1.0, 4 / 3])
    assert result.mean == pytest.approx(7 / 9)
    assert result.std == pytest.approx(np.std([0.0, 1.0, 4 / 3], ddof=1))
    assert result.sem == pytest.approx(result.std / np.sqrt(3))
    assert result.n == 3
    from_numpy = reconstruction_mse(x_hat.numpy(), x.numpy())
    assert from_numpy.values.tolist() == pytest.approx(result.values.tolist())
    assert reconstruction_mse(x_hat.bfloat16(), x.bfloat16()).mean == pytest.approx(7 / 9, rel=1e-2)


def test_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        reconstruction_mse(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 5))
