#!/bin/sh
# Stand-in for `breakwater proxy -f CFG` that runs HAProxy instead, to test
# bench/proxy.sh end to end before the real binary exists:
#   BREAKWATER_BIN=bench/lib/standin-breakwater.sh DURATION=2 RUNS=1 bench/proxy.sh
[ "$1" = proxy ] && shift
if [ "$1" != -f ] || [ -z "$2" ]; then
    echo "usage: $0 proxy -f CFG" >&2
    exit 2
fi
exec haproxy -f "$2" -db
