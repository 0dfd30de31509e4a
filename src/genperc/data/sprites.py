"""A numpy 2D sprite renderer with analytic anti-aliasing and exact per-object masks.

Shapes are signed distance functions in image units ([0, 1]², y down); a pixel's coverage is
``clip(0.5 − sdf·res, 0, 1)``, i.e. a one-pixel linear ramp across the edge, which gives the same
anti-aliasing at every resolution without supersampling. Objects are painted in order (later on
top); a pixel belongs to the top-most object that covers at least half of it. About 1 ms per 64²
image with two objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHAPES = ("triangle", "square", "circle", "diamond", "star", "heart", "cross", "hexagon")
TEXTURES = ("solid", "stripes", "checker", "dots", "rings", "gradient")
BACKGROUNDS = ("black", "plain", "stripes", "checker", "dots", "grid", "gradient", "rings", "waves")

# bounding-circle radius / scale of each shape (shapes are drawn about `scale` wide)
_RADIUS = np.array([0.58, 0.71, 0.5, 0.5, 0.53, 0.56, 0.53, 0.5])


@dataclass(frozen=True)
class SpriteParams:
    shape: int  # index into SHAPES
    x: float  # centre, image units [0, 1]
    y: float
    scale: float  # size as a fraction of the image side
    hue: float  # [0, 1)
    rotation: float = 0.0  # fraction of a full turn
    texture: int = 0  # index into TEXTURES


@dataclass(frozen=True)
class SpriteScene:
    objects: tuple[SpriteParams, ...]
    background: int = 0  # index into BACKGROUNDS
    background_hue: float = 0.0


def bounding_radius(shape: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Radius of a circle around each sprite, for no-overlap constraints (vectorised)."""
    return _RADIUS[np.asarray(shape, dtype=np.int64)] * np.asarray(scale)


