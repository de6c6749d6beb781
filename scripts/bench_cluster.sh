# Sourced by scripts/bench.sh (section 5): the cluster's figures (issue #17), beside the
# single-node Ingest loads measured in the same run.
#
#   ingest_sync       single-node Ingest with annalsd --sync (fsync before every ack), the
#                     baseline of the log's cost: etcd fsyncs before it acknowledges too
#   cluster_ingest    the same load through a 3-member etcd, with 1 replica, then with 3
#                     (three replicas share the machine's cores: reported without a target)
#   cluster_ryw       read-your-writes: ack on the leader -> min_revision read on a follower
#   cluster_failover  a steady writer while the annalsd leader is SIGKILLed: the longest
#                     time between two acknowledged writes
#   cluster_log       after the 3-replica load: the entries etcd holds and its database size
#   cluster_bootstrap a follower's volume wiped: the time to copy a member's database and
#                     the time until it serves again
#
# Uses from bench.sh: $W $BIN $FILES $ADDR $SECS, log, record, result, settle,
# start_annalsd, stop_annalsd.

ETCD_CLIENT_BASE=56379 ETCD_PEER_BASE=56479 REPLICA_BASE=56051
ETCD_PIDS=() REPLICA_PIDS=()
ETCD_ENDPOINTS=127.0.0.1:$ETCD_CLIENT_BASE,127.0.0.1:$((ETCD_CLIENT_BASE + 1)),127.0.0.1:$((ETCD_CLIENT_BASE + 2))

etcd_start() {  # three members with fresh data directories, etcd's default timings
  local initial="" i
  for i in 0 1 2; do initial+="e$i=http://127.0.0.1:$((ETCD_PEER_BASE + i)),"; done
  ETCD_PIDS=()
  for i in 0 1 2; do
    rm -rf "$W/etcd$i"
    /usr/bin/etcd --name "e$i" --data-dir "$W/etcd$i" \
      --listen-client-urls "http://127.0.0.1:$((ETCD_CLIENT_BASE + i))" \
      --advertise-client-urls "http://127.0.0.1:$((ETCD_CLIENT_BASE + i))" \
      --listen-peer-urls "http://127.0.0.1:$((ETCD_PEER_BASE + i))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PEER_BASE + i))" \
      --initial-cluster "${initial%,}" --initial-cluster-state new --initial-cluster-token annals-bench \
      --logger zap --log-level error > "$W/etcd$i.log" 2>&1 &
    ETCD_PIDS+=($!)
  done
  for _ in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint health >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "etcd did not come up; logs in $W/etcd*.log" >&2; exit 1
}
etcd_stop() {
  local p
  for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  ETCD_PIDS=()
}

replica_addr() { echo "127.0.0.1:$((REPLICA_BASE + $1))"; }
replica_start() {  # INDEX: annalsd r<INDEX> as a member of the cluster "bench", fresh database
  local i=$1 db="$W/replica$1"
  rm -rf "$db" "$db.incoming"
  "$BIN/annalsd" --listen "$(replica_addr "$i")" --db "$db" --metrics-listen "" \
    --etcd-endpoints "$ETCD_ENDPOINTS" --cluster-name bench --node-id "r$i" > "$W/replica$i.log" 2>&1 &
  REPLICA_PIDS[$i]=$!
  # "serving on" is printed once the database is open (after a copy from a peer, if any).
  for _ in $(seq 1 3000); do
    grep -q '^annalsd: serving on' "$W/replica$i.log" && return 0
    kill -0 "${REPLICA_PIDS[$i]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "replica r$i did not come up; log:" >&2; cat "$W/replica$i.log" >&2; exit 1
}
replicas_stop() {
  local p
  for p in "${REPLICA_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  REPLICA_PIDS=()
}
cluster_cleanup() { replicas_stop; etcd_stop; }

