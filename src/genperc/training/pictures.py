"""Pictures of what a slot autoencoder does: inputs, reconstructions, slot masks, slot images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genperc.data.show import PALETTE


def _np_image(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def reconstruction_figure(model, images: torch.Tensor, path: str | Path, title: str = "") -> Path:
    """Rows: input, reconstruction, argmax slot mask, and (when the decoder has them) one row of
    soft mask × image per slot. ``images`` (B, 3, H, W) in [0, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(images, sample=False)
    model.train(was_training)
    dec = out.decoded
    B = images.shape[0]
    K = out.z.shape[1]
    rows = [("input", [_np_image(x) for x in images]), ("recon", [_np_image(x) for x in dec.image])]
    if dec.masks is not None:
        hard = dec.masks.argmax(dim=1).cpu().numpy()
        rows.append(("slot mask", [PALETTE[h % len(PALETTE)] for h in hard]))
        for k in range(K):
            soft = dec.masks[:, k : k + 1]
            src = dec.slot_images[:, k] if dec.slot_images is not None else dec.image
            rows.append((f"slot {k}", [_np_image(s * m + (1 - m)) for s, m in zip(src, soft)]))
    fig, axes = plt.subplots(len(rows), B, figsize=(1.2 * B, 1.25 * len(rows)), squeeze=False)
    for r, (name, pics) in enumerate(rows):
        for j in range(B):
            ax = axes[r, j]
            ax.imshow(pics[j], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
