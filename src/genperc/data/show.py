"""A picture grid of a dataset for a person to look at: images, slot masks and concept labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genperc.data.dataset import SlotDataset
from genperc.data.splits import NO_SLOT

# distinct colours for slot labels; "no slot" is drawn black
PALETTE = np.array([[230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                    [70, 240, 240], [240, 50, 230], [210, 245, 60]], dtype=np.uint8)


def colour_masks(masks: np.ndarray) -> np.ndarray:
    """(…, H, W) slot labels → (…, H, W, 3) uint8 colours."""
    out = PALETTE[np.asarray(masks) % len(PALETTE)]
    out[np.asarray(masks) == NO_SLOT] = 0
    return out


def show(root: str | Path, out: str | Path, n: int = 8, splits: tuple[str, ...] = ("train", "test_ood"),
         seed: int = 0) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = [SlotDataset(root, s) for s in splits]
    sets = [(s, d) for s, d in zip(splits, sets) if len(d)]
    if not sets:
        raise ValueError(f"{root}: the splits {splits} hold no images")
    info = sets[0][1].info
    cols = min(n, max(len(d) for _, d in sets))
    fig, axes = plt.subplots(2 * len(sets), cols, figsize=(1.5 * cols, 3.4 * len(sets)), squeeze=False)
    rng = np.random.default_rng(seed)
    for row, (split, ds) in enumerate(sets):
        idx = np.sort(rng.choice(len(ds), size=min(cols, len(ds)), replace=False))
        images, masks, labels = ds.array("images", idx), ds.array("masks", idx), ds.array("labels", idx)
        for j in range(cols):
            top, bottom = axes[2 * row, j], axes[2 * row + 1, j]
            for ax in (top, bottom):
                ax.set_xticks([])
                ax.set_yticks([])
            if j >= len(idx):
                top.axis("off")
                bottom.axis("off")
                continue
            top.imshow(images[j], interpolation="nearest")
            bottom.imshow(colour_masks(masks[j]), interpolation="nearest")
            names = [c.values[v] for c, v in zip(info.concepts, labels[j])]
            top.set_title("\n".join(names), fontsize=7)
        axes[2 * row, 0].set_ylabel(f"{split}\nimage", fontsize=8)
        axes[2 * row + 1, 0].set_ylabel("slot mask", fontsize=8)
    fig.suptitle(f"{info.manifest['renderer']} / {info.split} split, {info.res}px  "
                 f"(concepts: {', '.join(info.concept_names)})", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
