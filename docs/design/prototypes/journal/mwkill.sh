#!/bin/bash
# Two writer processes (seeds 1 and 2) on one store; one of them is SIGKILLed at a random moment
# (often inside the journal lock or a flush), the other finishes. Then a pure reader (no recovery)
# must find every call row either process acknowledged (from the overlay or LMDB), then `wal check`
# recovers and the reader must find them all in LMDB.
W=/tmp/walmw; fails=0; n=${1:-20}; tot_rebuild=0
verify() {  # seed acked label
  r=$(./wal reader $W $2 --seed $1 | head -1)
  nf=$(echo "$r" | sed 's/.*not_found=\([0-9]*\).*/\1/'); del=$(echo "$r" | sed 's/.*deleted_in_overlay=\([0-9]*\).*/\1/')
  wrong=$(echo "$r" | sed 's/.*wrong_value=\([0-9]*\).*/\1/')
  gone=$((nf + del)); want=$(($2 / 8)); want2=$((($2 + 1) / 8))
  if [ "$wrong" != 0 ] || { [ $gone != $want ] && [ $gone != $want2 ]; }; then fails=$((fails+1)); echo "FAIL $3 seed=$1 acked=$2: $r"; fi
}
for it in $(seq 1 $n); do
  rm -rf $W $W.m1 $W.m2
  ./wal run $W 0 >/dev/null
  taskset -c 1 nice -n 10 ./wal run $W 30000 --seed 1 --start 0 --marks $W.m1 > $W.o1 &
  p1=$!
  taskset -c 1 nice -n 10 ./wal run $W 20000 --seed 2 --start 0 --marks $W.m2 --flush-n 700 > $W.o2 &
  p2=$!
  sleep 0.$(printf %03d $((RANDOM % 600 + 50)))
  kill -9 $p2; wait $p2 2>/dev/null; wait $p1
  rb=$(sed -n 's/.*rebuilds=\([0-9]*\).*/\1/p' $W.o1); tot_rebuild=$((tot_rebuild + ${rb:-0}))
  [ -s $W.o1 ] || { fails=$((fails+1)); echo "FAIL it=$it survivor died"; }
  a1=$(grep '^t ' $W.m1 | tail -1 | awk '{print $2}'); a2=$(grep '^t ' $W.m2 | tail -1 | awk '{print $2}')
  verify 1 ${a1:-0} before-recovery; verify 2 ${a2:-0} before-recovery
  ./wal check $W --continue 0 >/dev/null || { fails=$((fails+1)); echo "FAIL it=$it check"; }
  verify 1 ${a1:-0} after-recovery; verify 2 ${a2:-0} after-recovery
  echo "it=$it survivor_acked=$a1 killed_acked=$a2 survivor_rebuilds=${rb:-0}"
done
echo "multi-writer kill: $n runs, $fails failures, $tot_rebuild shm rebuilds by the survivor"
