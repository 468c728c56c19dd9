#!/usr/bin/env bash
# Builds the DocC documentation of Cashet and CashetPostgres into .build/docs/<module>, and fails
# on any warning (an unresolved ``Symbol`` link, an undocumented parameter, a missing article).
# Open .build/docs/Cashet/index.html through a web server (python3 -m http.server), or pass
# --static to write files for static hosting.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .build/docs
hosting=()
[ "${1:-}" = "--static" ] && hosting=(--transform-for-static-hosting)
for target in Cashet CashetPostgres; do
    swift package --allow-writing-to-directory .build/docs generate-documentation \
        --target "$target" --warnings-as-errors --output-path ".build/docs/$target" "${hosting[@]}"
done
echo "documentation: .build/docs/Cashet, .build/docs/CashetPostgres" >&2
