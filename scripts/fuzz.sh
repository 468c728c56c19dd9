#!/usr/bin/env bash
# libFuzzer (with AddressSanitizer) on everything cashet parses from disk or from people:
# store records, the binary decoder, archives, worker requests, hash prefixes, sizes, dates (FuzzTarget).
#   SECONDS_PER_TARGET=300 TARGETS="records archive" bash scripts/fuzz.sh
#   bash scripts/fuzz.sh --seeds    # (re)writes the seed corpora in Fuzz/Corpus from the real writers
# Each target starts from Fuzz/Corpus/TARGET (committed; the test suite replays it) plus what
# earlier runs found in .build-fuzz/corpus/TARGET. A crash stops the script; its input is copied
# to Fuzz/Corpus/TARGET/crash-* to become a regression test once fixed. Prints runs per target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
targets=${TARGETS:-"records binary-decoder archive worker-request hash-prefix size date"}
seconds=${SECONDS_PER_TARGET:-60}
scratch=.build-fuzz
(cd Fuzz && rm -f "../$scratch/debug.yaml" && swift build --sanitize=fuzzer --sanitize=address --scratch-path "../$scratch" 2>&1 | grep -v "Cannot export local symbol" | tail -3)
fuzzer=$scratch/debug/CashetFuzz
# Swift's own crash handler would run inside ASan's report; libFuzzer reports the crash itself.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

if [[ "${1:-}" == "--seeds" ]]; then
    for target in $targets; do
        rm -f Fuzz/Corpus/"$target"/seed-*
        CASHET_FUZZ_TARGET=$target CASHET_FUZZ_WRITE_SEEDS=Fuzz/Corpus/$target "$fuzzer"
        echo "$target: $(ls Fuzz/Corpus/"$target" | wc -l) seed(s)"
    done
    exit 0
fi

printf '%-16s %12s %10s %8s\n' target runs "runs/s" crashes
for target in $targets; do
    corpus=$scratch/corpus/$target
    artifacts=$scratch/artifacts/$target
    mkdir -p "$corpus" "$artifacts"
    log=$scratch/fuzz-$target.log
    status=0
    CASHET_FUZZ_TARGET=$target "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" "Fuzz/Corpus/$target" > "$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    crashes=$(ls "$artifacts" | wc -l)
    printf '%-16s %12s %10s %8s\n' "$target" "$runs" "$(( runs / seconds ))" "$crashes"
    if [[ $status -ne 0 || $crashes -ne 0 ]]; then
        for crash in "$artifacts"/*; do cp "$crash" "Fuzz/Corpus/$target/crash-$(basename "$crash" | sed 's/^[a-z-]*-//')"; done
        grep -E "ERROR|Fatal error|SUMMARY" "$log" | head -5 >&2
        echo "fuzz: $target crashed; input copied to Fuzz/Corpus/$target (log: $log)" >&2
        exit 1
    fi
done
