"""The figures of a reproduction run, as PNG files.

Every function takes plain numpy arrays (torch tensors: ``t.detach().cpu().numpy()``) or report
dataclasses and an output path, writes the PNG atomically and returns the path. Figures are drawn
on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through pyplot, so nothing
depends on a display or on global pyplot state. Images are (N, 3, H, W) floats in [0, 1]; soft
slot masks are (N, K, H, W), summing to 1 over K.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import Patch

from genperc.report.files import atomic_write_bytes
from genperc.report.results import Results
from genperc.report.runs import GENERATIVE, JOINT

ID_COLOUR, OOD_COLOUR = "#9bbbd9", "#d9622b"
OOD_HATCH = "///"
GENERATIVE_SHADE = "#f1f1ec"
SLOT_COLOURS = np.array([to_rgb(f"C{i}") for i in range(10)])  # argmax masks: slot k → colour k
DPI = 120


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Render ``fig`` to PNG in memory, then write it atomically."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return atomic_write_bytes(path, buf.getvalue())


def chance_levels(concept_values: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Chance accuracy of uniform guessing: 1 / number of values per concept, and their product
    for joint accuracy."""
    chance = {c: 1.0 / len(v) for c, v in concept_values.items() if len(v)}
    if chance:
        chance[JOINT] = math.prod(chance.values())
    return chance


def plot_accuracy(results: Results, path: str | Path, chance: Mapping[str, float] | None = None) -> Path:
    """Grouped bars per method, ID vs OOD, one panel per concept plus joint; error bars are the
    std over seeds, dots the individual seeds, dashed lines chance level (``chance``: concept →
    accuracy; by default from ``results.meta.concept_values``)."""
    chance = chance_levels(results.meta.concept_values) if chance is None else chance
    keys = [*results.concepts, JOINT]
    methods = results.methods
    fig = Figure(figsize=(0.55 * len(methods) * len(keys) + 1.5, 3.6), layout="constrained")
    axes = fig.subplots(1, len(keys), sharey=True, squeeze=False)[0]
    x = np.arange(len(methods))
    width = 0.38
    for ax, key in zip(axes, keys):
        gen = [i for i, m in enumerate(methods) if m in GENERATIVE]
        if gen:  # the decoder-inverting methods come last; shade them as one group
            ax.axvspan(min(gen) - 0.5, max(gen) + 0.5, color=GENERATIVE_SHADE, zorder=0)
        for offset, split, colour, hatch in ((-width / 2, "id", ID_COLOUR, ""), (width / 2, "ood", OOD_COLOUR, OOD_HATCH)):
            for i, method in enumerate(methods):
                stat = getattr(results.summary[method], split).get(key)
                if stat is None:
                    continue
                ax.bar(x[i] + offset, 100 * stat.mean, width, yerr=100 * stat.std, color=colour, hatch=hatch,
                       edgecolor="#444444", linewidth=0.6, capsize=2.5, error_kw={"elinewidth": 0.9}, zorder=2)
                seeds = [100 * getattr(r, split)[key] for r in results.runs_of(method) if key in getattr(r, split)]
                jitter = np.linspace(-width / 4, width / 4, len(seeds)) if len(seeds) > 1 else np.zeros(1)
                ax.scatter(x[i] + offset + jitter, seeds, s=9, color="black", linewidths=0, zorder=3)
        if key in chance:
            ax.axhline(100 * chance[key], color="#333333", linestyle="--", linewidth=1, zorder=4)
        ax.set_title(key, fontsize=10)
        ax.set_xticks(x, methods, rotation=35, ha="right", fontsize=8)
        ax.set_xlim(-0.6, len(methods) - 0.4)
        ax.set_ylim(0, 105)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6, zorder=0)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("accuracy (%)")
    handles = [
        Patch(facecolor=ID_COLOUR, edgecolor="#444444", label="ID (seen combinations)"),
        Patch(facecolor=OOD_COLOUR, edgecolor="#444444", hatch=OOD_HATCH, label="OOD (novel combinations)"),
        Patch(facecolor=GENERATIVE_SHADE, label="inverts the decoder"),
    ]
    if chance:
        handles.append(axes[0].plot([], [], color="#555555", linestyle="--", linewidth=1, label="chance")[0])
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), fontsize=8, frameon=False)
    return save_figure(fig, path)


