#!/usr/bin/env bash
# Load on `cashet serve` with wrk: /api/stats, a commit page, the first page of the commit list
# and /api/log, on a store of COMMITS (default 1,000,000) commits made by CashetStoreGenerator;
# the baseline, in the same run, is the stylesheet (a route that reads no store).
#   bash scripts/serve-load.sh            # COMMITS=1000000 DURATION=20s CONNECTIONS=32
# Prints a Markdown table; the server and wrk share this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if ! command -v wrk >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing wrk" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
commits=${COMMITS:-1000000}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-32}
source scripts/lib/generated-store.sh
make_generated_store "$commits"

log=$(mktemp)
"$bin/cashet" --store "$store" serve --port 0 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 200); do grep -q "listening on" "$log" && break; sleep 0.05; done
base=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$log")
[ -n "$base" ] || { cat "$log" >&2; exit 1; }
hash=$("$bin/cashet" --store "$store" log -n 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])')

echo "| request ($commits commits, wrk -t2 -c$connections -d$duration) | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
for path in /static/style.css /api/stats "/commits/$hash" / "/api/log?limit=50"; do
    curl -fsS -o /dev/null "$base$path" || { echo "GET $path failed" >&2; exit 1; }
    wrk -t2 -c"$connections" -d"$duration" --latency "$base$path" | python3 -c '
import re, sys
text = sys.stdin.read()
rate = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
p50 = re.search(r"\s50%\s+([\d.]+\w+)", text).group(1)
p99 = re.search(r"\s99%\s+([\d.]+\w+)", text).group(1)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors: sys.exit("non-2xx responses: " + errors.group(1))
label = sys.argv[1] if sys.argv[1] != "/static/style.css" else "baseline: /static/style.css (no store read)"
label = label if not label.startswith("/commits/") else "/commits/<hash> (commit page)"
print(f"| `{label}` | {float(rate):,.0f} | {p50} | {p99} |")
' "$path"
done
