"""Tests of the Mitsuba scene renderer (genperc.data.scenes3d)."""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest

mi = pytest.importorskip("mitsuba")

from genperc.data.scenes3d import (  # noqa: E402
    BACKGROUNDS, CATEGORIES, MIN_SEPARATION_X, TEXTURES, ObjectParams, SceneParams, Scenes3DRenderer,
    choose_variant,
)
from genperc.data.scenes3d.layout import CAMERA, FOV_DEG, object_matrix  # noqa: E402
from genperc.data.scenes3d.meshes import HEIGHT, RADIUS, build_mesh  # noqa: E402
from genperc.data.scenes3d.variant import system_libllvms  # noqa: E402

pytestmark = pytest.mark.render3d

MESHES = [build_mesh(name) for name in CATEGORIES]


def obj(category: int = 0, texture: int = 0, hue: float = 0.3, x: float = 0.5, y: float = 0.5,
        rotation: float = 0.1, scale: float = 0.5) -> ObjectParams:
    return ObjectParams(category, texture, hue, x, y, rotation, scale)


def scene(*objects: ObjectParams, background: int = 0, light_azimuth: float = 0.5,
          light_intensity: float = 0.5) -> SceneParams:
    return SceneParams(tuple(objects) or (obj(),), background, light_azimuth, light_intensity)


TWO = scene(obj(1, 2, 0.1, x=0.1, y=0.2), obj(4, 4, 0.6, x=0.9, y=0.8))


@pytest.fixture(scope="module")
def r32() -> Scenes3DRenderer:
    return Scenes3DRenderer(res=32, spp=4, max_objects=2)


@pytest.fixture(scope="module")
def r64() -> Scenes3DRenderer:
    return Scenes3DRenderer(res=64, spp=4, max_objects=2)


def columns(mask: np.ndarray, label: int) -> np.ndarray:
    return np.nonzero((mask == label).any(axis=0))[0]


# -- catalogue and geometry (no rendering) ------------------------------------------------------

def test_catalogue_sizes() -> None:
    assert len(CATEGORIES) >= 8 and len(set(CATEGORIES)) == len(CATEGORIES)
    assert len(BACKGROUNDS) >= 8 and len(set(BACKGROUNDS)) == len(BACKGROUNDS)
    assert len(TEXTURES) >= 6 and "plastic" in TEXTURES
    assert MIN_SEPARATION_X == 0.4


