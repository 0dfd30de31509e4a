"""Procedural backgrounds: floor texture, back-wall texture, key-light tint and fill-light colour.

Each background differs from the others in the colour of its large areas (floor and wall), not
only in fine pattern, so that all of them stay distinguishable at 32 x 32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .materials import periodic_noise, srgb_to_linear

BACKGROUNDS: tuple[str, ...] = (
    "studio", "checkerboard", "wood", "grass", "sand", "tiles", "brick", "night", "snow", "carpet",
)
FLOOR_SIZE = (14.0, 10.0)  # world units (x, z) covered by the floor texture
WALL_SIZE = (14.0, 5.0)  # world units (x, y) covered by the wall texture
# Texture shapes (rows, columns). Mitsuba puts bitmap row 0 at v = 0: the near edge of the floor
# and the bottom of the wall.
FLOOR_TEX = (160, 224)
WALL_TEX = (80, 224)


@dataclass(frozen=True)
class Environment:
    floor: np.ndarray  # FLOOR_TEX + (3,) float32 linear reflectance
    wall: np.ndarray  # WALL_TEX + (3,) float32 linear reflectance
    light: np.ndarray  # (3,) key-light colour, unit mean
    fill: np.ndarray  # (3,) radiance of the uniform fill light from all directions (sky, room)


def _coords(shape: tuple[int, int], size: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """World coordinates (across, along) of texel centres; ``along`` grows with the row."""
    across = (np.arange(shape[1]) + 0.5) / shape[1] * size[0] - size[0] / 2
    along = (np.arange(shape[0]) + 0.5) / shape[0] * size[1]
    return np.meshgrid(across, along)


def _rgb(*c: float) -> np.ndarray:
    return srgb_to_linear(np.array(c))


def _pick(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float64)
    return m * a + (1 - m) * b


def _shade(base: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Vary the brightness of ``base`` by a per-texel factor (``amount``, around 1)."""
    return np.asarray(base)[None, None, :] * amount[..., None]


def _noise(shape: tuple[int, int], cells: tuple[int, int], seed: int, lo: float, hi: float) -> np.ndarray:
    return lo + (hi - lo) * periodic_noise(shape, cells, seed)


