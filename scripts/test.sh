#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs missing apt packages, builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift --version
swift test
