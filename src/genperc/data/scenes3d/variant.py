"""Choosing a Mitsuba variant that really works here.

With an old system LLVM (15), Dr.Jit's LLVM backend loads fine and then *aborts the process* on the
first render ("LLVM ERROR: Cannot select ..."), so neither import nor try/except can detect it.
Two defences: point Dr.Jit at the newest ``libLLVM`` on the system before it is first imported,
and test each JIT variant once with a tiny render in a child process. The answer is cached in
this process and in the environment, so worker processes started later skip the test.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from ctypes.util import find_library

FALLBACK = "scalar_rgb"
AUTO_ORDER = ("cuda_ad_rgb", "llvm_ad_rgb")
SUPPORTED = AUTO_ORDER + (FALLBACK,)  # the renderer's textures and colours are RGB
_CACHE_PREFIX = "GENPERC_MITSUBA_WORKS_"
_LIB_DIRS = (
    "/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib", "/lib64", "/usr/lib/*-linux-gnu",
    "/lib/*-linux-gnu", "/usr/lib/llvm-*/lib", "/opt/homebrew/opt/llvm/lib", "/usr/local/opt/llvm/lib",
)
_FIX = {
    "llvm": "Mitsuba's LLVM backend needs a recent LLVM shared library (LLVM 15 aborts on the first "
            "render): install libllvm19 (e.g. `apt-get install libllvm19`) or set DRJIT_LIBLLVM_PATH "
            "to a libLLVM of version 16 or newer",
    "cuda": "Mitsuba's CUDA backend needs an NVIDIA GPU with a working driver (libcuda)",
}
# A miniature of the real scenes (path tracer, principled BSDF, mesh, area light, envmap), so
# the JIT compiles the same kinds of instructions the renderer will need.
_PROBE = r"""
import sys
import numpy as np
import mitsuba as mi
mi.set_variant(sys.argv[1])
scene = mi.load_dict({
    "type": "scene",
    "integrator": {"type": "path", "max_depth": 3},
    "sensor": {"type": "perspective", "to_world": mi.ScalarTransform4f().look_at(
        origin=[0, 1, 4], target=[0, 0, 0], up=[0, 1, 0]),
        "film": {"type": "hdrfilm", "width": 8, "height": 8},
        "sampler": {"type": "independent", "sample_count": 2}},
    "ball": {"type": "sphere", "bsdf": {"type": "principled", "metallic": 0.5, "roughness": 0.3}},
    "floor": {"type": "cube", "to_world": mi.ScalarTransform4f().translate([0, -1.5, 0]).scale([3, 0.5, 3])},
    "lamp": {"type": "rectangle", "to_world": mi.ScalarTransform4f().look_at(
        origin=[2, 3, 2], target=[0, 0, 0], up=[0, 1, 0]), "emitter": {"type": "area"}},
    "sky": {"type": "envmap", "bitmap": mi.Bitmap(np.full((4, 8, 3), 0.5, dtype=np.float32))},
})
image = np.asarray(mi.render(scene, seed=1))
assert image.shape == (8, 8, 3) and np.isfinite(image).all() and image.max() > 0
print("probe-ok")
"""


def _llvm_version(path: str) -> int:
    match = re.search(r"llvm[-.](?:so\.)?(\d+)", path, flags=re.IGNORECASE)
    return int(match.group(1)) if match else -1


def system_libllvms() -> list[tuple[int, str]]:
    """(major version, path) of the LLVM shared libraries found in the usual places, oldest first."""
    found = {p for pattern in _LIB_DIRS for p in glob.glob(os.path.join(pattern, "libLLVM*"))
             if ".so" in p or p.endswith(".dylib")}
    return sorted((_llvm_version(p), p) for p in found if _llvm_version(p) > 0)


def configure_llvm() -> None:
    """Make Dr.Jit load the newest libLLVM, unless the user chose one or Dr.Jit is loaded already."""
    if "DRJIT_LIBLLVM_PATH" in os.environ or "drjit" in sys.modules:
        return
    libraries = system_libllvms()
    if libraries:
        os.environ["DRJIT_LIBLLVM_PATH"] = libraries[-1][1]


def _probe(variant: str) -> bool:
    """Whether a tiny render in ``variant`` succeeds in a child process (cached, see module doc)."""
    key = _CACHE_PREFIX + variant.upper()
    if key not in os.environ:
        if variant.startswith("cuda") and find_library("cuda") is None:
            works = False  # no driver: skip the child process
        else:
            try:
                done = subprocess.run([sys.executable, "-c", _PROBE, variant], capture_output=True,
                                      text=True, timeout=300, env=os.environ.copy())
                works = done.returncode == 0 and "probe-ok" in done.stdout
            except subprocess.TimeoutExpired:
                works = False
        os.environ[key] = "1" if works else "0"
    return os.environ[key] == "1"


def choose_variant(preferred: str | None = None) -> str:
    """``preferred`` if it works (else a ``RuntimeError`` naming the fix); by default the fastest
    working one of ``cuda_ad_rgb``, ``llvm_ad_rgb``, then ``scalar_rgb`` with a notice on stderr."""
    configure_llvm()
    import mitsuba as mi

    if preferred is not None:
        if preferred not in SUPPORTED or preferred not in mi.variants():
            usable = [v for v in SUPPORTED if v in mi.variants()]
            raise ValueError(f"Mitsuba variant {preferred!r} is not supported here; choose one of {usable}")
        backend = preferred.split("_", 1)[0]
        if backend in _FIX and not _probe(preferred):
            raise RuntimeError(f"Mitsuba variant {preferred!r} failed a test render. {_FIX[backend]}.")
        return preferred
    for variant in AUTO_ORDER:
        if variant in mi.variants() and _probe(variant):
            return variant
    print(f"genperc.scenes3d: no working JIT backend, rendering with the slow {FALLBACK!r} variant "
          f"({_FIX['llvm']}).", file=sys.stderr)
    return FALLBACK
