"""Path-traced scenes of objects on a floor before a wall, rendered with Mitsuba 3.

Fast path: one scene with one mesh per object slot is compiled once; each image rewrites that
mesh's buffers with the wanted category (resized in place; an empty slot holds a speck far below
the floor), and updates textures, BSDF knobs and the lamp. The JIT variants then reuse their
compiled kernels instead of spending ~0.5 s per scene, and the acceleration structure that must be
rebuilt holds only the visible geometry. Every image writes every per-object parameter, so the
scene state is a function of the current ``SceneParams`` alone and images do not depend on what
was rendered before.
"""

from __future__ import annotations

import numpy as np

from .environments import BACKGROUNDS, FLOOR_SIZE, WALL_SIZE, Environment, build_environment
from .layout import LIGHT_SIZE, PAIR, SINGLE, WALL_Z, light_position, light_target, object_matrix
from .materials import Material, make_material
from .meshes import CATEGORIES, MeshData, build_mesh
from .params import ObjectParams, SceneParams, validate
from .variant import choose_variant

# The package's __init__ has already pointed Dr.Jit at the newest libLLVM; only now load it.
import drjit as dr  # noqa: E402
import mitsuba as mi  # noqa: E402

MAX_DEPTH = 3  # one indirect bounce: floor reflections and fill; longer paths added little but noise
LAMP_RADIANCE = 5.5  # key light; its strength is jittered by +-15 % via light_intensity
# The lamp outshines the sky, so next-event estimation should pick it far more often than the
# uniform default (measured: pixel noise at 8 spp falls by ~45 %).
LAMP_SAMPLING_WEIGHT = 12.0
_PARKED = np.diag([1e-4, 1e-4, 1e-4, 1.0])
_PARKED[:3, 3] = [0.0, -50.0, 0.0]
_EMPTY = make_material(0, 0.0)  # what an unused object slot holds, so its state is fixed too
_MASK_SEED = 0  # masks do not depend on the image seed


