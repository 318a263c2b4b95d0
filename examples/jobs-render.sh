#!/bin/sh
# A stand-in for the write-up's render_blueprint.php: reads the job payload on stdin and prints a summary.
# Runs inside the job's own memory cgroup; $BREAKWATER_JOB_ID names the job.
payload=$(cat)
printf 'rendered job %s: %d bytes\n' "$BREAKWATER_JOB_ID" "${#payload}"