def _gradient(shape: tuple[int, int], first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Blend from the colour of row 0 to that of the last row."""
    t = np.linspace(0.0, 1.0, shape[0])[:, None, None]
    return np.broadcast_to((1 - t) * first + t * last, shape + (3,))


def _studio() -> Environment:
    floor = _shade(_rgb(0.42, 0.42, 0.44), _noise(FLOOR_TEX, (5, 7), 1, 0.9, 1.05))
    wall = _gradient(WALL_TEX, _rgb(0.8, 0.8, 0.82), _rgb(0.62, 0.66, 0.72))
    return Environment(floor, wall, np.ones(3), 0.5 * _rgb(0.8, 0.8, 0.8))


def _checkerboard() -> Environment:
    x, z = _coords(FLOOR_TEX, FLOOR_SIZE)
    floor = _pick((np.floor(x / 1.4) + np.floor(z / 1.4)) % 2 == 0, _rgb(0.88, 0.88, 0.86), _rgb(0.1, 0.1, 0.1))
    wall = np.broadcast_to(_rgb(0.12, 0.42, 0.45), WALL_TEX + (3,))
    return Environment(floor, wall, np.ones(3), 0.45 * _rgb(0.78, 0.8, 0.8))


def _wood() -> Environment:
    x, z = _coords(FLOOR_TEX, FLOOR_SIZE)
    plank = np.floor(x / 0.9)
    tone = 0.75 + 0.25 * ((plank * 0.618) % 1.0)  # each plank its own shade
    grain = 0.9 + 0.1 * np.sin(z * 7.0 + plank * 3.0)
    seam = np.where((x / 0.9) % 1.0 < 0.06, 0.45, 1.0)
    floor = _shade(_rgb(0.55, 0.33, 0.16), tone * grain * seam)
    wall = np.broadcast_to(_rgb(0.86, 0.8, 0.64), WALL_TEX + (3,))
    light = np.array([1.15, 1.0, 0.8])
    return Environment(floor, wall, light, 0.45 * _rgb(0.88, 0.79, 0.7))


def _grass() -> Environment:
    blades = _noise(FLOOR_TEX, (20, 28), 2, 0.7, 1.1) * _noise(FLOOR_TEX, (5, 7), 3, 0.75, 1.1)
    floor = _shade(_rgb(0.3, 0.55, 0.18), blades)
    wall = _gradient(WALL_TEX, _rgb(0.78, 0.87, 0.97), _rgb(0.35, 0.58, 0.92))
    light = np.array([1.1, 1.02, 0.88])
    return Environment(floor, wall, light, 0.55 * _rgb(0.65, 0.76, 1.0))


def _sand() -> Environment:
    x, z = _coords(FLOOR_TEX, FLOOR_SIZE)
    ripples = 0.88 + 0.12 * np.sin(z * 3.5 + 0.6 * np.sin(x * 0.8))
    floor = _shade(_rgb(0.88, 0.72, 0.46), ripples * _noise(FLOOR_TEX, (6, 8), 4, 0.9, 1.05))
    wall = _gradient(WALL_TEX, _rgb(0.98, 0.6, 0.32), _rgb(0.62, 0.38, 0.6))
    light = np.array([1.25, 0.95, 0.7])
    return Environment(floor, wall, light, 0.5 * _rgb(0.9, 0.57, 0.55))


def _tiles() -> Environment:
    x, z = _coords(FLOOR_TEX, FLOOR_SIZE)
    checker = (np.floor(x / 1.1) + np.floor(z / 1.1)) % 2 == 0
    floor = _pick(checker, _rgb(0.2, 0.38, 0.8), _rgb(0.86, 0.88, 0.9))
    grout = ((x / 1.1) % 1.0 < 0.05) | ((z / 1.1) % 1.0 < 0.05)
    floor = _pick(grout, _rgb(0.5, 0.5, 0.5), floor)
    wall = np.broadcast_to(_rgb(0.9, 0.9, 0.92), WALL_TEX + (3,))
    light = np.array([0.88, 0.96, 1.16])
    return Environment(floor, wall, light, 0.45 * _rgb(0.82, 0.88, 1.0))


def _bricks(shape: tuple[int, int], size: tuple[float, float], height: float, length: float) -> np.ndarray:
    x, y = _coords(shape, size)
    row = np.floor(y / height)
    col = np.floor(x / length + 0.5 * (row % 2))
    mortar = ((y / height) % 1.0 < 0.12) | ((x / length + 0.5 * (row % 2)) % 1.0 < 0.06)
    tone = 0.8 + 0.2 * ((row * 0.37 + col * 0.61) % 1.0)
    return _pick(mortar, _rgb(0.72, 0.7, 0.66), _shade(_rgb(0.62, 0.22, 0.14), tone))


def _brick() -> Environment:
    # brick paving as well as a brick wall: framings that show only the floor still see bricks
    floor = _bricks(FLOOR_TEX, FLOOR_SIZE, 0.7, 1.4)
    wall = _bricks(WALL_TEX, WALL_SIZE, 0.5, 1.1)
    return Environment(floor, wall, np.ones(3), 0.45 * _rgb(0.8, 0.79, 0.78))


def _night() -> Environment:
    floor = _shade(_rgb(0.24, 0.3, 0.5), _noise(FLOOR_TEX, (6, 8), 6, 0.85, 1.1))
    rng = np.random.default_rng(8)
    stars = rng.random(WALL_TEX) > 0.985
    wall = _pick(stars, _rgb(0.95, 0.95, 0.8), _gradient(WALL_TEX, _rgb(0.16, 0.2, 0.42), _rgb(0.05, 0.06, 0.18)))
    light = np.array([0.8, 0.92, 1.28])
    return Environment(floor, wall, light, 0.5 * _rgb(0.3, 0.36, 0.65))


def _snow() -> Environment:
    floor = _shade(_rgb(0.94, 0.95, 0.97), _noise(FLOOR_TEX, (8, 10), 9, 0.92, 1.0))
    wall = _gradient(WALL_TEX, _rgb(0.78, 0.82, 0.88), _rgb(0.55, 0.62, 0.7))
    light = np.array([0.92, 0.98, 1.1])
    return Environment(floor, wall, light, 0.45 * _rgb(0.8, 0.86, 0.95))


def _carpet() -> Environment:
    floor = _shade(_rgb(0.5, 0.12, 0.38), _noise(FLOOR_TEX, (30, 40), 10, 0.8, 1.05))
    x, _ = _coords(WALL_TEX, WALL_SIZE)
    wall = _pick((x / 0.7) % 1.0 < 0.5, _rgb(0.78, 0.64, 0.4), _rgb(0.62, 0.46, 0.28))
    light = np.array([1.15, 0.98, 0.85])
    return Environment(floor, wall, light, 0.45 * _rgb(0.85, 0.75, 0.7))


_BUILDERS: dict[str, Callable[[], Environment]] = {
    "studio": _studio, "checkerboard": _checkerboard, "wood": _wood, "grass": _grass, "sand": _sand,
    "tiles": _tiles, "brick": _brick, "night": _night, "snow": _snow, "carpet": _carpet,
}


def build_environment(background: int) -> Environment:
    """The environment ``BACKGROUNDS[background]`` (float32 arrays, contiguous)."""
    env = _BUILDERS[BACKGROUNDS[background]]()
    return Environment(_f32(env.floor), _f32(env.wall), _f32(env.light / env.light.mean()), _f32(env.fill))


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)
