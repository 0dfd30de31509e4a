"""Camera, light rig and object placement, in world units (y up, floor at y = 0).

Placement is defined in image terms: ``x`` sets where the object's centre appears horizontally
(the usable area spans ``HALF_SPAN`` either side of the image centre, in tangent units), ``y``
sets its depth. Non-occlusion guarantee: two objects whose ``x`` differ by at least
``MIN_SEPARATION_X`` project to disjoint column ranges, at any depth, rotation and scale in range,
whatever their categories. Disjoint projections imply disjoint objects in 3D, since a plane
through the camera separates them. The constants below were chosen by projecting the meshes of
``meshes`` (the tests repeat that check) to keep a small gap in the worst case (two near, maximal,
wide objects) and every object fully inside the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SEPARATION_X = 0.4
FOV_DEG = 24.0
HALF_SPAN = 0.149  # tan of the half-angle covered by object centres (the frame's: tan 12 deg = 0.213)
SIZE_RANGE = (0.72, 0.87)  # world units per canonical mesh unit, for scale = 0 and 1
DEPTH_Z = (1.0, -1.0)  # world z of an object's axis at y = 0 (near) and y = 1 (far)
WALL_Z = -3.5  # the back wall; the floor runs from here towards the camera
_ELEVATION_DEG = 28.0
_DISTANCE = 15.0  # far and narrow: depth changes position more than size
_TARGET = np.array([0.0, 0.5, 0.0])
# Key light: a large square lamp (soft shadows, calm highlights on metal) above left of the camera.
LIGHT_SIZE = 5.0
_LIGHT_DISTANCE = 9.0
_LIGHT_ELEVATION_DEG = 52.0
_LIGHT_AZIMUTH_DEG = (-52.0, -28.0)  # range for light_azimuth = 0 .. 1 (negative: camera's left)
_LIGHT_TARGET = np.array([0.0, 0.3, 0.0])


@dataclass(frozen=True)
class Camera:
    origin: np.ndarray
    target: np.ndarray
    forward: np.ndarray  # unit viewing direction


def _camera(elevation_deg: float = _ELEVATION_DEG) -> Camera:
    e = np.radians(elevation_deg)
    origin = _TARGET + _DISTANCE * np.array([0.0, np.sin(e), np.cos(e)])
    forward = (_TARGET - origin) / np.linalg.norm(_TARGET - origin)
    return Camera(origin, _TARGET.copy(), forward)


CAMERA = _camera()  # looks along -z, so world +x is image right


@dataclass(frozen=True)
class Framing:
    """How much of the scene the camera shows. ``PAIR`` leaves room for two objects side by side
    (and carries the separation guarantee); ``SINGLE`` zooms in on one object, which then covers
    about twice as many pixels — what a 32² image of a one-object split needs."""

    fov_deg: float
    half_span: float  # tan units either side of the image centre covered by object centres
    depth_z: tuple[float, float]
    camera: Camera
    light_elevation_deg: float = _LIGHT_ELEVATION_DEG  # key light; kept above the camera's view


PAIR = Framing(FOV_DEG, HALF_SPAN, DEPTH_Z, CAMERA)
# Half the field of view; centres stay within the inner half of the frame so the (twice as large)
# object stays inside it, and a shorter depth range keeps it off the top and bottom edges. The
# camera looks down more steeply, so the floor fills the frame: the background is one region (a
# wall band above a floor would be a second one, which slot models then split off instead of the
# object).
SINGLE = Framing(2 * float(np.degrees(np.arctan(np.tan(np.radians(FOV_DEG / 2)) / 2))), 0.045, (0.6, -0.6),
                 _camera(50.0), light_elevation_deg=75.0)


def object_size(scale: float) -> float:
    return SIZE_RANGE[0] + scale * (SIZE_RANGE[1] - SIZE_RANGE[0])


def object_matrix(x: float, y: float, rotation: float, scale: float, height: float,
                  framing: Framing = PAIR) -> np.ndarray:
    """4x4 world transform of a canonical mesh of the given height (turn, then scale, then place).

    The horizontal position puts the centre of the object's axis on the image column chosen by
    ``x``, whatever its depth, which is what makes the separation guarantee depth-independent.
    """
    size = object_size(scale)
    near, far = framing.depth_z
    z = near + y * (far - near)
    centre = np.array([0.0, 0.5 * size * height, z])
    cam = framing.camera
    depth = float(np.dot(centre - cam.origin, cam.forward))
    world_x = (2.0 * x - 1.0) * framing.half_span * depth
    angle = 2.0 * np.pi * rotation
    c, s = np.cos(angle), np.sin(angle)
    m = np.eye(4)
    m[:3, :3] = size * np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    m[:3, 3] = [world_x, 0.0, z]
    return m


def light_position(light_azimuth: float, framing: Framing = PAIR) -> np.ndarray:
    lo, hi = _LIGHT_AZIMUTH_DEG
    az = np.radians(lo + light_azimuth * (hi - lo))
    el = np.radians(framing.light_elevation_deg)
    offset = _LIGHT_DISTANCE * np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
    return _LIGHT_TARGET + offset


def light_target() -> np.ndarray:
    return _LIGHT_TARGET.copy()