@dataclass(frozen=True)
class ImageBatch:
    """Inputs, their reconstructions and (for slot decoders) soft slot masks."""

    images: np.ndarray  # (N, 3, H, W) in [0, 1]
    recons: np.ndarray  # (N, 3, H, W) in [0, 1]
    masks: np.ndarray | None = None  # (N, K, H, W), softmax over slots

    def __post_init__(self) -> None:
        images, recons = np.asarray(self.images), np.asarray(self.recons)
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W); got {images.shape}")
        if recons.shape != images.shape:
            raise ValueError(f"reconstructions {recons.shape} and images {images.shape} differ in shape")
        if self.masks is not None:
            masks = np.asarray(self.masks)
            n, _, h, w = images.shape
            if masks.ndim != 4 or masks.shape[0] != n or masks.shape[2:] != (h, w):
                raise ValueError(f"masks must be (N, K, H, W) = ({n}, K, {h}, {w}); got {masks.shape}")


def _hwc(image: np.ndarray) -> np.ndarray:
    return np.clip(np.moveaxis(image, 0, -1), 0.0, 1.0)


def _blank(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#bbbbbb")


def _image_rows(sub: SubFigure, batch: ImageBatch, n: int, err_max: float, title: str) -> None:
    images = np.asarray(batch.images, dtype=np.float64)[:n]
    recons = np.asarray(batch.recons, dtype=np.float64)[:n]
    err = np.abs(images - recons).mean(axis=1)
    rows: list[tuple[str, list[np.ndarray]]] = [
        ("input", [_hwc(x) for x in images]),
        ("reconstruction", [_hwc(x) for x in recons]),
        (f"|error| (0–{err_max:.2f})", list(err)),
    ]
    if batch.masks is not None:
        masks = np.asarray(batch.masks, dtype=np.float64)[:n]
        rows.append(("argmax mask", list(SLOT_COLOURS[masks.argmax(axis=1) % len(SLOT_COLOURS)])))
        for k in range(masks.shape[1]):  # what slot k explains, on white
            m = masks[:, k : k + 1]
            rows.append((f"slot {k}", [_hwc(r * mk + (1 - mk)) for r, mk in zip(recons, m)]))
    axes = sub.subplots(len(rows), len(images), squeeze=False, gridspec_kw={"wspace": 0.05, "hspace": 0.08})
    for r, (label, pictures) in enumerate(rows):
        for j, picture in enumerate(pictures):
            ax = axes[r, j]
            if label.startswith("|error|"):
                ax.imshow(picture, cmap="magma", vmin=0.0, vmax=err_max, interpolation="nearest")
            else:
                ax.imshow(picture, interpolation="nearest")
            _blank(ax)
            if label == "reconstruction":
                ax.set_title(f"MSE {np.mean((images[j] - recons[j]) ** 2):.1e}", fontsize=6, pad=2)
        axes[r, 0].set_ylabel(label, fontsize=8)
    sub.suptitle(title, fontsize=10)


def plot_reconstructions(id: ImageBatch, ood: ImageBatch, path: str | Path, max_images: int = 6) -> Path:
    """ID (left) and OOD (right) side by side; rows: input, reconstruction (with its MSE), absolute
    error (same colour scale on both sides), and with masks the argmax slot mask and each slot's
    share of the reconstruction."""
    n_id, n_ood = min(max_images, len(id.images)), min(max_images, len(ood.images))
    err_max = max(
        float(np.abs(np.asarray(b.images[:n], dtype=np.float64) - np.asarray(b.recons[:n])).mean(axis=1).max())
        for b, n in ((id, n_id), (ood, n_ood))
    )
    n_rows = max(3 + (0 if b.masks is None else 1 + np.asarray(b.masks).shape[1]) for b in (id, ood))
    fig = Figure(figsize=(1.05 * (n_id + n_ood) + 1.2, 1.05 * n_rows + 0.5), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[n_id, n_ood], wspace=0.04)
    _image_rows(left, id, n_id, max(err_max, 1e-6), "ID (seen combinations)")
    _image_rows(right, ood, n_ood, max(err_max, 1e-6), "OOD (novel combinations)")
    return save_figure(fig, path)


def _carry_forward(losses: np.ndarray) -> np.ndarray:
    """Fill the nan steps after an image stopped early with its last loss, so the mean over
    images stays the mean of what each image's latent currently is."""
    out = np.array(losses, dtype=np.float64)
    for t in range(1, out.shape[1]):
        missing = np.isnan(out[:, t])
        out[missing, t] = out[missing, t - 1]
    return out


def plot_search_loss(
    curves: Mapping[str, np.ndarray],
    path: str | Path,
    log_every: int = 1,
    ylabel: str = "reconstruction loss (MSE)",
) -> Path:
    """Reconstruction loss vs search step, one line per initialisation (label → (N, T) losses of
    N images or seeds, recorded every ``log_every`` steps; nan after an image stopped early): the
    mean and a band of ± one std across the N, on a log scale."""
    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.subplots()
    for i, (label, losses) in enumerate(curves.items()):
        losses = np.atleast_2d(np.asarray(losses, dtype=np.float64))
        if losses.ndim != 2 or not np.isfinite(losses[:, 0]).all():
            raise ValueError(f"search losses of {label!r} must be (N, T) with a finite first step; got {losses.shape}")
        filled = _carry_forward(losses)
        mean, std = filled.mean(axis=0), filled.std(axis=0)
        steps = np.arange(filled.shape[1]) * log_every
        floor = 0.5 * filled[filled > 0].min() if (filled > 0).any() else 1e-12  # log scale: keep the band positive
        ax.fill_between(steps, np.maximum(mean - std, floor), mean + std, color=f"C{i}", alpha=0.2, linewidth=0)
        ax.plot(steps, mean, color=f"C{i}", linewidth=1.6, label=f"{label} (n = {len(filled)})")
    ax.set_yscale("log")
    ax.set_xlabel("search step")
    ax.set_ylabel(ylabel)
    ax.grid(which="both", color="#e5e5e5", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)


def plot_replay_samples(
    samples: np.ndarray,
    path: str | Path,
    sources: np.ndarray | None = None,
    slot_names: Sequence[str] | None = None,
    ncols: int = 8,
) -> Path:
    """Decoded recombinations (N, 3, H, W) in a grid of ``ncols`` columns. With ``sources``
    (N, K, 3, H, W), the image each slot was taken from, only the first ``ncols`` samples are shown,
    each below its K sources (rows named by ``slot_names``)."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 4 or samples.shape[1] != 3:
        raise ValueError(f"replay samples must be (N, 3, H, W); got {samples.shape}")
    if sources is None:
        ncols = min(ncols, len(samples))
        grid = [[samples[r * ncols + c] if r * ncols + c < len(samples) else None for c in range(ncols)]
                for r in range(math.ceil(len(samples) / ncols))]
        labels = ["" for _ in grid]
    else:
        sources = np.asarray(sources, dtype=np.float64)
        if sources.ndim != 5 or sources.shape[0] != len(samples) or sources.shape[2:] != samples.shape[1:]:
            raise ValueError(f"sources must be (N, K, 3, H, W) with N, H, W of the samples; got {sources.shape}")
        ncols = min(ncols, len(samples))
        k = sources.shape[1]
        names = list(slot_names) if slot_names is not None else [f"slot {i}" for i in range(k)]
        if len(names) != k:
            raise ValueError(f"{len(names)} slot names for {k} slots")
        grid = [[sources[c, i] for c in range(ncols)] for i in range(k)] + [[samples[c] for c in range(ncols)]]
        labels = [f"{n} from" for n in names] + ["recombined"]
    fig = Figure(figsize=(1.05 * ncols + 0.6, 1.05 * len(grid) + 0.2), layout="constrained")
    axes = fig.subplots(len(grid), ncols, squeeze=False, gridspec_kw={"wspace": 0.05, "hspace": 0.08})
    for r, row in enumerate(grid):
        for c, image in enumerate(row):
            ax = axes[r, c]
            if image is None:
                ax.set_axis_off()
                continue
            ax.imshow(_hwc(image), interpolation="nearest")
            _blank(ax)
            if labels[r] == "recombined":
                for spine in ax.spines.values():
                    spine.set_color(OOD_COLOUR)
                    spine.set_linewidth(2)
        axes[r, 0].set_ylabel(labels[r], fontsize=8)
    return save_figure(fig, path)