def _transformed(mesh: MeshData, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex positions and normals under a rotation * uniform scale + translation."""
    linear = matrix[:3, :3]
    positions = mesh.positions @ linear.T + matrix[:3, 3]
    normals = mesh.normals @ linear.T
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return positions.astype(np.float32), normals.astype(np.float32)


def _set_buffer(params: mi.SceneParameters, key: str, values: np.ndarray) -> None:
    """Write a flat buffer in the parameter's own array type (which differs between variants)."""
    params[key] = type(params[key])(values.ravel())


def _set_value(params: mi.SceneParameters, key: str, value: float | list[float]) -> None:
    """Write a float or colour; opaque in JIT variants, since a literal would recompile the kernel."""
    kind = type(params[key])
    params[key] = dr.opaque(kind, value) if dr.is_jit_v(kind) else kind(value)


def _write_mesh(params: mi.SceneParameters, prefix: str, mesh: MeshData, matrix: np.ndarray) -> None:
    """Write all buffers of a mesh (Mitsuba resizes it when the counts change)."""
    positions, normals = _transformed(mesh, matrix)
    _set_buffer(params, prefix + "vertex_positions", positions)
    _set_buffer(params, prefix + "vertex_normals", normals)
    _set_buffer(params, prefix + "vertex_texcoords", mesh.uvs)
    _set_buffer(params, prefix + "faces", mesh.faces)


def _padded(mesh: MeshData, face_count: int) -> MeshData:
    """The mesh grown to ``face_count`` faces by zero-area triangles on its first vertex."""
    extra = face_count - len(mesh.faces)
    grow = lambda a: np.concatenate([a, np.repeat(a[:1], 3 * extra, axis=0)])  # noqa: E731
    faces = np.concatenate([mesh.faces, np.zeros((extra, 3), dtype=mesh.faces.dtype)])
    return MeshData(grow(mesh.positions), grow(mesh.normals), grow(mesh.uvs), faces)


def _to_srgb8(linear: np.ndarray) -> np.ndarray:
    c = np.clip(linear, 0.0, 1.0)
    c = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return np.rint(c * 255.0).astype(np.uint8)


def _mesh_name(slot: int) -> str:
    return f"object{slot}"


class Scenes3DRenderer:
    """Renders ``SceneParams`` to an sRGB image and an instance mask (0 = background, i + 1 = object i).

    ``variant`` is passed to ``choose_variant``. ``threads`` sets Dr.Jit's thread count for the
    whole process (with several worker processes, give each cores / workers). A renderer for one
    object (``max_objects=1``) uses the zoomed ``SINGLE`` framing, otherwise ``PAIR``.
    """

    def __init__(self, res: int = 64, spp: int = 16, max_objects: int = 2, variant: str | None = None,
                 threads: int | None = None) -> None:
        if res < 8 or spp < 1 or max_objects < 1:
            raise ValueError(f"need res >= 8, spp >= 1, max_objects >= 1; got {res}, {spp}, {max_objects}")
        self.res, self.spp, self.max_objects = res, spp, max_objects
        self.framing = SINGLE if max_objects == 1 else PAIR
        self.variant = choose_variant(variant)
        mi.set_variant(self.variant)
        if threads is not None:
            dr.set_thread_count(threads)
        self._meshes = [build_mesh(name) for name in CATEGORIES]
        if self.variant.startswith("scalar"):
            # Scalar parameter writes cannot resize a buffer, so all categories get one size there.
            faces = max(len(m.faces) for m in self._meshes)
            self._meshes = [_padded(m, faces) for m in self._meshes]
        self._environments = [build_environment(i) for i in range(len(BACKGROUNDS))]
        self._mask_integrator = mi.load_dict({"type": "aov", "aovs": "index:shape_index"})
        shapes = {_mesh_name(k): self._mesh(_mesh_name(k), self._meshes[0], _PARKED, self._bsdf(_EMPTY))
                  for k in range(max_objects)}
        self._scene = mi.load_dict(self._scene_dict(shapes, self._environments[0], 0.5, 0.5), optimize=False)
        self._params = mi.traverse(self._scene)
        self._labels = self._label_table(self._scene, list(shapes))
        self._background = 0

    # -- public ---------------------------------------------------------------------------------

    def render(self, scene: SceneParams, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Image (res, res, 3) uint8 sRGB and mask (res, res) uint8; ``seed`` is taken mod 2**32."""
        validate(scene, self.max_objects)
        self._activate()
        self._update(scene)
        return self._render(self._scene, self._labels, seed)

    def render_fresh(self, scene: SceneParams, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Same output, but loads a new Mitsuba scene holding just these objects (the slow path)."""
        validate(scene, self.max_objects)
        self._activate()
        shapes = {_mesh_name(k): self._mesh(_mesh_name(k), self._meshes[obj.category], self._matrix(obj),
                                            self._bsdf(self._material(obj)))
                  for k, obj in enumerate(scene.objects)}
        env = self._environments[scene.background]
        fresh = mi.load_dict(self._scene_dict(shapes, env, scene.light_azimuth, scene.light_intensity),
                             optimize=False)
        return self._render(fresh, self._label_table(fresh, list(shapes)), seed)

    # -- building blocks ------------------------------------------------------------------------

    def _activate(self) -> None:
        """Mitsuba's variant is process-wide: another renderer may have switched it."""
        if mi.variant() != self.variant:
            mi.set_variant(self.variant)

    def _matrix(self, obj: ObjectParams) -> np.ndarray:
        return object_matrix(obj.x, obj.y, obj.rotation, obj.scale, self._meshes[obj.category].height,
                             self.framing)

    @staticmethod
    def _material(obj: ObjectParams) -> Material:
        return make_material(obj.texture, obj.hue)

    @staticmethod
    def _bsdf(material: Material) -> mi.BSDF:
        return mi.load_dict({
            "type": "principled",
            "base_color": {"type": "bitmap", "bitmap": mi.Bitmap(material.base_color)},
            "metallic": material.metallic,
            "roughness": material.roughness,
        })

    @staticmethod
    def _mesh(name: str, mesh: MeshData, matrix: np.ndarray, bsdf: mi.BSDF) -> mi.Mesh:
        props = mi.Properties()
        props["bsdf"] = bsdf
        out = mi.Mesh(name, len(mesh.positions), len(mesh.faces), props=props,
                      has_vertex_normals=True, has_vertex_texcoords=True)
        p = mi.traverse(out)
        _write_mesh(p, "", mesh, matrix)
        p.update()
        return out

    def _lamp_vertices(self, light_azimuth: float) -> np.ndarray:
        """Corners of the square lamp, facing its target. A mesh, not a ``rectangle``: Mitsuba
        bakes a rectangle's transform into the kernel, so moving it would recompile."""
        centre = light_position(light_azimuth, self.framing)
        normal = light_target() - centre
        normal /= np.linalg.norm(normal)
        side = np.cross([0.0, 1.0, 0.0], normal)
        side /= np.linalg.norm(side)
        up = np.cross(normal, side)
        h = LIGHT_SIZE / 2
        return np.array([centre + h * (a * side + b * up) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))],
                        dtype=np.float32)

    @staticmethod
    def _lamp_radiance(env: Environment, light_intensity: float) -> list[float]:
        return (env.light * LAMP_RADIANCE * (0.85 + 0.3 * light_intensity)).tolist()

    def _lamp(self, light_azimuth: float, radiance: list[float]) -> mi.Mesh:
        props = mi.Properties()
        props["emitter"] = mi.load_dict({"type": "area", "radiance": {"type": "rgb", "value": radiance},
                                         "sampling_weight": LAMP_SAMPLING_WEIGHT})
        lamp = mi.Mesh("lamp", 4, 2, props=props)
        p = mi.traverse(lamp)
        _set_buffer(p, "vertex_positions", self._lamp_vertices(light_azimuth))
        _set_buffer(p, "faces", np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32))
        p.update()
        return lamp

    def _sensor(self, mask: bool) -> dict:
        cam = self.framing.camera
        look = mi.ScalarTransform4f().look_at(origin=cam.origin.tolist(), target=cam.target.tolist(),
                                             up=[0.0, 1.0, 0.0])
        film = {"type": "hdrfilm", "width": self.res, "height": self.res, "pixel_format": "rgb"}
        if mask:  # one sample at each pixel centre, no filter spreading labels across pixels
            film["rfilter"] = {"type": "box"}
            sampler = {"type": "stratified", "sample_count": 1, "jitter": False}
        else:
            sampler = {"type": "independent", "sample_count": self.spp}
        return {"type": "perspective", "fov": self.framing.fov_deg, "to_world": look, "film": film, "sampler": sampler}

    def _scene_dict(self, shapes: dict[str, mi.Mesh], env: Environment, light_azimuth: float,
                    light_intensity: float) -> dict:
        fx, fz = FLOOR_SIZE
        wx, wy = WALL_SIZE
        floor = (mi.ScalarTransform4f().translate([0.0, 0.0, WALL_Z + fz / 2])
                 @ mi.ScalarTransform4f().rotate([1.0, 0.0, 0.0], -90.0)
                 @ mi.ScalarTransform4f().scale([fx / 2, fz / 2, 1.0]))
        wall = (mi.ScalarTransform4f().translate([0.0, wy / 2, WALL_Z])
                @ mi.ScalarTransform4f().scale([wx / 2, wy / 2, 1.0]))
        return {
            "type": "scene",
            "integrator": {"type": "path", "max_depth": MAX_DEPTH},
            "camera": self._sensor(mask=False),
            "mask_camera": self._sensor(mask=True),
            "floor": {"type": "rectangle", "to_world": floor,
                      "bsdf": {"type": "diffuse", "reflectance": {"type": "bitmap", "bitmap": mi.Bitmap(env.floor)}}},
            "wall": {"type": "rectangle", "to_world": wall,
                     "bsdf": {"type": "diffuse", "reflectance": {"type": "bitmap", "bitmap": mi.Bitmap(env.wall)}}},
            "lamp": self._lamp(light_azimuth, self._lamp_radiance(env, light_intensity)),
            "sky": {"type": "constant", "radiance": {"type": "rgb", "value": env.fill.tolist()}},
            **shapes,
        }

    @staticmethod
    def _label_table(scene: mi.Scene, slots: list[str]) -> np.ndarray:
        """Map the ``shape_index`` AOV to mask labels: the mesh of slot k to k + 1, the rest to 0.

        The AOV holds the 1-based position in ``scene.shapes()`` in scalar variants and the shape's
        registry id in JIT variants.
        """
        shapes = scene.shapes()
        if mi.variant().startswith("scalar"):
            codes = {s.id(): i + 1 for i, s in enumerate(shapes)}
        else:
            codes = {s.id(): int(dr.reinterpret_array(mi.UInt32, mi.ShapePtr(s))[0]) for s in shapes}
        table = np.zeros(max(codes.values()) + 1, dtype=np.uint8)
        for k, name in enumerate(slots):
            table[codes[name]] = k + 1
        return table

    # -- fast path ------------------------------------------------------------------------------

    def _update(self, scene: SceneParams) -> None:
        p = self._params
        for k in range(self.max_objects):
            prefix = _mesh_name(k) + "."
            if k < len(scene.objects):
                obj = scene.objects[k]
                mesh, matrix, material = self._meshes[obj.category], self._matrix(obj), self._material(obj)
            else:
                mesh, matrix, material = self._meshes[0], _PARKED, _EMPTY
            _write_mesh(p, prefix, mesh, matrix)
            p[prefix + "bsdf.base_color.data"] = mi.TensorXf(material.base_color)
            _set_value(p, prefix + "bsdf.metallic.value", material.metallic)
            _set_value(p, prefix + "bsdf.roughness.value", material.roughness)
        env = self._environments[scene.background]
        if scene.background != self._background:
            p["floor.bsdf.reflectance.data"] = mi.TensorXf(env.floor)
            p["wall.bsdf.reflectance.data"] = mi.TensorXf(env.wall)
            _set_value(p, "sky.radiance.value", env.fill.tolist())
            self._background = scene.background
        _set_buffer(p, "lamp.vertex_positions", self._lamp_vertices(scene.light_azimuth))
        _set_value(p, "lamp.emitter.radiance.value", self._lamp_radiance(env, scene.light_intensity))
        p.update()

    def _render(self, scene: mi.Scene, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        camera, mask_camera = (next(s for s in scene.sensors() if s.id() == name)
                               for name in ("camera", "mask_camera"))
        image = mi.render(scene, sensor=camera, seed=seed % 2**32, spp=self.spp)
        index = mi.render(scene, sensor=mask_camera, integrator=self._mask_integrator, seed=_MASK_SEED, spp=1)
        codes = np.rint(np.asarray(index)[..., 0]).astype(np.int64)
        return _to_srgb8(np.asarray(image)), labels[codes]
