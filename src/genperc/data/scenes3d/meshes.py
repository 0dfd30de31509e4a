"""Procedural object meshes, generated in numpy.

Every category is one closed, outward-wound triangle mesh, two-part shapes included (mushroom:
stem and cap; arch: legs and beam), so an object always maps to one mask label. Each stands on
y = 0 with its vertical axis through the origin, inside a vertical cylinder of radius ``RADIUS``
and height ``HEIGHT``; sizes are balanced so that no category looks much bigger than another.
``layout``'s placement constants were computed for shapes within these bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

CATEGORIES: tuple[str, ...] = (
    "cube", "sphere", "cylinder", "cone", "torus", "capsule", "pyramid", "mushroom", "star", "arch",
)
RADIUS = 0.9  # bound on the horizontal distance of any vertex from the vertical axis
HEIGHT = 2.0  # bound on the height of any vertex above the floor
CREASE_DEG = 40.0  # corners whose faces meet at a larger angle keep separate (sharp) normals
_SEGMENTS = 28  # angular resolution of round shapes: smooth silhouettes up to 128 px


@dataclass(frozen=True)
class MeshData:
    """An unwelded triangle mesh: every face owns its three corners, so normals and UVs may jump."""

    positions: np.ndarray  # (n, 3) float32
    normals: np.ndarray  # (n, 3) float32, unit length
    uvs: np.ndarray  # (n, 2) float32: u = angle about the axis / 2 pi, v = height / mesh height
    faces: np.ndarray  # (n / 3, 3) uint32

    @property
    def height(self) -> float:
        return float(self.positions[:, 1].max())


def _lathe(profile: list[tuple[float, float]], segments: int = _SEGMENTS, phase: float = 0.0,
           radial: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sweep a (radius, height) profile about the y axis.

    The profile runs from the bottom up with the solid on its inner side, which makes every face
    wind outwards. ``radial`` scales the radius per angular step (stars); ``phase`` turns the
    start angle (a four-step lathe turned by 45 degrees is an axis-aligned box or pyramid).
    """
    prof = np.asarray(profile, dtype=np.float64)
    theta = phase + 2 * np.pi * np.arange(segments) / segments
    scale = np.ones(segments) if radial is None else radial
    r = prof[:, 0:1] * scale[None, :]
    verts = np.stack([r * np.cos(theta), np.broadcast_to(prof[:, 1:2], r.shape), r * np.sin(theta)], -1)
    idx = np.arange(len(prof) * segments).reshape(len(prof), segments)
    a, b = idx[:-1], idx[1:]
    a1, b1 = np.roll(a, -1, axis=1), np.roll(b, -1, axis=1)
    faces = np.concatenate([np.stack([a, b, b1], -1).reshape(-1, 3), np.stack([a, b1, a1], -1).reshape(-1, 3)])
    return verts.reshape(-1, 3), faces


def _arc(cx: float, cy: float, radius: float, start: float, stop: float, steps: int) -> list[tuple[float, float]]:
    """Profile points on a circular arc (angles in radians, counter-clockwise in the (r, y) plane)."""
    angles = np.linspace(start, stop, steps)
    return [(cx + radius * np.cos(t), cy + radius * np.sin(t)) for t in angles]


def _extrude(outline: list[tuple[float, float]], cap: list[tuple[int, int, int]],
             depth: float) -> tuple[np.ndarray, np.ndarray]:
    """A prism: an (x, y) outline, counter-clockwise, extruded to z in [-depth, depth].

    ``cap`` triangulates the outline (counter-clockwise triples of outline indices).
    """
    n = len(outline)
    xy = np.asarray(outline, dtype=np.float64)
    verts = np.concatenate([np.c_[xy, np.full(n, depth)], np.c_[xy, np.full(n, -depth)]])
    front = np.asarray(cap)
    i = np.arange(n)
    j = (i + 1) % n
    sides = np.concatenate([np.stack([i, i + n, j + n], 1), np.stack([i, j + n, j], 1)])
    return verts, np.concatenate([front, front[:, ::-1] + n, sides])


def _cube() -> tuple[np.ndarray, np.ndarray]:
    half = 0.62
    return _lathe([(0.0, 0.0), (half * np.sqrt(2), 0.0), (half * np.sqrt(2), 2 * half), (0.0, 2 * half)],
                  4, np.pi / 4)


