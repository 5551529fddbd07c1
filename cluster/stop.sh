#!/usr/bin/env bash
# Stop the cluster that start.sh started in DIR: workers first (so none is
# left trying to reach a dead scheduler), then the scheduler. Idempotent:
# stopping a stopped cluster succeeds.
set -euo pipefail
# shellcheck source=cluster/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

run_dir=$DEFAULT_RUN_DIR grace=10
while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) need_arg "$@"; run_dir=$2; shift 2 ;;
    --grace) need_arg "$@"; grace=$2; shift 2 ;;
    -h | --help)
      echo "usage: cluster/stop.sh [--dir DIR] [--grace SECONDS]  (SIGTERM, then SIGKILL after the grace period)"
      exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ -d $run_dir ]] || exit 0

# stop_groups PIDFILE...: SIGTERM each live group, wait up to $grace seconds
# for all of them, SIGKILL what is left, then remove the pid files.
stop_groups() {
  local f pid live=() deadline
  for f in "$@"; do
    [[ -f $f ]] || continue
    pid=$(<"$f")
    if [[ $pid =~ ^[0-9]+$ ]] && leader_is_foreign "$pid"; then
      log "ignoring stale $f: pid $pid now belongs to another program"
    elif is_running "$f"; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      live+=("$pid")
    fi
  done
  deadline=$((SECONDS + grace))
  for pid in "${live[@]}"; do
    while [[ -n $(group_members "$pid") ]] && ((SECONDS < deadline)); do sleep 0.1; done
    if [[ -n $(group_members "$pid") ]]; then
      log "group $pid ignored SIGTERM for ${grace}s; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done
  rm -f "$@"
}

shopt -s nullglob
stop_groups "$run_dir"/worker-*.pid
stop_groups "$run_dir"/scheduler.pid
rm -f "$run_dir/scheduler.json" "$run_dir/address"
log "stopped the cluster in $run_dir"
