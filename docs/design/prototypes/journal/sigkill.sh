#!/bin/bash
# Real process crashes: SIGKILL `wal run` at a random moment, then recover (`wal check`) and require
# that every submit acknowledged (marks file) is there: recovered counter >= last "t" mark, and the
# contents hash equals the one acknowledged for that counter.
W=/tmp/walkill; fails=0; inflight=0; n=${1:-40}; lost=0
for it in $(seq 1 $n); do
  rm -rf $W $W.marks
  # an existing store, so kills land in submits/flushes, not in creation
  taskset -c 1 nice -n 10 ./wal run $W 2000 --quiet >/dev/null
  taskset -c 1 nice -n 10 ./wal run $W 400000 --marks $W.marks --flush-n ${FLUSHN:-1000} >/dev/null &
  pid=$!
  sleep 0.$(printf %03d $((RANDOM % 900 + 50)))
  kill -9 $pid; wait $pid 2>/dev/null
  last=$(grep '^t ' $W.marks | tail -1); lastf=$(grep '^f ' $W.marks | tail -1)
  out=$(./wal check $W --continue 10)
  set -- $out
  want=$(grep "^t $2 " $W.marks | awk '{print $3, $4}')
  la=$(echo $last | awk '{print $2}')
  if [ "$1" = ok ] && [ "$2" = $((la+1)) ] && [ -z "$want" ]; then inflight=$((inflight+1))   # the in-flight submit survived (no mark yet)
  elif [ "$1" != ok ] || [ "$2" -lt "$la" ] || [ "$3 $4" != "$want" ]; then fails=$((fails+1)); echo "FAIL it=$it last_ack=$la out=$out"; fi
  echo "it=$it acked=$la last_flush=$(echo $lastf | awk '{print $2}') recovered=$2"
done
echo "sigkill: $n runs, $fails failures, $inflight with the in-flight (unacknowledged) submit also recovered"
