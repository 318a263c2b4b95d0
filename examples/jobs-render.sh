#!/bin/sh
# A stand-in for the write-up's render_blueprint.php: reads the job payload and prints a summary.
# Runs inside its own memory cgroup. Speaks both modes of docs/jobs.md:
#  - fresh process (max-jobs-per-worker 1): payload on stdin, $BREAKWATER_JOB_ID names the job;
#  - reused worker (max-jobs-per-worker N > 1, $BREAKWATER_WORKER=1): one framed job after another.
if [ "${BREAKWATER_WORKER:-}" = 1 ]; then
    while read -r _tag id _attempt len; do
        payload=$(head -c "$len")
        out=$(printf 'rendered job %s: %d bytes' "$id" "${#payload}")
        printf 'BREAKWATER-RESULT 0 %d\n%s' "${#out}" "$out"
    done
    exit 0
fi
payload=$(cat)
printf 'rendered job %s: %d bytes\n' "$BREAKWATER_JOB_ID" "${#payload}"
