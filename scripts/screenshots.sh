#!/usr/bin/env bash
# The screenshots in docs/screenshots/ (README, "Web UI"): the browser test's pages of its demo
# store, taken by headless Chromium, kept instead of thrown away.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --for-tests
mkdir -p docs/screenshots
swift build --build-tests
CASHET_SCREENSHOTS="$PWD/docs/screenshots" swift test --skip-build --filter "inABrowser"
ls -l docs/screenshots
