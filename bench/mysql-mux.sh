#!/usr/bin/env bash
# mysql-mux benchmark: MariaDB with max_connections=400, direct vs through Breakwater's mysql-mux.
#  (1) storm: N clients connect at once (bench/mysql-storm.py) and each runs a query; errors and connect p50/p99.
#  (2) overhead: sysbench oltp_read_only at 32 and 512 threads; TPS and p99 latency, and the ratio.
#  Plus CPU seconds per 1,000 queries of the Breakwater process (/proc/PID/stat utime+stime).
# Usage: bench/mysql-mux.sh [seconds-per-sysbench-run] [storm sizes...]   (defaults: 10, 1000 2000 4000)
#        THREADS="32 512" (sysbench thread counts), PS_MODE=disable|auto (sysbench --db-ps-mode),
#        STORMS_ONLY=1 / SYSBENCH_ONLY=1 to run one half.
set -euo pipefail
DUR=${1:-10}; shift || true
STORMS=${*:-"1000 2000 4000"}
THREADS=${THREADS:-"32 512"}
[ -n "${SYSBENCH_ONLY:-}" ] && STORMS=""
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BREAKWATER_BIN:-$ROOT/.build/release/breakwater}
[ -x "$BIN" ] || { echo "build first: swift build -c release (or set BREAKWATER_BIN)" >&2; exit 1; }
for t in mariadbd mariadb-install-db sysbench python3; do command -v $t >/dev/null || { echo "missing $t (apt-get install mariadb-server mariadb-client sysbench)" >&2; exit 1; }; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
TMP=$(mktemp -d /tmp/bw-mux-bench.XXXXXX)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
DBPORT=$(free_port); MUXPORT=$(free_port); ADMINPORT=$(free_port)
cleanup() { [ -n "${BWPID:-}" ] && kill "$BWPID" 2>/dev/null; [ -n "${DBPID:-}" ] && kill -9 "$DBPID" 2>/dev/null; rm -rf "$TMP"; }
echo "machine: $(uname -sr) | $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) | load $(cut -d' ' -f1-3 /proc/loadavg)"
trap cleanup EXIT

mariadb-install-db --no-defaults --datadir="$TMP/data" --user=root --auth-root-authentication-method=normal --skip-test-db >/dev/null
mariadbd --no-defaults --datadir="$TMP/data" --port="$DBPORT" --bind-address=127.0.0.1 --socket="$TMP/sock" --user=root \
    --skip-name-resolve --max-connections=400 --innodb-buffer-pool-size=128M --skip-log-bin --log-error="$TMP/err.log" &
DBPID=$!
for _ in $(seq 100); do mariadb --no-defaults --socket="$TMP/sock" -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
mariadb --no-defaults --socket="$TMP/sock" -uroot -e "CREATE USER 'sb'@'%' IDENTIFIED BY 'sbpw'; GRANT ALL ON *.* TO 'sb'@'%'; CREATE DATABASE sbtest;"

cat > "$TMP/mux.cfg" <<CFG
mysql-mux bench
    bind 127.0.0.1:$MUXPORT
    admin bind 127.0.0.1:$ADMINPORT user admin password admin
    server db1 127.0.0.1:$DBPORT hostgroup 10 max-connections 400
    user sb password sbpw default-hostgroup 10
    max-client-connections 10000
    multiplexing on
CFG
"$BIN" proxy -f "$TMP/mux.cfg" >"$TMP/bw.log" 2>&1 &
BWPID=$!
for _ in $(seq 100); do mariadb --no-defaults -h127.0.0.1 -P"$MUXPORT" -usb -psbpw --skip-ssl -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
cpu() { awk '{print $14+$15}' /proc/$BWPID/stat; }
hz=$(getconf CLK_TCK)

[ -n "$STORMS" ] && echo "== storm (bench/mysql-storm.py: N clients connect at once, log in, run one SELECT SLEEP(0.05), quit) =="
for n in $STORMS; do
    for side in direct breakwater; do
        port=$DBPORT; [ $side = breakwater ] && port=$MUXPORT
        echo "storm $n $side: $(python3 "$ROOT/bench/mysql-storm.py" 127.0.0.1 "$port" sb sbpw "$n" "SELECT SLEEP(0.05)" 90)"
    done
    echo "storm $n: MariaDB threads now $(mariadb --no-defaults --socket="$TMP/sock" -uroot -N -e "SHOW GLOBAL STATUS LIKE 'Max_used_connections'" | cut -f2) max used"
done
# The overhead cell compares like with like: direct sysbench at 512 threads needs more than 400 server connections,
# while the mux keeps its own bound (max-connections 400 in the config above).
mariadb --no-defaults --socket="$TMP/sock" -uroot -e "SET GLOBAL max_connections = 1000"

echo "== sysbench oltp_read_only ($DUR s per run) =="
sysbench oltp_read_only --mysql-host=127.0.0.1 --mysql-port="$DBPORT" --mysql-user=sb --mysql-password=sbpw \
    --tables=4 --table-size=10000 prepare >/dev/null
[ -n "${STORMS_ONLY:-}" ] && THREADS=""
for threads in $THREADS; do
    for side in direct breakwater; do
        port=$DBPORT; [ $side = breakwater ] && port=$MUXPORT
        c0=$(cpu)
        out=$(sysbench oltp_read_only --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user=sb --mysql-password=sbpw \
              --mysql-ssl=off --tables=4 --table-size=10000 --threads="$threads" --time="$DUR" --db-ps-mode="${PS_MODE:-disable}" --percentile=99 run 2>&1) || true
        c1=$(cpu)
        tps=$(echo "$out" | awk '/transactions:/ {gsub("\\(","",$3); print $3}')
        qps=$(echo "$out" | awk '/queries:/ && /per sec/ {gsub("\\(","",$3); print $3}')
        p99=$(echo "$out" | awk '/95th percentile|99th percentile/ {print $3}')
        queries=$(echo "$out" | awk '/queries:/ && /per sec/ {print $2}')
        line="sysbench t=$threads $side tps=${tps:-?} p95/p99_ms=${p99:-?}"
        if [ $side = breakwater ] && [ -n "${queries:-}" ] && [ "${queries:-0}" -gt 0 ]; then
            line="$line cpu_s_per_1000_queries=$(echo "scale=4; ($c1 - $c0) / $hz * 1000 / $queries" | bc)"
        fi
        echo "$line"
        eval "tps_${side}_$threads=${tps:-0}"
    done
    d=$(eval echo \$tps_direct_$threads); b=$(eval echo \$tps_breakwater_$threads)
    [ "${d%.*}" -gt 0 ] 2>/dev/null && echo "ratio t=$threads breakwater/direct TPS = $(echo "scale=3; $b / $d" | bc)"
done
