#!/usr/bin/env bash
# Sets up .venv/ (with test tools) and runs the whole test suite. Extra arguments go to pytest.
# Browser tests need Debian's chromium (`apt-get install -y chromium`); without it they skip.
# TEST_WORKERS=2 runs the tests on 2 pytest-xdist workers (--dist loadgroup: the vLLM tests share one
# worker and the browser tests one, see tests/conftest.py); unset, the suite runs in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
workers=()
if [ -n "${TEST_WORKERS:-}" ]; then
  workers=(-n "$TEST_WORKERS" --dist loadgroup)
fi
exec .venv/bin/python -m pytest "${workers[@]}" "$@"