def hsv_to_rgb(h: np.ndarray, s: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
    """Vectorised HSV → RGB, inputs broadcastable, output (..., 3) in [0, 1]."""
    h = np.asarray(h, dtype=np.float64) % 1.0
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), h.shape)
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), h.shape)
    k = (np.array([5.0, 3.0, 1.0]) + h[..., None] * 6.0) % 6.0
    return v[..., None] - v[..., None] * s[..., None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _sdf(name: str, px: np.ndarray, py: np.ndarray, size: float) -> np.ndarray:
    """Signed distance (image units; < 0 inside) of a shape of extent ``size`` centred at 0."""
    r = size / 2.0
    if name == "circle":
        return np.hypot(px, py) - r
    if name == "square":
        return _box(px, py, r, r)
    if name == "diamond":  # a square rotated by 45°, same width
        u, v = (px + py) / np.sqrt(2), (px - py) / np.sqrt(2)
        return _box(u, v, r / np.sqrt(2), r / np.sqrt(2))
    if name == "cross":
        return np.minimum(_box(px, py, r, r / 3), _box(px, py, r / 3, r))
    if name == "triangle":
        return _polygon(px, py, _regular(3, r * 1.15, -np.pi / 2))
    if name == "hexagon":
        return _polygon(px, py, _regular(6, r, 0.0))
    if name == "star":
        outer, inner = _regular(5, r * 1.05, -np.pi / 2), _regular(5, r * 0.45, -np.pi / 2 + np.pi / 5)
        pts = np.stack([outer, inner], axis=1).reshape(-1, 2)
        return _polygon(px, py, pts)
    if name == "heart":  # two discs on top of a downward triangle
        a = np.hypot(px + r * 0.45, py + r * 0.25) - r * 0.55
        b = np.hypot(px - r * 0.45, py + r * 0.25) - r * 0.55
        tri = _polygon(px, py, np.array([[-r * 0.98, -r * 0.05], [r * 0.98, -r * 0.05], [0.0, r * 1.0]]))
        return np.minimum(np.minimum(a, b), tri)
    raise ValueError(f"unknown sprite shape {name!r}; shapes: {', '.join(SHAPES)}")


def _box(px: np.ndarray, py: np.ndarray, hx: float, hy: float) -> np.ndarray:
    dx, dy = np.abs(px) - hx, np.abs(py) - hy
    outside = np.hypot(np.maximum(dx, 0.0), np.maximum(dy, 0.0))
    return outside + np.minimum(np.maximum(dx, dy), 0.0)


def _regular(n: int, r: float, phase: float) -> np.ndarray:
    a = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _polygon(px: np.ndarray, py: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Exact signed distance to a simple polygon (even-odd rule for the sign)."""
    d2 = np.full(px.shape, np.inf)
    inside = np.zeros(px.shape, dtype=bool)
    for (ax, ay), (bx, by) in zip(pts, np.roll(pts, -1, axis=0)):
        ex, ey = bx - ax, by - ay
        wx, wy = px - ax, py - ay
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        d2 = np.minimum(d2, (wx - ex * t) ** 2 + (wy - ey * t) ** 2)
        crosses = ((ay > py) != (by > py)) & (px < ax + (py - ay) * ex / (ey + 1e-300))
        inside ^= crosses
    return np.where(inside, -1.0, 1.0) * np.sqrt(d2)


def _pattern(name: str, u: np.ndarray, v: np.ndarray, freq: float) -> np.ndarray:
    """A [0, 1] pattern over local coordinates u, v (image units); 1 = main colour."""
    if name in ("solid", "plain", "black"):
        return np.ones_like(u)
    if name == "stripes":
        return (np.sin(2 * np.pi * freq * u) > 0).astype(np.float64)
    if name == "checker":
        return ((np.floor(freq * u) + np.floor(freq * v)) % 2 == 0).astype(np.float64)
    if name == "dots":
        cu, cv = (freq * u) % 1.0 - 0.5, (freq * v) % 1.0 - 0.5
        return (np.hypot(cu, cv) < 0.3).astype(np.float64)
    if name == "grid":
        cu, cv = (freq * u) % 1.0, (freq * v) % 1.0
        return ((cu < 0.2) | (cv < 0.2)).astype(np.float64)
    if name == "rings":
        return (np.sin(2 * np.pi * freq * np.hypot(u, v)) > 0).astype(np.float64)
    if name == "gradient":
        return np.clip(0.5 + u * 1.5, 0.0, 1.0)
    if name == "waves":
        return (np.sin(2 * np.pi * freq * (u + 0.08 * np.sin(2 * np.pi * 2 * v))) > 0).astype(np.float64)
    raise ValueError(f"unknown pattern {name!r}")


class SpriteRenderer:
    """Renders :class:`SpriteScene` to (res, res, 3) uint8 and a (res, res) uint8 mask
    (0 = background, i + 1 = ``scene.objects[i]``)."""

    variant = "numpy"

    def __init__(self, res: int = 64) -> None:
        if res < 8:
            raise ValueError(f"sprite resolution must be at least 8, got {res}")
        self.res = res
        c = (np.arange(res) + 0.5) / res
        self.gx, self.gy = np.meshgrid(c, c)  # (H, W), y down
        self._bg_cache: dict[str, np.ndarray] = {}

    def _background(self, scene: SpriteScene) -> np.ndarray:
        name = BACKGROUNDS[scene.background]
        if name == "black":
            return np.zeros((self.res, self.res, 3))
        if name not in self._bg_cache:  # the pattern does not depend on the hue: compute it once
            self._bg_cache[name] = _pattern(name, self.gx - 0.5, self.gy - 0.5, 4.0)[..., None]
        main = hsv_to_rgb(scene.background_hue, 0.35, 0.55)
        other = hsv_to_rgb(scene.background_hue + 0.5, 0.15, 0.25)
        return other + (main - other) * self._bg_cache[name]

    def render(self, scene: SpriteScene, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``seed`` is accepted for the renderer interface; sprites are noise-free."""
        img = self._background(scene)
        mask = np.zeros((self.res, self.res), dtype=np.uint8)
        for i, ob in enumerate(scene.objects):
            if not 0 <= ob.shape < len(SHAPES) or not 0 <= ob.texture < len(TEXTURES):
                raise ValueError(f"sprite {i}: shape {ob.shape} / texture {ob.texture} out of range")
            # only the pixels of the sprite's bounding box (+1 px for the anti-aliasing ramp)
            reach = float(_RADIUS[ob.shape]) * ob.scale + 1.5 / self.res
            c0, c1 = self._span(ob.x, reach)
            r0, r1 = self._span(ob.y, reach)
            if c0 >= c1 or r0 >= r1:
                continue
            a = -2 * np.pi * ob.rotation
            dx, dy = self.gx[r0:r1, c0:c1] - ob.x, self.gy[r0:r1, c0:c1] - ob.y
            px, py = np.cos(a) * dx - np.sin(a) * dy, np.sin(a) * dx + np.cos(a) * dy
            cover = np.clip(0.5 - _sdf(SHAPES[ob.shape], px, py, ob.scale) * self.res, 0.0, 1.0)
            pat = _pattern(TEXTURES[ob.texture], px / max(ob.scale, 1e-6), py / max(ob.scale, 1e-6), 3.0)
            main, other = hsv_to_rgb(ob.hue, 0.9, 1.0), hsv_to_rgb(ob.hue, 0.25, 0.35)
            colour = other + (main - other) * pat[..., None]
            win = img[r0:r1, c0:c1]
            win += cover[..., None] * (colour - win)
            mask[r0:r1, c0:c1][cover >= 0.5] = i + 1
        return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), mask

    def _span(self, centre: float, reach: float) -> tuple[int, int]:
        lo = int(np.floor((centre - reach) * self.res))
        hi = int(np.ceil((centre + reach) * self.res))
        return max(lo, 0), min(hi, self.res)
