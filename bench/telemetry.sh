#!/usr/bin/env bash
# Telemetry ingest benchmark: records/s accepted by a `telemetry` section with durability on (202 only after the
# group-commit fsync), batch sizes 1 and 100, against a peer on the same disk: direct SQLite inserts from one
# writer, one durable transaction (synchronous=FULL) per batch of the same size. Prints the ratio and Breakwater's
# CPU seconds per 1,000 records (utime+stime from /proc/PID/stat). See bench/README.md and docs/telemetry.md.
#
# Env knobs:
#   DURATION        seconds per measured run                       (default 10)
#   BATCHES         records per request / per peer transaction     (default "1 100")
#   CONNS           wrk connections                                (default 32)
#   BREAKWATER_BIN  Breakwater binary (default <repo>/.build/release/breakwater)
#   NETNS           1 (default): private network namespace; 0: host loopback
# The Galera drill of issue 12 is bench/telemetry-galera.sh (results in bench/RESULTS.md).
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"

DURATION=${DURATION:-10}
BATCHES=${BATCHES:-"1 100"}
CONNS=${CONNS:-32}

enter_netns "$0" "$@"
ensure_pkgs wrk:wrk curl:curl sqlite3:sqlite3
resolve_breakwater "$REPO_ROOT"
install_cleanup_traps

WORK=$(mktemp -d /var/tmp/bw-bench-telemetry.XXXXXX)
trap 'stop_all; rm -rf "$WORK"' EXIT
TICK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# body BATCH: a JSON array of BATCH records for distinct machines.
body() {
    python3 - "$1" <<'PY'
import json, sys
n = int(sys.argv[1])
recs = [{"machine_id": f"press-{i}", "ts": "2026-11-21T10:00:00.123Z",
         "fields": {"rpm": 1200 + i, "temp": 71.5, "vibration": 0.02}} for i in range(n)]
print(json.dumps(recs if n > 1 else recs[0]))
PY
}

# Peer: one writer, durable transactions of BATCH rows (same upsert shape as the coalescer's, per record).
sqlite_peer() {
    local batch=$1
    python3 - "$WORK/peer.db" "$batch" "$DURATION" <<'PY'
import sqlite3, sys, time
path, batch, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS hb (machine_id TEXT PRIMARY KEY, ts INTEGER, rpm REAL, temp REAL, vibration REAL)")
sql = ("INSERT INTO hb VALUES (?,?,?,?,?) ON CONFLICT(machine_id) DO UPDATE SET ts=excluded.ts, rpm=excluded.rpm, "
       "temp=excluded.temp, vibration=excluded.vibration WHERE excluded.ts > hb.ts")
n, ts, end = 0, 0, time.monotonic() + duration
start = time.monotonic()
while time.monotonic() < end:
    db.execute("BEGIN")
    for i in range(batch):
        ts += 1
        db.execute(sql, (f"press-{i}", ts, 1200.0 + i, 71.5, 0.02))
    db.execute("COMMIT")
    n += batch
print(f"{n / (time.monotonic() - start):.0f}")
PY
}

PORT=$(free_ports 1)
cat >"$WORK/telemetry.cfg" <<CFG
telemetry bench
    bind 127.0.0.1:$PORT
    state memory
    log dir $WORK/log
    window 1s
    sink sqlite $WORK/telemetry.db table machine_heartbeat key machine_id
    max-log-size 2g
CFG
spawn breakwater "$WORK/breakwater.log" "$BREAKWATER_BIN" proxy -f "$WORK/telemetry.cfg"
BW_PID=$SPAWNED_PID
wait_port "$PORT" 20 "$BW_PID" || { cat "$WORK/breakwater.log" >&2; die "breakwater did not listen on $PORT"; }

echo "machine: $(machine_line "$(tool_version wrk --version)" "sqlite $(sqlite3 --version | cut -d' ' -f1)")"
echo "binary: $BREAKWATER_BIN"
printf '%-6s %14s %14s %8s %16s %10s\n' batch bw_records/s sqlite_rec/s ratio cpu_s/1k_records fsyncs
for batch in $BATCHES; do
    body "$batch" >"$WORK/body.json"
    cat >"$WORK/post.lua" <<LUA
local f = io.open("$WORK/body.json", "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
LUA
    wrk -t2 -c"$CONNS" -d2s -s "$WORK/post.lua" "http://127.0.0.1:$PORT/v1/heartbeats" >/dev/null  # warm-up
    before_acc=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^breakwater_telemetry_accepted_records_total/ {print $2}')
    before_fs=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^breakwater_telemetry_fsyncs_total/ {print $2}')
    t0=$(cpu_ticks "$BW_PID")
    wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$WORK/post.lua" "http://127.0.0.1:$PORT/v1/heartbeats" >"$WORK/wrk.txt"
    t1=$(cpu_ticks "$BW_PID")
    after_acc=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^breakwater_telemetry_accepted_records_total/ {print $2}')
    after_fs=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^breakwater_telemetry_fsyncs_total/ {print $2}')
    read -r _ _ _ errors < <(parse_wrk "$WORK/wrk.txt")
    [[ $errors == 0 ]] || log "WARNING: wrk saw $errors errors or non-2xx answers at batch $batch"
    accepted=$((after_acc - before_acc))
    bw_rate=$(awk -v a="$accepted" -v d="$DURATION" 'BEGIN {printf "%.0f", a / d}')
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$TICK" -v a="$accepted" 'BEGIN {printf "%.4f", a ? t / hz / a * 1000 : 0}')
    peer=$(sqlite_peer "$batch")
    ratio=$(awk -v b="$bw_rate" -v p="$peer" 'BEGIN {printf "%.2f", p ? b / p : 0}')
    printf '%-6s %14s %14s %8s %16s %10s\n' "$batch" "$bw_rate" "$peer" "$ratio" "$cpu" $((after_fs - before_fs))
done
