#!/usr/bin/env bash
# Job-runner benchmark (issue 13): throughput of trivial jobs through `jobs` (POST → durable queue → fresh
# process in its own memory cgroup → status) against a baseline shell loop spawning the same command,
# plus a short leak drill (1 leaking job in 10, memory-max 64M: the leak is contained, 0 jobs lost).
#
# Env knobs:
#   JOBS            trivial jobs per side                     (default 300)
#   WORKERS         concurrent jobs                           (default 2)
#   DRILL_JOBS      jobs in the leak drill (every 10th leaks) (default 20)
#   BREAKWATER_BIN  binary (default <repo>/.build/release/breakwater, else .build/debug/breakwater)
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$BENCH_DIR/lib/common.sh"
install_cleanup_traps

JOBS=${JOBS:-300}
WORKERS=${WORKERS:-2}
DRILL_JOBS=${DRILL_JOBS:-20}
BIN=${BREAKWATER_BIN:-$REPO_ROOT/.build/release/breakwater}
[[ -x $BIN ]] || BIN=$REPO_ROOT/.build/debug/breakwater
[[ -x $BIN ]] || die "no breakwater binary; run swift build -c release --product breakwater"
command -v python3 >/dev/null || die "python3 is needed (client and leaking job)"
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/bw-bench-jobs.XXXXXX)

cpu_ticks() { awk '{print $14 + $15, $16 + $17}' "/proc/$1/stat"; }   # own, reaped children

# post_and_wait PORT N PAYLOAD_EVERY10: posts N jobs over one keep-alive connection, waits until all final;
# prints "seconds done dead".
post_and_wait() {
    python3 - "$1" "$2" "$3" <<'PY'
import http.client, json, sys, time
port, n, leak_every = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port)
t0 = time.monotonic(); ids = []
for i in range(n):
    body = "leak" if leak_every and i % leak_every == leak_every - 1 else "job%d" % i
    c.request("POST", "/v1/jobs", body=body); r = c.getresponse(); d = r.read()
    assert r.status == 202, (r.status, d)
    ids.append(json.loads(d)["id"])
pending = set(ids); done = dead = 0
while pending and time.monotonic() - t0 < 600:
    for i in list(pending):
        c.request("GET", "/v1/jobs/" + i); r = c.getresponse(); s = json.loads(r.read())
        if s["state"] in ("done", "dead"):
            pending.discard(i); done += s["state"] == "done"; dead += s["state"] == "dead"
    if pending: time.sleep(0.05)
print("%.3f %d %d %d" % (time.monotonic() - t0, done, dead, len(pending)))
PY
}

run_breakwater() {   # NAME EXTRA_LINES N LEAK_EVERY -> "seconds done dead lost own_cpu_s children_cpu_s"
    local name=$1 extra=$2 n=$3 leak=$4 port cfg
    port=$(free_ports 1)
    cfg=$WORK/$name.cfg
    cat >"$cfg" <<CFG
jobs $name
    bind 127.0.0.1:$port
    queue dir $WORK/$name-queue
    command /bin/sh $WORK/job.sh
    workers $WORKERS
$extra
CFG
    spawn "breakwater-$name" "$WORK/$name.log" "$BIN" proxy -f "$cfg"
    local pid=$SPAWNED_PID
    wait_http "http://127.0.0.1:$port/metrics" 30 "$pid" || die "breakwater did not start: $(tail -5 "$WORK/$name.log")"
    read -r own0 kids0 < <(cpu_ticks "$pid")
    read -r secs done dead lost < <(post_and_wait "$port" "$n" "$leak")
    read -r own1 kids1 < <(cpu_ticks "$pid")
    local rss; rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
    stop_pid "$pid"
    echo "$secs $done $dead $lost $(( own1 - own0 )) $(( kids1 - kids0 )) $rss"
}

cat >"$WORK/job.sh" <<'SH'
#!/bin/sh
payload=$(cat)
case "$payload" in
leak) exec python3 -c 'a = []
while True: a.append(bytearray(1 << 20))' ;;
*) printf 'ok' ;;
esac
SH

log "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), binary $BIN"
log "breakwater: $JOBS trivial jobs, $WORKERS workers, fresh process per job in its own memory cgroup"
read -r bsecs bdone bdead blost bown bkids brss < <(run_breakwater thru "    memory-max 64M" "$JOBS" 0)
[[ $bdone == "$JOBS" && $blost == 0 ]] || die "breakwater lost jobs: done=$bdone dead=$bdead pending=$blost"

log "baseline: the same script spawned $JOBS times by a shell loop, $WORKERS at a time (xargs -P)"
read -r _ kb0 < <(cpu_ticks $$)
t0=$(now_us)
seq "$JOBS" | xargs -P "$WORKERS" -I{} sh -c "echo job{} | /bin/sh $WORK/job.sh >/dev/null"
t1=$(now_us)
read -r _ kb1 < <(cpu_ticks $$)
base_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e6}')
base_cpu_s=$(awk -v t="$(( kb1 - kb0 ))" -v k="$TICKS" 'BEGIN{printf "%.2f", t/k}')

awk -v n="$JOBS" -v bs="$bsecs" -v own="$bown" -v kids="$bkids" -v k="$TICKS" -v ls="$base_secs" -v lc="$base_cpu_s" -v rss="$brss" 'BEGIN{
    br = n/bs; lr = n/ls
    printf "breakwater: %.1f jobs/s, CPU per 1,000 jobs: %.2f s in breakwater + %.2f s in job processes, peak RSS %d MiB\n", br, own/k/n*1000, kids/k/n*1000, rss/1024
    printf "baseline:   %.1f jobs/s, CPU per 1,000 jobs: %.2f s (shell loop and job processes)\n", lr, lc/n*1000
    printf "ratio (breakwater / baseline jobs/s): %.2f\n", br/lr }'

log "leak drill: $DRILL_JOBS jobs, every 10th allocates until killed, memory-max 64M, retries 1"
read -r dsecs ddone ddead dlost downs dkids drss < <(run_breakwater drill "    memory-max 64M
    retries 1" "$DRILL_JOBS" 10)
echo "leak drill: ${dsecs}s, done=$ddone dead=$ddead lost=$dlost (expected done=$(( DRILL_JOBS - DRILL_JOBS / 10 )) dead=$(( DRILL_JOBS / 10 )) lost=0), breakwater peak RSS $(( drss / 1024 )) MiB"
rm -rf "$WORK"
