#!/bin/sh
# Same-run comparison: WAL submits vs direct LMDB txns (MDB_NOSYNC / synced). Single core, nice'd.
W=${W:-/tmp/walbench}
for rep in 1 2; do
  for n in 20000 100000; do
    for mode in wal nosync; do
      rm -rf $W; taskset -c 1 nice -n 10 ./wal run $W $n --mode $mode "$@"
    done
  done
  rm -rf $W; taskset -c 1 nice -n 10 ./wal run $W 3000 --mode sync
done
rm -rf $W
