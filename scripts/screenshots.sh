#!/usr/bin/env bash
# Refreshes the README's pictures, assets/screenshot-en.png and assets/screenshot-zh.png, by running
# the screenshot test with DESK_SCREENSHOT_DIR=assets (the test suite itself writes them to a
# temporary folder and never touches assets/). Needs Debian's chromium (`apt-get install -y chromium`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  echo "scripts/screenshots.sh: /usr/bin/chromium is missing (apt-get install -y chromium)" >&2
  exit 1
fi
bash scripts/setup.sh --dev
before=$(stat -c %Y assets/screenshot-en.png assets/screenshot-zh.png 2>/dev/null || true)
DESK_SCREENSHOT_DIR="$PWD/assets" .venv/bin/python -m pytest -p no:xdist -q -o addopts="" \
  tests/test_desk_browser.py -k test_screenshot_of_a_ranked_ticket "$@"
after=$(stat -c %Y assets/screenshot-en.png assets/screenshot-zh.png)
if [ "$before" = "$after" ]; then
  echo "scripts/screenshots.sh: the screenshots were not rewritten" >&2
  exit 1
fi
echo "Refreshed assets/screenshot-en.png and assets/screenshot-zh.png"
