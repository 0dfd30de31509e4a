#!/usr/bin/env bash
# Set up genperc in ./.venv on a fresh machine; safe to run again (it only adds what is missing).
#   - a virtual environment (.venv)
#   - torch: a torch the invoking python already has (e.g. a CUDA build) is reused via
#     --system-site-packages; otherwise torch==2.13.0 (override with TORCH_SPEC=...)
#   - genperc with all extras (Mitsuba 3, transformers/peft, pytest/hypothesis)
#   - libllvm19 for Mitsuba's fast llvm_ad_rgb variant, when missing and we are root;
#     otherwise genperc falls back to scalar_rgb and says so.
#   --with-browser: also Debian's chromium, which the report test uses to render report.html
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WITH_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) WITH_BROWSER=1 ;;
    *) echo "setup: unknown option $arg (known: --with-browser)" >&2; exit 2 ;;
  esac
done

apt_install() {  # apt_install PKG: as root with apt, install PKG (refreshing the index if needed)
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null 2>&1; }
}

if [ ! -x .venv/bin/python ]; then
  if "$PY" -c "import torch" >/dev/null 2>&1; then
    echo "setup: reusing the torch of $PY ($("$PY" -c 'import torch; print(torch.__version__)'))"
    "$PY" -m venv --system-site-packages .venv
  else
    "$PY" -m venv .venv
  fi
fi
VPY=.venv/bin/python
"$VPY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! "$VPY" -c "import torch" >/dev/null 2>&1; then
  "$VPY" -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
fi
TORCH_BEFORE=$("$VPY" -c "import torch; print(torch.__version__)")
"$VPY" -m pip install -q -e ".[all]"
TORCH_AFTER=$("$VPY" -c "import torch; print(torch.__version__)")
if [ "$TORCH_BEFORE" != "$TORCH_AFTER" ]; then
  echo "setup: error: installing genperc changed torch from $TORCH_BEFORE to $TORCH_AFTER" >&2
  exit 1
fi

have_llvm19() { ldconfig -p 2>/dev/null | grep -qE 'libLLVM(-19|\.so\.19)'; }
if ! have_llvm19; then
  apt_install libllvm19 || true
  have_llvm19 || echo "setup: libllvm19 not available; Mitsuba renders with scalar_rgb (slower). Install libllvm19 for llvm_ad_rgb."
fi
if [ "$WITH_BROWSER" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium || echo "setup: chromium not available; the report-rendering test will be skipped."
fi
echo "setup: ready (torch $TORCH_AFTER, $("$VPY" -c 'import sys; print(sys.version.split()[0])'))"
