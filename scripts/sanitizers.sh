#!/usr/bin/env bash
# The test suite under the sanitizers, each in its own build folder (a clean build of each
# takes several minutes; the test helpers and the CLI the tests start are sanitized too):
#   AddressSanitizer: the whole suite (.build-asan)
#   ThreadSanitizer:  the concurrency tests: in-process single-flight, map, leases, cancellation,
#                     cross-process runs, crash and fault tests (.build-tsan)
#   bash scripts/sanitizers.sh [address|thread]   # default: both
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Swift's crash handler would run inside a sanitizer's report; the sanitizer reports the crash itself.
export SWIFT_BACKTRACE=enable=no
concurrency="ExecutionTests|CrossProcessExecutionTests|CrossProcessTests|CrashTests|DeadProcessFaultTests|FaultInjectionTests|ClientTests|LMDBStoreTests|ChainingTests"
for sanitizer in ${1:-address thread}; do
    case $sanitizer in
        address)
            # LeakSanitizer is off: the Swift runtime's metadata caches live for the process and are reported.
            ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:suppressions=$PWD/scripts/asan.supp} \
                swift test --sanitize=address --scratch-path .build-asan ;;
        thread)
            # One test at a time: under TSan's ~10x slowdown, tests that wait for subprocesses
            # synchronously hold both threads of a 2-core cooperative pool long enough to starve
            # the timers of tests running beside them (a 200 ms time limit fired after 70 s).
            TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1} \
                swift test --sanitize=thread --scratch-path .build-tsan --no-parallel --filter "$concurrency" ;;
        *) echo "unknown sanitizer $sanitizer (use address or thread)" >&2; exit 2 ;;
    esac
    echo "sanitizer $sanitizer: clean" >&2
done
