#!/usr/bin/env bash
# Writes Tests/CashetTests/Fixtures/store-v1: a schema-1 store made by this release's code
# (CashetTestHelper make-v1-fixture, see Sources/CashetTestHelper/V1Fixture.swift) and
# expected.json, what this release's CLI answers about it: `log --json`, and for every commit
# `show --json`, `history --json` and the SHA-256 of `get`, plus `stats --json`.
#
# Run once, with the schema-1 code, and commit the result: later releases read (and migrate)
# these bytes and must answer the same. Re-running it on a later schema would pin that schema
# instead, so the script refuses to overwrite an existing fixture.
set -euo pipefail
cd "$(dirname "$0")/.."
out=Tests/CashetTests/Fixtures/store-v1
[[ -e $out ]] && { echo "$out exists; remove it first if you really mean to replace the fixture" >&2; exit 1; }
swift build --product CashetTestHelper --product cashet >/dev/null
bin=$(swift build --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/CashetTestHelper" make-v1-fixture "$work/store"
python3 - "$bin/cashet" "$work/store" "$work/expected.json" <<'EOF'
import hashlib, json, subprocess, sys
cli, store, out = sys.argv[1:]

def run(*args, text=True):
    return subprocess.run([cli, "--store", store, *args], check=True, capture_output=True, text=text).stdout

log = [json.loads(line) for line in run("log", "--json").splitlines()]
expected = {"log": log, "show": {}, "history": {}, "results": {}, "stats": json.loads(run("stats", "--json"))}
for commit in log:
    h = commit["hash"]
    expected["show"][h] = json.loads(run("show", "--json", h))
    expected["history"][h] = [json.loads(line) for line in run("history", "--json", h).splitlines()]
    if commit["output"] is not None:
        expected["results"][h] = hashlib.sha256(run("get", h, text=False)).hexdigest()
with open(out, "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True, ensure_ascii=False)
    f.write("\n")
EOF
mkdir -p "$out"
cp "$work/store/data.mdb" "$out/"
[[ -d $work/store/objects ]] && cp -r "$work/store/objects" "$out/"
cp "$work/expected.json" "$out/"
echo "wrote $out: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1)"
