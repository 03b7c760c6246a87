#!/usr/bin/env bash
# stop-rgw.sh: stops the private Ceph cluster started by start-rgw.sh under $BASE: SIGTERM to rgw,
# osd, mon in that order (the recorded PIDs only), SIGKILL after 3 s each. The memstore data is gone.
#   stop-rgw.sh             stop everything and remove $BASE (unless KEEP_BASE=1)
#   stop-rgw.sh --rgw-only  stop radosgw only (the S3 endpoint goes away; mon and OSD keep the data)
set -uo pipefail
: "${BASE:?BASE must name the directory given to start-rgw.sh}"
stop_pid() { # stop_pid PIDFILE
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$1"
}
stop_pid "$BASE/run/rgw.pid"
[ "${1:-}" = "--rgw-only" ] && exit 0
stop_pid "$BASE/run/osd.pid"
stop_pid "$BASE/run/mon.pid"
[ "${KEEP_BASE:-0}" = 1 ] || rm -rf "$BASE"
