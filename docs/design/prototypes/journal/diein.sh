#!/bin/bash
# Deterministic "writer killed inside the journal lock" test. Writer 1 is running (300k submits);
# writer 2 appends its submit 437, updates shm.prev_sum and SIGKILLs itself before publishing
# end/next_seq (busy still set). With the busy-flag rebuild, writer 1's next lock acquisition
# rebuilds the shm from the journal and nothing acknowledged is lost; with --no-busy writer 1
# appends over a stale shm.
W=/tmp/waldie; extra="$1"
rm -rf $W; ./wal run $W 0 >/dev/null
taskset -c 1 ./wal run $W 300000 --seed 1 --start 0 $extra --marks $W.m1 > $W.o1 2>&1 &
p1=$!; sleep 0.3
taskset -c 1 ./wal run $W 500 --seed 2 --start 0 --flush-n 100000 --die-at 437 $extra >/dev/null 2>&1 & p2=$!
wait $p2; echo "writer 2 exit=$? (137 = SIGKILL)"; wait $p1; echo "writer 1 exit=$?"; head -1 $W.o1 | sed 's/ flush_mean.*//' | cut -c1-200
a1=$(grep '^t ' $W.m1 | tail -1 | awk '{print $2}'); echo "writer 1 acked $a1"
./wal check $W --continue 0 $extra >/dev/null 2>&1; echo "check exit=$?"
./wal reader $W $a1 --seed 1 | head -1 | cut -d' ' -f1-7; echo "   (expect not_found=$((a1/8)))"
./wal reader $W 436 --seed 2 | head -1 | cut -d' ' -f1-7; echo "   (expect not_found=54)"
rm -rf $W $W.m1 $W.o1
