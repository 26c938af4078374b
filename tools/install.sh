#!/usr/bin/env bash
# Install everything the book needs into a virtual environment (.venv in the repository root,
# or the one already active), without the gigabytes of CUDA libraries on a Linux machine that
# has no NVIDIA GPU:
#
#     bash tools/install.sh            # then: . .venv/bin/activate
#
# 1. torch, pinned in requirements.txt: on Linux without nvidia-smi, the CPU build from PyTorch's
#    CPU index; if that index cannot be reached (a firewall, a mirror-only network), the default
#    index instead, with a warning (there the Linux wheel brings CUDA libraries with it).
# 2. everything else in requirements.txt (torch is then already satisfied);
# 3. reveal.js for the lecture decks, from the npm registry, if npm is available.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  . .venv/bin/activate
fi
pip() { python -m pip "$@"; }

torch_pin=$(grep -E '^torch==' requirements.txt | head -n 1)
cpu_index="https://download.pytorch.org/whl/cpu"
if python -c "import importlib.metadata as m, sys; v = m.version('torch'); sys.exit(v.split('+')[0] != '${torch_pin#torch==}')" 2>/dev/null; then
  echo "install: $torch_pin already installed"
elif [ "$(uname -s)" = "Linux" ] && ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "install: $torch_pin, CPU build (no NVIDIA GPU found)"
  if ! pip install -q --timeout 20 --retries 1 --index-url "$cpu_index" "$torch_pin"; then
    echo "install: WARNING: PyTorch's CPU index cannot be reached; installing $torch_pin from the" >&2
    echo "install: default index, which on Linux also downloads CUDA libraries (several GB)." >&2
    pip install -q "$torch_pin"
  fi
fi

pip install -q -r requirements.txt
echo "install: Python packages installed in ${VIRTUAL_ENV}"

# 3. reveal.js for the lecture decks, pinned in package-lock.json (the site build copies it into
#    _build/html/slides/); without npm the site still builds, without its decks.
if command -v npm >/dev/null 2>&1; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "install: reveal.js installed in node_modules/ (lecture decks)"
else
  echo "install: WARNING: npm not found, so no lecture decks (Debian: sudo apt-get install -y npm)" >&2
fi
