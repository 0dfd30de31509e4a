"""Path-traced 3D scenes (Mitsuba 3): objects of procedural shapes and materials on procedural
backgrounds, with exact instance masks. Importing this package needs numpy only; the renderer
(``Scenes3DRenderer``, ``choose_variant``) imports Mitsuba on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .environments import BACKGROUNDS
from .layout import MIN_SEPARATION_X
from .materials import TEXTURES
from .meshes import CATEGORIES
from .params import ObjectParams, SceneParams
from .variant import choose_variant, configure_llvm

configure_llvm()  # before anything imports Dr.Jit

if TYPE_CHECKING:
    from .renderer import Scenes3DRenderer

__all__ = [
    "BACKGROUNDS", "CATEGORIES", "MIN_SEPARATION_X", "TEXTURES", "ObjectParams", "SceneParams",
    "Scenes3DRenderer", "choose_variant",
]


def __getattr__(name: str) -> Any:
    if name == "Scenes3DRenderer":
        from .renderer import Scenes3DRenderer

        return Scenes3DRenderer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
