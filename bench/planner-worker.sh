#!/bin/bash
# One `strata planner` and one `strata worker --concurrency 2` over a copy of a bucket (made by
# `strata tsdb synth --tenants 10 --replicas 2 --hours 48 --series 1000 --start-time
# 1700006400000 --out SRC`, the bench:bucket bucket): wall time from the worker's start until the
# bucket holds LIVE blocks and nothing partial, and the CPU of both processes.
# Usage: bench/planner-worker.sh REPO SRC [LIVE=90]   (REPO: a built checkout; ports 19901-19902)
set -u
REPO=$1 SRC=$2 LIVE=${3:-90}
source "$REPO/scripts/node-env.sh" >/dev/null
W=$(mktemp -d /tmp/strata-pw-XXXXXX)
cp -r "$SRC" "$W/bucket"
OBJ="{\"type\":\"FILESYSTEM\",\"config\":{\"directory\":\"$W/bucket\"}}"
COMMON=(--objstore.config "$OBJ" --log.level info)
node "$REPO/bin/strata.js" planner "${COMMON[@]}" --tenancy multi --data-dir "$W/pdata" --consistency-delay 0s \
  --delete-delay 0s --deduplication.replica-label replica --deduplication.func penalty \
  --planner.grace-period 0s --grpc-address 127.0.0.1:19901 --http-address 127.0.0.1:19902 > "$W/planner.log" 2>&1 &
P=$!
until curl -sf http://127.0.0.1:19902/-/ready >/dev/null; do sleep 0.2; done
t0=$(date +%s.%N)
node "$REPO/bin/strata.js" worker "${COMMON[@]}" --data-dir "$W/wdata" --planner.address 127.0.0.1:19901 \
  --concurrency 2 --http-address 127.0.0.1:0 > "$W/worker.log" 2>&1 &
WP=$!
while true; do
  metas=$(find "$W/bucket" -mindepth 3 -maxdepth 3 -name meta.json | wc -l)
  marks=$(find "$W/bucket" -mindepth 3 -maxdepth 3 -name deletion-mark.json | wc -l)
  dirs=$(find "$W/bucket" -mindepth 2 -maxdepth 2 -type d -name '01*' | wc -l)
  if [ $((metas - marks)) -eq "$LIVE" ] && [ "$dirs" -eq "$metas" ]; then break; fi
  sleep 0.25
done
t1=$(date +%s.%N)
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{printf "%.1f", ($14 + $15) / t}' "/proc/$1/stat"; }
echo "$REPO: $(echo "$t1 - $t0" | bc) s to the end state; worker CPU $(cpu $WP) s; planner CPU $(cpu $P) s; plans $(grep -c 'compaction done' "$W/worker.log")"
kill $WP $P
wait 2>/dev/null
rm -rf "$W"
