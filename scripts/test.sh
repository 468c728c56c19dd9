#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs missing apt packages, builds, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --for-tests
swift --version
swift test
# @Cached as users apply it (macro + build-tool plugin), in its own package: see its Package.swift.
swift test --package-path IntegrationTests
# The DocC catalogs of Cashet and CashetPostgres, with no warning allowed (about 30 s after the build above).
bash scripts/docs.sh