def _sphere() -> tuple[np.ndarray, np.ndarray]:
    return _lathe(_arc(0.0, 0.8, 0.8, -np.pi / 2, np.pi / 2, _SEGMENTS // 2 + 1))


def _cylinder() -> tuple[np.ndarray, np.ndarray]:
    return _lathe([(0.0, 0.0), (0.56, 0.0), (0.56, 1.7), (0.0, 1.7)])


def _cone() -> tuple[np.ndarray, np.ndarray]:
    return _lathe([(0.0, 0.0), (0.7, 0.0), (0.0, 1.85)])


def _torus() -> tuple[np.ndarray, np.ndarray]:
    ring, tube = 0.58, 0.32
    return _lathe(_arc(ring, tube, tube, -np.pi / 2, 3 * np.pi / 2, 25))


def _capsule() -> tuple[np.ndarray, np.ndarray]:
    """A pill lying on its side (turned from the y axis onto the x axis)."""
    r, length = 0.42, 1.8
    verts, faces = _lathe(
        [(0.0, 0.0)] + _arc(0.0, r, r, -np.pi / 2, 0.0, 9)[1:] + _arc(0.0, length - r, r, 0.0, np.pi / 2, 9)
    )
    return np.c_[verts[:, 1] - length / 2, r - verts[:, 0], verts[:, 2]], faces


def _pyramid() -> tuple[np.ndarray, np.ndarray]:
    return _lathe([(0.0, 0.0), (0.9, 0.0), (0.0, 1.15)], 4, np.pi / 4)


def _mushroom() -> tuple[np.ndarray, np.ndarray]:
    stem, cap_r, cap_y = 0.22, 0.9, 1.0
    cap = _arc(0.0, cap_y, cap_r, 0.0, np.pi / 2, 12)
    cap = [(r, cap_y + 0.5 * (y - cap_y)) for r, y in cap]  # flat dome on a tall thin stem
    return _lathe([(0.0, 0.0), (stem, 0.0), (stem, cap_y - 0.06), (cap_r, cap_y - 0.06)] + cap)


def _star() -> tuple[np.ndarray, np.ndarray]:
    points = 5
    radial = np.tile([1.0, 0.4], points)
    return _lathe([(0.0, 0.0), (0.9, 0.0), (0.9, 0.45), (0.0, 0.45)], 2 * points, np.pi / 2, radial)


def _arch() -> tuple[np.ndarray, np.ndarray]:
    w, h, leg, beam = 0.86, 1.3, 0.34, 0.38
    outline = [(-w, 0.0), (-w + leg, 0.0), (-w + leg, h - beam), (w - leg, h - beam), (w - leg, 0.0), (w, 0.0),
               (w, h), (-w, h)]
    cap = [(0, 1, 2), (0, 2, 7), (7, 2, 3), (7, 3, 6), (3, 4, 5), (3, 5, 6)]
    return _extrude(outline, cap, 0.22)


_BUILDERS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "cube": _cube, "sphere": _sphere, "cylinder": _cylinder, "cone": _cone, "torus": _torus,
    "capsule": _capsule, "pyramid": _pyramid, "mushroom": _mushroom, "star": _star, "arch": _arch,
}


def _corner_normals(tri: np.ndarray, face_n: np.ndarray, area: np.ndarray) -> np.ndarray:
    """Area-weighted smooth normals per corner, averaged only over faces within the crease angle."""
    corners = tri.reshape(-1, 3)
    _, group = np.unique(np.round(corners * 1e5).astype(np.int64), axis=0, return_inverse=True)
    group = group.ravel()
    face_of = np.repeat(np.arange(len(tri)), 3)
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # All (corner, corner') pairs that share a welded position.
    own = np.repeat(np.arange(len(corners)), counts[group])
    first = np.repeat(starts[group], counts[group])
    offset = np.arange(len(own)) - np.repeat(np.cumsum(counts[group]) - counts[group], counts[group])
    other = order[first + offset]
    fa, fb = face_of[own], face_of[other]
    keep = np.einsum("ij,ij->i", face_n[fa], face_n[fb]) > np.cos(np.radians(CREASE_DEG))
    summed = np.zeros((len(corners), 3))
    np.add.at(summed, own[keep], face_n[fb[keep]] * area[fb[keep], None])
    return summed / np.linalg.norm(summed, axis=1, keepdims=True)


def _cylindrical_uv(tri: np.ndarray, height: float) -> np.ndarray:
    """u = angle about the axis (seam-corrected per face, poles take their face's mean), v = y / height."""
    r = np.hypot(tri[..., 0], tri[..., 2])
    u = (np.arctan2(tri[..., 2], tri[..., 0]) / (2 * np.pi)) % 1.0
    wraps = u.max(axis=1) - u.min(axis=1) > 0.5
    u = np.where(wraps[:, None] & (u < 0.5), u + 1.0, u)
    pole = r < 1e-6
    mean_u = np.where(pole, 0.0, u).sum(axis=1) / np.maximum((~pole).sum(axis=1), 1)
    u = np.where(pole, mean_u[:, None], u)
    return np.stack([u, tri[..., 1] / height], -1)


def build_mesh(category: str) -> MeshData:
    """The canonical mesh of one category (see the module docstring for its frame and bounds)."""
    verts, faces = _BUILDERS[category]()
    tri = verts[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(cross, axis=1)
    solid = area > 1e-9  # lathe poles produce zero-area triangles
    tri, cross, area = tri[solid], cross[solid], area[solid]
    face_n = cross / area[:, None]
    normals = _corner_normals(tri, face_n, area)
    uvs = _cylindrical_uv(tri, float(tri[..., 1].max())).reshape(-1, 2)
    return MeshData(
        positions=tri.reshape(-1, 3).astype(np.float32),
        normals=normals.astype(np.float32),
        uvs=uvs.astype(np.float32),
        faces=np.arange(3 * len(tri), dtype=np.uint32).reshape(-1, 3),
    )
