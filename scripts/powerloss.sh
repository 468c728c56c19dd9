#!/usr/bin/env bash
# The power-loss campaign: records the store's file operations (an LD_PRELOAD shim) while a
# workload writes small and large results, then builds STATES (default 1000) crash states per
# durability mode from the recording (what was fsynced, plus a random part of what was not,
# with torn 512-byte sectors: what a power cut can leave, unlike a SIGKILL) and checks each with
# the CLI: fsck exits 0 or 3 (never a signal or 2), fsck --repair makes it clean, stats works,
# and (durable) every acknowledged result is there bit for bit, before and after the repair.
# nosync losses are reported, not failures. See scripts/powerloss/campaign.py for the model.
# Prints one JSON summary; exits 1 if durable mode lost or damaged anything or any command
# crashed or exited 2.
#   STATES=1000 SEED=1 MODES=durable,nosync bash scripts/powerloss.sh
#   FS_MODEL=journal ...    names are durable on any fsync, as ext4/XFS journalling makes them
#   KEEP=DIR ...            copies each failing crash state (fresh) and its report to DIR
#   STEPS=40 ...            workload steps recorded per mode
#   REBUILD=1 ...           repairs structurally damaged data.mdb files with `fsck --repair --rebuild`
#                           (then every state must end clean, in any mode)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
states=${STATES:-1000}
seed=${SEED:-$RANDOM}
modes=${MODES:-durable,nosync}
steps=${STEPS:-40}
fs_model=${FS_MODEL:-posix}
# One product per invocation, as the other scripts build (the help names one --product).
swift build -c release --product CashetTestHelper
swift build -c release --product cashet
bin=$(swift build -c release --show-bin-path)
echo "power-loss campaign: $states states per mode ($modes), seed $seed, $fs_model model" >&2
start=$(date +%s)
status=0
python3 scripts/powerloss/campaign.py --bin "$bin" --states "$states" --seed "$seed" --modes "$modes" \
    --steps "$steps" --fs-model "$fs_model" ${KEEP:+--keep-failures "$KEEP"} ${REBUILD:+--rebuild} || status=$?
echo "took $(( $(date +%s) - start )) s" >&2
exit $status