@pytest.mark.parametrize("name", CATEGORIES)
def test_mesh_is_closed_outward_and_within_bounds(name: str) -> None:
    mesh = build_mesh(name)
    p = mesh.positions
    assert np.hypot(p[:, 0], p[:, 2]).max() <= RADIUS + 1e-6
    assert p[:, 1].min() >= -1e-6 and p[:, 1].max() <= HEIGHT + 1e-6
    tri = p[mesh.faces].astype(np.float64)
    volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6
    assert volume > 0.3  # outward winding (a one-sided BSDF would render inward faces black)
    # Closed: every welded edge is shared by exactly two faces.
    _, welded = np.unique(np.round(p * 1e4).astype(np.int64), axis=0, return_inverse=True)
    v = welded.ravel()[mesh.faces]
    edges = np.sort(np.concatenate([v[:, [0, 1]], v[:, [1, 2]], v[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all()
    assert np.allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-4)
    assert np.isfinite(mesh.uvs).all()


def u_extent(category: int, x: float, y: float, rotation: float, scale: float) -> tuple[float, float]:
    """Horizontal image-plane extent (tangent units, + = right) of an object's exact mesh."""
    mesh = MESHES[category]
    m = object_matrix(x, y, rotation, scale, mesh.height)
    p = mesh.positions @ m[:3, :3].T + m[:3, 3] - CAMERA.origin
    u = p[:, 0] / (p @ CAMERA.forward)  # the camera looks along -z with no roll: +x is image right
    return float(u.min()), float(u.max())


def test_separation_guarantee_geometry() -> None:
    """Objects MIN_SEPARATION_X apart never share an image column, hence never touch in 3D either."""
    rotations = np.linspace(0.0, 1.0, 24, endpoint=False)
    xs = np.linspace(0, 1 - MIN_SEPARATION_X, 7)
    for xa in xs:
        # Right edge of any left object and left edge of any right object, over category, depth, turn.
        right_edge = max(u_extent(c, xa, y, r, 1.0)[1]
                         for c, y, r in itertools.product(range(len(CATEGORIES)), (0.0, 1.0), rotations))
        left_edge = min(u_extent(c, xa + MIN_SEPARATION_X, y, r, 1.0)[0]
                        for c, y, r in itertools.product(range(len(CATEGORIES)), (0.0, 1.0), rotations))
        assert left_edge > right_edge, xa


def test_objects_stay_in_frame() -> None:
    half = np.tan(np.radians(FOV_DEG / 2))
    for c, x, y, rot in itertools.product(range(len(CATEGORIES)), (0.0, 1.0), (0.0, 1.0), np.linspace(0, 1, 8)):
        lo, hi = u_extent(c, x, y, rot, 1.0)
        assert -half < lo and hi < half


# -- rendering ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["r32", "r64"])
def test_shapes_and_dtypes(fixture: str, request: pytest.FixtureRequest) -> None:
    renderer = request.getfixturevalue(fixture)
    image, mask = renderer.render(TWO, seed=0)
    res = renderer.res
    assert image.shape == (res, res, 3) and image.dtype == np.uint8
    assert mask.shape == (res, res) and mask.dtype == np.uint8
    assert 40 < image.mean() < 200  # neither black nor blown out
    assert set(np.unique(mask)) == {0, 1, 2}


def test_resolution_128() -> None:
    renderer = Scenes3DRenderer(res=128, spp=4)
    image, mask = renderer.render(TWO, seed=0)
    assert image.shape == (128, 128, 3) and mask.shape == (128, 128)
    assert set(np.unique(mask)) == {0, 1, 2}


def test_mask_labels_follow_object_order(r32: Scenes3DRenderer) -> None:
    _, one = r32.render(scene(obj(3, x=0.5)), seed=0)
    assert set(np.unique(one)) == {0, 1}
    _, two = r32.render(TWO, seed=0)
    assert columns(two, 1).max() < columns(two, 2).min()  # object 0 is the left one


def test_mask_area_grows_with_scale(r64: Scenes3DRenderer) -> None:
    for category in range(len(CATEGORIES)):
        areas = [(r64.render(scene(obj(category, scale=s)), 0)[1] == 1).sum() for s in (0.0, 0.5, 1.0)]
        assert areas[0] < areas[1] < areas[2], (CATEGORIES[category], areas)


def test_x_moves_left_to_right_and_y_moves_up(r32: Scenes3DRenderer) -> None:
    _, left = r32.render(scene(obj(x=0.0)), 0)
    _, right = r32.render(scene(obj(x=1.0)), 0)
    assert columns(left, 1).max() < 16 <= columns(right, 1).min()
    _, near = r32.render(scene(obj(y=0.0)), 0)
    _, far = r32.render(scene(obj(y=1.0)), 0)
    rows = lambda m: np.nonzero(m.any(axis=1))[0].mean()  # noqa: E731
    assert rows(far) < rows(near)  # farther objects stand higher in the image


def test_same_seed_same_bytes_whatever_came_before(r32: Scenes3DRenderer) -> None:
    first = r32.render(TWO, seed=7)
    r32.render(scene(obj(9, 7, x=0.2), obj(5, 1, x=0.8), background=8, light_azimuth=0.0), seed=3)
    r32.render(scene(obj(2)), seed=1)
    again = r32.render(TWO, seed=7)
    assert first[0].tobytes() == again[0].tobytes() and first[1].tobytes() == again[1].tobytes()
    fresh_renderer = Scenes3DRenderer(res=32, spp=4, max_objects=2)
    other = fresh_renderer.render(TWO, seed=7)
    assert first[0].tobytes() == other[0].tobytes() and first[1].tobytes() == other[1].tobytes()


_CHILD = """
import sys, numpy as np
from genperc.data.scenes3d import ObjectParams, SceneParams, Scenes3DRenderer
scene = SceneParams((ObjectParams(1, 2, 0.1, 0.1, 0.2, 0.1, 0.5), ObjectParams(4, 4, 0.6, 0.9, 0.8, 0.1, 0.5)), 0, 0.5, 0.5)
image, mask = Scenes3DRenderer(res=32, spp=4, max_objects=2).render(scene, seed=7)
np.savez(sys.argv[1], image=image, mask=mask)
"""


def test_same_seed_same_bytes_in_a_new_process(r32: Scenes3DRenderer, tmp_path) -> None:
    out = tmp_path / "child.npz"
    subprocess.run([sys.executable, "-c", _CHILD, str(out)], check=True, env=os.environ.copy(), timeout=300)
    child = np.load(out)
    image, mask = r32.render(TWO, seed=7)
    assert child["image"].tobytes() == image.tobytes() and child["mask"].tobytes() == mask.tobytes()


def _render_two_in_worker(_: int) -> tuple[bytes, bytes]:
    image, mask = Scenes3DRenderer(res=32, spp=4, max_objects=2).render(TWO, seed=7)
    return image.tobytes(), mask.tobytes()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_same_bytes_in_forked_workers(r32: Scenes3DRenderer) -> None:
    """The generator's pool may fork after this process has already rendered."""
    image, mask = r32.render(TWO, seed=7)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map_async(_render_two_in_worker, range(2)).get(timeout=300)
    assert all(r == (image.tobytes(), mask.tobytes()) for r in results)


def test_seeds_change_noise_only(r32: Scenes3DRenderer) -> None:
    a, mask_a = r32.render(TWO, seed=0)
    b, mask_b = r32.render(TWO, seed=1)
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() > 0 and diff.mean() < 12
    assert (mask_a == mask_b).all()


def test_fresh_scene_agrees_with_template(r32: Scenes3DRenderer) -> None:
    for s in (TWO, scene(obj(7, 1, 0.8, x=0.3, y=0.9, rotation=0.7, scale=1.0), background=5)):
        image, mask = r32.render(s, seed=2)
        fresh_image, fresh_mask = r32.render_fresh(s, seed=2)
        assert (mask == fresh_mask).all()
        assert np.abs(image.astype(int) - fresh_image.astype(int)).mean() < 2


def test_categories_have_distinct_silhouettes(r64: Scenes3DRenderer) -> None:
    masks = [r64.render(scene(obj(c, rotation=0.1, scale=1.0, y=0.0)), 0)[1] == 1 for c in range(len(CATEGORIES))]
    for i, j in itertools.combinations(range(len(masks)), 2):
        iou = (masks[i] & masks[j]).sum() / (masks[i] | masks[j]).sum()
        assert iou < 0.8, (CATEGORIES[i], CATEGORIES[j], iou)


def test_backgrounds_are_distinct_at_32(r32: Scenes3DRenderer) -> None:
    images = [r32.render(scene(obj(), background=b), 0)[0].astype(float) for b in range(len(BACKGROUNDS))]
    for i, j in itertools.combinations(range(len(images)), 2):
        assert np.abs(images[i] - images[j]).mean() > 15, (BACKGROUNDS[i], BACKGROUNDS[j])


def test_textures_change_the_object(r64: Scenes3DRenderer) -> None:
    s = scene(obj(2, scale=1.0, y=0.0))
    _, mask = r64.render(s, 0)
    inside = mask == 1
    looks = []
    for t in range(len(TEXTURES)):
        image, m = r64.render(dataclasses.replace(s, objects=(dataclasses.replace(s.objects[0], texture=t),)), 0)
        assert (m == mask).all()  # the texture does not move the object
        looks.append(image[inside].astype(float))
    for i, j in itertools.combinations(range(len(looks)), 2):
        assert np.abs(looks[i] - looks[j]).mean() > 8, (TEXTURES[i], TEXTURES[j])


def test_every_factor_changes_the_image(r32: Scenes3DRenderer) -> None:
    base = scene(obj(0, 0, 0.3, x=0.5, y=0.5, rotation=0.1, scale=0.5))
    image, mask = r32.render(base, 0)
    o = base.objects[0]
    variants = {
        "category": dataclasses.replace(base, objects=(dataclasses.replace(o, category=3),)),
        "texture": dataclasses.replace(base, objects=(dataclasses.replace(o, texture=4),)),
        "hue": dataclasses.replace(base, objects=(dataclasses.replace(o, hue=0.8),)),
        "rotation": dataclasses.replace(base, objects=(dataclasses.replace(o, rotation=0.225),)),
        "background": dataclasses.replace(base, background=3),
        "light_azimuth": dataclasses.replace(base, light_azimuth=0.0),
        "light_intensity": dataclasses.replace(base, light_intensity=1.0),
    }
    for name, changed in variants.items():
        other, _ = r32.render(changed, 0)
        assert np.abs(other.astype(int) - image.astype(int)).mean() > 0.5, name


def test_separated_objects_never_overlap_in_renders(r64: Scenes3DRenderer) -> None:
    """Worst cases of the guarantee: nearest, largest, widest objects exactly MIN_SEPARATION_X apart."""
    rng = np.random.default_rng(0)
    for xa in (0.0, 0.3, 0.6):
        for ca, cb in [(6, 9), (9, 6), (7, 8), (4, 0), (0, 4)]:
            for ya, yb in [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)]:
                a = obj(ca, x=xa, y=ya, rotation=float(rng.random()), scale=1.0)
                b = obj(cb, x=xa + MIN_SEPARATION_X, y=yb, rotation=float(rng.random()), scale=1.0)
                _, mask = r64.render(scene(a, b), 0)
                assert set(np.unique(mask)) == {0, 1, 2}
                assert columns(mask, 1).max() < columns(mask, 2).min(), (ca, cb, xa, ya, yb)


@pytest.mark.parametrize("bad, field", [
    (scene(obj(category=len(CATEGORIES))), r"objects\[0\]\.category"),
    (scene(obj(), obj(texture=-1)), r"objects\[1\]\.texture"),
    (scene(obj(), background=len(BACKGROUNDS)), "background"),
    (scene(obj(x=1.5)), r"objects\[0\]\.x"),
    (scene(obj(hue=float("nan"))), r"objects\[0\]\.hue"),
    (scene(obj(), light_intensity=-0.1), "light_intensity"),
    (SceneParams((obj(), obj(), obj()), 0, 0.5, 0.5), "1 to 2 objects"),
    (SceneParams((), 0, 0.5, 0.5), "1 to 2 objects"),
])
def test_bad_parameters_raise(r32: Scenes3DRenderer, bad: SceneParams, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        r32.render(bad, 0)
    with pytest.raises(ValueError, match=field):
        r32.render_fresh(bad, 0)


def test_choose_variant_returns_a_usable_variant(r32: Scenes3DRenderer) -> None:
    variant = choose_variant()
    assert variant in mi.variants()
    assert r32.variant == variant
    assert choose_variant("scalar_rgb") == "scalar_rgb"
    for unsupported in ("no_such_variant", "scalar_spectral"):
        with pytest.raises(ValueError, match=unsupported):
            choose_variant(unsupported)


_BROKEN_LLVM = """
from genperc.data.scenes3d import choose_variant
try:
    choose_variant("llvm_ad_rgb")
except RuntimeError as error:
    print("ERROR", error)
print("AUTO", choose_variant())
"""


_OLD_LLVMS = [path for version, path in system_libllvms() if version < 16][-1:]


@pytest.mark.parametrize("library", [os.devnull] + _OLD_LLVMS)
def test_broken_llvm_is_detected_without_crashing(library: str) -> None:
    """Not a library at all, or an LLVM old enough to abort the process on the first render."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENPERC_MITSUBA_WORKS_")}
    env["DRJIT_LIBLLVM_PATH"] = library
    env["CUDA_VISIBLE_DEVICES"] = ""
    done = subprocess.run([sys.executable, "-c", _BROKEN_LLVM], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ERROR" in done.stdout and "llvm_ad_rgb" in done.stdout and "libllvm19" in done.stdout
    assert "AUTO scalar_rgb" in done.stdout
    assert len([line for line in done.stderr.splitlines() if "scalar_rgb" in line]) == 1  # the notice


def test_scalar_variant_renders_the_same_masks(r32: Scenes3DRenderer) -> None:
    if r32.variant == "scalar_rgb":
        pytest.skip("the default variant is already scalar_rgb")
    scalar = Scenes3DRenderer(res=32, spp=2, max_objects=2, variant="scalar_rgb")
    image, mask = scalar.render(TWO, seed=0)
    assert (mask == r32.render(TWO, seed=0)[1]).all()
    assert np.abs(image.astype(int) - r32.render(TWO, seed=0)[0].astype(int)).mean() < 8
