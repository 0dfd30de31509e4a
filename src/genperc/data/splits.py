"""The named splits: which slots and factors each renderer's images have, and how a row of
latents becomes a scene.

``background``: one object (category × background; the object occludes the background),
``texture``: one object (category × texture, both concepts on the same slot),
``object``: two objects, left and right, that never occlude (left category × right category),
``diagonal``: the ICLR'24 sprites (two sprites; x, y, shape, scale, hue; diagonal support).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from genperc.data.config import DataConfig
from genperc.data.factors import LatentSpace, Slot, SpaceError, categorical, continuous
from genperc.data.supports import Filter

NO_SLOT = 255  # mask label of pixels that belong to no slot (the black background of the sprites)


@dataclass(frozen=True)
class SplitSpec:
    renderer: str
    split: str
    space: LatentSpace
    default_support: str
    object_slots: tuple[int, ...]  # ground-truth slot of scene.objects[i]
    background_slot: int | None  # slot owning the background pixels; None → NO_SLOT
    to_scene: Callable[[np.ndarray], Any]  # factor values (L,) → the renderer's scene parameters
    ood_filter: Filter | None = None

    def mask_labels(self, renderer_mask: np.ndarray) -> np.ndarray:
        """Renderer masks (0 = background, i + 1 = object i) → slot labels."""
        lut = np.full(256, NO_SLOT, dtype=np.uint8)
        lut[0] = NO_SLOT if self.background_slot is None else self.background_slot
        for i, k in enumerate(self.object_slots):
            lut[i + 1] = k
        return lut[renderer_mask]


def _subset(kind: str, requested: list[str], available: tuple[str, ...]) -> tuple[str, ...]:
    if not requested:
        return available
    for name in requested:
        if name not in available:
            raise SpaceError(f"unknown {kind} {name!r} in the data config; available: {', '.join(available)}")
    if len(set(requested)) != len(requested):
        raise SpaceError(f"the data config lists a {kind} twice: {requested}")
    return tuple(requested)


class _Row:
    """Named access to one latent row: row["object.x"]."""

    def __init__(self, space: LatentSpace, values: np.ndarray) -> None:
        self.names = space.column_names()
        self.values = values

    def __getitem__(self, name: str) -> float:
        return float(self.values[self.names.index(name)])

    def index(self, name: str) -> int:
        return int(round(self[name]))


# --- sprites ---------------------------------------------------------------------------------------


def sprite_split(cfg: DataConfig) -> SplitSpec:
    from genperc.data import sprites as sp

    shapes = _subset("category", cfg.categories, sp.SHAPES)
    backgrounds = _subset("background", cfg.backgrounds, sp.BACKGROUNDS[1:])  # "black" is the diagonal's
    textures = _subset("texture", cfg.textures, sp.TEXTURES)
    shape_idx = {n: sp.SHAPES.index(n) for n in shapes}
    bg_idx = {n: sp.BACKGROUNDS.index(n) for n in backgrounds}
    tex_idx = {n: sp.TEXTURES.index(n) for n in textures}

    def obj(name: str, x: tuple[float, float], scale: tuple[float, float], texture: bool = False) -> Slot:
        fs = [categorical("category", shapes)]
        if texture:
            fs.append(categorical("texture", textures))
        fs += [continuous("hue", 0.0, 1.0), continuous("x", *x), continuous("y", 0.3, 0.7),
               continuous("rotation", 0.0, 1.0), continuous("scale", *scale)]
        return Slot(name, tuple(fs))

    plain = Slot("background", (continuous("hue", 0.0, 1.0),))

    if cfg.split == "diagonal":
        ds = [continuous("x", 0.1, 0.9), continuous("y", 0.2, 0.8), categorical("shape", ("triangle", "square")),
              continuous("scale", 0.09, 0.22), continuous("hue", 0.05, 0.95)]
        space = LatentSpace((Slot("object1", tuple(ds)), Slot("object2", tuple(ds))))

        def scene(v: np.ndarray) -> sp.SpriteScene:
            r = _Row(space, v)
            return sp.SpriteScene(tuple(
                sp.SpriteParams(shape=r.index(f"{s}.shape"), x=r[f"{s}.x"], y=r[f"{s}.y"], scale=r[f"{s}.scale"],
                                hue=r[f"{s}.hue"]) for s in ("object1", "object2")), background=0)

        cols = {n: space.column_names().index(n) for n in space.column_names()}

        def no_overlap(values: np.ndarray) -> np.ndarray:
            d = np.hypot(values[:, cols["object1.x"]] - values[:, cols["object2.x"]],
                         values[:, cols["object1.y"]] - values[:, cols["object2.y"]])
            r1 = sp.bounding_radius(values[:, cols["object1.shape"]], values[:, cols["object1.scale"]])
            r2 = sp.bounding_radius(values[:, cols["object2.shape"]], values[:, cols["object2.scale"]])
            return d > r1 + r2

        return SplitSpec("sprites", "diagonal", space, "diagonal", (0, 1), None, scene,
                         no_overlap if cfg.ood_no_overlap else None)

    if cfg.split == "background":
        space = LatentSpace((obj("object", (0.3, 0.7), (0.35, 0.5)),
                             Slot("background", (categorical("category", backgrounds), continuous("hue", 0.0, 1.0)))))

        def scene(v: np.ndarray) -> sp.SpriteScene:
            r = _Row(space, v)
            return sp.SpriteScene((_sprite(r, "object", shape_idx, shapes),),
                                  background=bg_idx[backgrounds[r.index("background.category")]],
                                  background_hue=r["background.hue"])

        return SplitSpec("sprites", "background", space, "heldout", (0,), 1, scene)

    if cfg.split == "texture":
        space = LatentSpace((obj("object", (0.3, 0.7), (0.4, 0.55), texture=True), plain))

        def scene(v: np.ndarray) -> sp.SpriteScene:
            r = _Row(space, v)
            ob = _sprite(r, "object", shape_idx, shapes, tex_idx[textures[r.index("object.texture")]])
            return sp.SpriteScene((ob,), background=sp.BACKGROUNDS.index("plain"), background_hue=r["background.hue"])

        return SplitSpec("sprites", "texture", space, "heldout", (0,), 1, scene)

    if cfg.split == "object":
        # bounding radii ≤ 0.71 · 0.27 < 0.2 and x apart by ≥ 0.4: the two sprites never touch
        space = LatentSpace((obj("left", (0.15, 0.3), (0.2, 0.27)), obj("right", (0.7, 0.85), (0.2, 0.27)), plain))

        def scene(v: np.ndarray) -> sp.SpriteScene:
            r = _Row(space, v)
            return sp.SpriteScene((_sprite(r, "left", shape_idx, shapes), _sprite(r, "right", shape_idx, shapes)),
                                  background=sp.BACKGROUNDS.index("plain"), background_hue=r["background.hue"])

        return SplitSpec("sprites", "object", space, "heldout", (0, 1), 2, scene)
    raise SpaceError(f"unknown split {cfg.split!r}")


def _sprite(r: _Row, slot: str, shape_idx: dict, shapes: tuple, texture: int = 0) -> Any:
    from genperc.data.sprites import SpriteParams

    return SpriteParams(shape=shape_idx[shapes[r.index(f"{slot}.category")]], x=r[f"{slot}.x"], y=r[f"{slot}.y"],
                        scale=r[f"{slot}.scale"], hue=r[f"{slot}.hue"], rotation=r[f"{slot}.rotation"],
                        texture=texture)


# --- 3D scenes -------------------------------------------------------------------------------------


def scene3d_split(cfg: DataConfig) -> SplitSpec:
    from genperc.data import scenes3d as s3

    if cfg.split == "diagonal":
        raise SpaceError("split 'diagonal' is defined for the sprites renderer (ICLR'24); use --renderer sprites")
    cats = _subset("category", cfg.categories, s3.CATEGORIES)
    bgs = _subset("background", cfg.backgrounds, s3.BACKGROUNDS)
    texs = _subset("texture", cfg.textures, s3.TEXTURES)
    plastic = s3.TEXTURES.index("plastic")
    fixed_bg = s3.BACKGROUNDS.index(bgs[0])  # texture/object splits: one environment throughout

    def obj(name: str, x: tuple[float, float], texture: bool = False) -> Slot:
        fs = [categorical("category", cats)]
        if texture:
            fs.append(categorical("texture", texs))
        fs += [continuous("hue", 0.0, 1.0), continuous("x", *x), continuous("y", 0.0, 1.0),
               continuous("rotation", 0.0, 1.0), continuous("scale", 0.0, 1.0)]
        return Slot(name, tuple(fs))

    light = (continuous("light_azimuth", 0.0, 1.0), continuous("light_intensity", 0.0, 1.0))

    def make_obj(r: _Row, slot: str, texture: int) -> Any:
        return s3.ObjectParams(category=s3.CATEGORIES.index(cats[r.index(f"{slot}.category")]), texture=texture,
                               hue=r[f"{slot}.hue"], x=r[f"{slot}.x"], y=r[f"{slot}.y"],
                               rotation=r[f"{slot}.rotation"], scale=r[f"{slot}.scale"])

    def lights(r: _Row, background: int, objects: tuple) -> Any:
        return s3.SceneParams(objects=objects, background=background, light_azimuth=r["background.light_azimuth"],
                              light_intensity=r["background.light_intensity"])

    if cfg.split == "background":
        space = LatentSpace((obj("object", (0.0, 1.0)), Slot("background", (categorical("category", bgs), *light))))

        def scene(v: np.ndarray) -> Any:
            r = _Row(space, v)
            bg = s3.BACKGROUNDS.index(bgs[r.index("background.category")])
            return lights(r, bg, (make_obj(r, "object", plastic),))

        return SplitSpec("scenes3d", "background", space, "heldout", (0,), 1, scene)

    if cfg.split == "texture":
        space = LatentSpace((obj("object", (0.0, 1.0), texture=True), Slot("background", light)))

        def scene(v: np.ndarray) -> Any:
            r = _Row(space, v)
            tex = s3.TEXTURES.index(texs[r.index("object.texture")])
            return lights(r, fixed_bg, (make_obj(r, "object", tex),))

        return SplitSpec("scenes3d", "texture", space, "heldout", (0,), 1, scene)

    if cfg.split == "object":
        gap = s3.MIN_SEPARATION_X  # the renderer guarantees no overlap for x apart by at least this
        hi = (1.0 - gap) / 2
        space = LatentSpace((obj("left", (0.0, hi)), obj("right", (1.0 - hi, 1.0)), Slot("background", light)))

        def scene(v: np.ndarray) -> Any:
            r = _Row(space, v)
            return lights(r, fixed_bg, (make_obj(r, "left", plastic), make_obj(r, "right", plastic)))

        return SplitSpec("scenes3d", "object", space, "heldout", (0, 1), 2, scene)
    raise SpaceError(f"unknown split {cfg.split!r}")


SPLIT_BUILDERS: dict[str, Callable[[DataConfig], SplitSpec]] = {"sprites": sprite_split, "scenes3d": scene3d_split}


def build_split(cfg: DataConfig) -> SplitSpec:
    return SPLIT_BUILDERS[cfg.renderer](cfg)
