#!/usr/bin/env bash
# The Galera drill of issue 12: W writers send machine heartbeats for M machines for DURATION seconds, first
# straight into a 3-node Galera cluster on loopback (writer i on node i mod 3, one autocommit bulk upsert per
# batch), then the same stream through Breakwater's telemetry section (examples/telemetry.cfg: its durable log
# and coalescing window, one writer, one node). Prints statements, wsrep_local_cert_failures, deadlocks and the
# flow-control paused fraction both ways, the ratio of certification failures, and Breakwater's CPU seconds per
# 1,000 records. It runs `breakwater drill heartbeat-storm --database galera` (Sources/BreakwaterDrills), which
# starts and stops (by PID) every mariadbd and the child proxy itself. See docs/drills.md.
#
# Env knobs:
#   WRITERS         writers (ingest nodes)                              (default 16)
#   MACHINES        distinct machines                                   (default 200)
#   DURATION        seconds per way                                     (default 30)
#   CONFIG          configuration with a telemetry section              (default <repo>/examples/telemetry.cfg)
#   BREAKWATER_BIN  Breakwater binary (default <repo>/.build/release/breakwater)
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=lib/env.sh
source "$BENCH_DIR/lib/env.sh"

WRITERS=${WRITERS:-16}
MACHINES=${MACHINES:-200}
DURATION=${DURATION:-30}
CONFIG=${CONFIG:-$REPO_ROOT/examples/telemetry.cfg}

ensure_pkgs mariadbd:mariadb-server mariadb:mariadb-client rsync:rsync python3:python3
if [[ ! -e /usr/lib/galera/libgalera_smm.so ]]; then
    [[ $(id -u) == 0 ]] || die "galera-4 is missing; run as root or install it: apt-get install -y galera-4"
    log "installing galera-4 from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq galera-4 >&2
fi
resolve_breakwater "$REPO_ROOT"

OUT_DIR="$BENCH_DIR/out"
mkdir -p "$OUT_DIR"
REPORT="$OUT_DIR/telemetry-galera-$(date -u +%Y%m%dT%H%M%S).json"
log "drill heartbeat-storm: $WRITERS writers, $MACHINES machines, ${DURATION}s each way ($BREAKWATER_BIN)"
"$BREAKWATER_BIN" drill heartbeat-storm -f "$CONFIG" --database galera --json \
    --duration "$DURATION" --writers "$WRITERS" --machines "$MACHINES" >"$REPORT"

echo "machine: $(machine_line "$(tool_version mariadbd --version)" "galera $(dpkg-query -W -f='${Version}' galera-4 2>/dev/null || echo '?')" "$(basename "$BREAKWATER_BIN") $BREAKWATER_BIN")"
python3 - "$REPORT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
direct, through = r["runs"][0]["metrics"], r["runs"][1]["metrics"]
def num(x, fmt="{:.0f}"):
    return "n/a" if x is None else fmt.format(x)
rows = [("records", "records", "{:.0f}"), ("statements", "statements", "{:.0f}"),
        ("cert_failures", "cert failures", "{:.0f}"), ("deadlock_errors_1213", "deadlock errors (1213)", "{:.0f}"),
        ("innodb_deadlocks", "innodb deadlocks", "{:.0f}"), ("flow_control_paused", "flow control paused", "{:.3f}"),
        ("writer_errors", "writer errors", "{:.0f}"), ("cpu_s_per_1k_records", "breakwater CPU s per 1k records", "{:.4f}")]
print(f"{'metric':<24} {'direct (3 nodes)':>18} {'through breakwater':>20}")
for key, name, fmt in rows:
    print(f"{key:<24} {num(direct.get(name), fmt):>18} {num(through.get(name), fmt):>20}")
cf_d, cf_t = direct.get("cert failures") or 0, through.get("cert failures") or 0
st_d, st_t = direct.get("statements") or 0, through.get("statements") or 0
print(f"statements ratio direct/through: {st_d / st_t:.1f}" if st_t else "statements ratio: n/a (no statement through Breakwater)")
print(f"cert failures direct: {cf_d:.0f}, through Breakwater: {cf_t:.0f}")
dl_t = (through.get("deadlock errors (1213)") or 0) + (through.get("innodb deadlocks") or 0)
goal = cf_t == 0 and dl_t == 0
print("goal (0 certification failures and 0 deadlocks through Breakwater): " + ("MET" if goal else "NOT MET"))
print(r["summary"])
PY
