#!/usr/bin/env bash
# Sets up .venv/ (with test tools) and runs the whole test suite. Extra arguments go to pytest.
# Browser tests need Debian's chromium (`apt-get install -y chromium`); without it they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
exec .venv/bin/python -m pytest "$@"