leader_index() {  # the index of the replica that leads, from the leader key ("r<i> <address>")
  local v
  for _ in $(seq 1 100); do
    v=$(ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" get /annals/bench/leader --print-value-only 2>/dev/null)
    if [ -n "$v" ]; then v=${v%% *}; echo "${v#r}"; return 0; fi
    sleep 0.1
  done
  echo "no replica leads" >&2; exit 1
}

settle
log "load: single-node Ingest with --sync (fsync before every acknowledgement)"
start_annalsd "$W/annals-sync" --sync
line=$("$BIN/annals_bench" load --addr "$ADDR" --data "$FILES" 2>>"$W/driver.log" | result)
record "ingest_sync scale=1 $line"
log "  $line"
stop_annalsd
rm -rf "$W/annals-sync"

for n in 1 3; do
  settle
  log "load: Ingest through a 3-member etcd, $n annalsd replica(s)"
  etcd_start
  for i in $(seq 0 $((n - 1))); do replica_start "$i"; done
  L=$(leader_index)
  line=$("$BIN/annals_bench" load --addr "$(replica_addr "$L")" --data "$FILES" 2>>"$W/driver.log" | result)
  record "cluster_ingest scale=1 replicas=$n $line"
  log "  $line"
  if [ "$n" = 3 ]; then
    # The log's extent and etcd's size once the leader has trimmed (every 10 s; the floor's
    # 1,000 entries exceed this load's 465 batches, so nothing is trimmed at 1x: what etcd
    # holds is the whole load).
    st=$("$BIN/annals" --addr "$(replica_addr "$L")" --json cluster status)
    line=$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); e=[x for x in s["etcd"] if not x.get("error")]
print("head=%s first=%s entries=%s etcd_db_bytes=%d etcd_in_use_bytes=%d" % (s["headPosition"], s["firstPosition"], s["logEntries"], max(int(x.get("dbSizeBytes", 0)) for x in e), max(int(x.get("dbSizeInUseBytes", 0)) for x in e)))' "$st")
    record "cluster_log scale=1 $line"
    log "  log after the load: $line"
    F=$(( (L + 2) % 3 ))
    log "bootstrap: wipe r$F's volume and start it: it copies a member's database"
    kill -9 "${REPLICA_PIDS[$F]}"; wait "${REPLICA_PIDS[$F]}" 2>/dev/null || true
    t0=$(date +%s.%N)
    replica_start "$F"
    t1=$(date +%s.%N)
    copied=$(grep -o 'copied [0-9]* bytes from .* in [0-9.]*[a-z]*' "$W/replica$F.log" | tail -1 || true)
    line="bytes=$(echo "$copied" | awk '{ print $2 }') copy=$(echo "$copied" | awk '{ print $NF }') serving_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
    record "cluster_bootstrap scale=1 $line"
    log "  $line"
    settle
    F=$(( (L + 1) % 3 ))
    log "read-your-writes: write on the leader r$L, read it on r$F with min_revision, ${SECS}s"
    line=$("$BIN/cluster_bench" ryw --leader "$(replica_addr "$L")" --follower "$(replica_addr "$F")" \
            --seconds "$SECS" 2>>"$W/driver.log" | result)
    record "cluster_ryw scale=1 $line"
    log "  $line"
    log "failover: a steady writer (r$L first, then the others) while the leader r$L is SIGKILLed"
    "$BIN/cluster_bench" writer --addrs "$(replica_addr "$L"),$(replica_addr "$F"),$(replica_addr $(( (L + 2) % 3 )))" \
      --seconds 10 > "$W/failover.out" 2>>"$W/driver.log" &
    WRITER=$!
    sleep 3
    kill -9 "${REPLICA_PIDS[$L]}"
    wait "$WRITER" || { echo "the failover writer failed; see $W/driver.log" >&2; exit 1; }
    line=$(result < "$W/failover.out")
    record "cluster_failover scale=1 $line"
    log "  $line"
  fi
  replicas_stop
  etcd_stop
  for i in $(seq 0 $((n - 1))); do rm -rf "$W/replica$i"; done
done
