"""Procedural object materials: a base-colour texture in the meshes' cylindrical UVs plus BSDF knobs.

A texture is a two-colour pattern (a mask over UV space, computed once) filled with the object's
main colour and a fixed second colour, plus principled-BSDF settings. Patterns are coarse on
purpose (a few cells across the visible half of an object) so that they stay legible on objects a
few pixels wide at 32 x 32, and they never depend on the image seed.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

TEXTURES: tuple[str, ...] = ("plastic", "metal", "stripes", "bands", "checker", "dots", "noise", "twotone")
TEX_SHAPE = (64, 128)  # (v rows, u columns): u runs around the object; Mitsuba puts row 0 at v = 0


@dataclass(frozen=True)
class Material:
    """Inputs of Mitsuba's ``principled`` BSDF for one object."""

    base_color: np.ndarray  # TEX_SHAPE + (3,) float32, linear RGB
    metallic: float
    roughness: float


@dataclass(frozen=True)
class _Style:
    pattern: np.ndarray  # TEX_SHAPE weights in [0, 1] of the main colour (1 - weight: second colour)
    second: np.ndarray | None  # linear RGB of the second colour; None: a darker shade of the main one
    metallic: float = 0.0
    roughness: float = 0.35
    saturation: float = 0.8
    value: float = 0.85


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def hue_color(hue: float, saturation: float = 0.8, value: float = 0.85) -> np.ndarray:
    """Linear RGB of an sRGB colour given in HSV."""
    return srgb_to_linear(np.array(colorsys.hsv_to_rgb(hue % 1.0, saturation, value)))


def periodic_noise(shape: tuple[int, int], cells: tuple[int, int], seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1], periodic in both axes (so the UV seam does not show)."""
    grid = np.random.default_rng(seed).random(cells)
    rows = np.arange(shape[0]) * cells[0] / shape[0]
    cols = np.arange(shape[1]) * cells[1] / shape[1]
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    fr, fc = rows - r0, cols - c0
    fr, fc = fr * fr * (3 - 2 * fr), fc * fc * (3 - 2 * fc)  # smoothstep: no grid creases
    r1, c1 = (r0 + 1) % cells[0], (c0 + 1) % cells[1]
    top = grid[r0][:, c0] * (1 - fc) + grid[r0][:, c1] * fc
    bottom = grid[r1][:, c0] * (1 - fc) + grid[r1][:, c1] * fc
    return top * (1 - fr[:, None]) + bottom * fr[:, None]


def _styles() -> dict[str, _Style]:
    u, v = np.meshgrid((np.arange(TEX_SHAPE[1]) + 0.5) / TEX_SHAPE[1], (np.arange(TEX_SHAPE[0]) + 0.5) / TEX_SHAPE[0])
    white = srgb_to_linear(np.array([0.92, 0.92, 0.9]))
    dark = srgb_to_linear(np.array([0.12, 0.12, 0.14]))
    solid = np.ones(TEX_SHAPE)
    column = np.floor(u * 6)
    dot_u, dot_v = (u * 6) % 1.0 - 0.5, (v * 3 + 0.5 * (column % 2)) % 1.0 - 0.5
    return {
        "plastic": _Style(solid, None),
        "metal": _Style(solid, None, metallic=1.0, roughness=0.45, saturation=0.45, value=0.95),
        "stripes": _Style(((u * 6) % 1.0 < 0.5) * 1.0, white),
        "bands": _Style(((v * 4) % 1.0 < 0.5) * 1.0, dark),
        "checker": _Style(((np.floor(u * 8) + np.floor(v * 4)) % 2 == 0) * 1.0, white),
        "dots": _Style((np.hypot(dot_u, 1.6 * dot_v) >= 0.3) * 1.0, white),
        "noise": _Style((periodic_noise(TEX_SHAPE, (4, 8), seed=7) > 0.5) * 1.0, None),
        "twotone": _Style((v > 0.5) * 1.0, white),
    }


_STYLES = _styles()


def make_material(texture: int, hue: float) -> Material:
    """The material of ``TEXTURES[texture]`` whose main colour has the given hue."""
    style = _STYLES[TEXTURES[texture]]
    main = hue_color(hue, style.saturation, style.value)
    second = 0.15 * main if style.second is None else style.second
    w = style.pattern[..., None]
    color = w * main + (1.0 - w) * second
    return Material(color.astype(np.float32), style.metallic, style.roughness)
