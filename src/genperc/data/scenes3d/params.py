"""The latent parameters of one 3D scene, as the data engine passes them to the renderer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .environments import BACKGROUNDS
from .materials import TEXTURES
from .meshes import CATEGORIES


@dataclass(frozen=True)
class ObjectParams:
    category: int  # index into CATEGORIES
    texture: int  # index into TEXTURES
    hue: float  # [0, 1]: main colour of the object and of its pattern
    x: float  # [0, 1]: 0 = left edge of the usable area, 1 = right edge
    y: float  # [0, 1]: depth, 0 = near, 1 = far
    rotation: float  # [0, 1]: fraction of a full turn about the vertical axis
    scale: float  # [0, 1]: maps linearly onto the renderer's size range


@dataclass(frozen=True)
class SceneParams:
    objects: tuple[ObjectParams, ...]  # 1 .. max_objects objects; object i gets mask label i + 1
    background: int  # index into BACKGROUNDS
    light_azimuth: float  # [0, 1]: small jitter of the key light's direction
    light_intensity: float  # [0, 1]: small jitter of the key light's strength


def _check_index(what: str, value: int, names: tuple[str, ...]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(names):
        raise ValueError(f"{what} must be an int in [0, {len(names)}) indexing {names}, got {value!r}")


def _check_unit(what: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{what} must be a finite number in [0, 1], got {value!r}")


def validate(scene: SceneParams, max_objects: int) -> None:
    """Raise ``ValueError`` naming the first field that is out of range."""
    if not 1 <= len(scene.objects) <= max_objects:
        raise ValueError(f"a scene needs 1 to {max_objects} objects, got {len(scene.objects)}")
    _check_index("background", scene.background, BACKGROUNDS)
    _check_unit("light_azimuth", scene.light_azimuth)
    _check_unit("light_intensity", scene.light_intensity)
    for i, obj in enumerate(scene.objects):
        _check_index(f"objects[{i}].category", obj.category, CATEGORIES)
        _check_index(f"objects[{i}].texture", obj.texture, TEXTURES)
        for field in ("hue", "x", "y", "rotation", "scale"):
            _check_unit(f"objects[{i}].{field}", getattr(obj, field))
