#!/usr/bin/env bash
# Show what start.sh left running in DIR. Exit 0 when the scheduler and every
# worker are up, 1 when some are down, 3 when nothing runs.
set -euo pipefail
# shellcheck source=cluster/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

run_dir=$DEFAULT_RUN_DIR
while [[ $# -gt 0 ]]; do
  case $1 in
    --dir) need_arg "$@"; run_dir=$2; shift 2 ;;
    -h | --help) echo "usage: cluster/status.sh [--dir DIR]"; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

shopt -s nullglob
up=0 down=0
for f in "$run_dir"/scheduler.pid "$run_dir"/worker-*.pid; do
  [[ -f $f ]] || continue
  name=$(basename "$f" .pid)
  if is_running "$f"; then
    echo "$name: running (pid $(<"$f"))"
    up=$((up + 1))
  else
    echo "$name: not running"
    down=$((down + 1))
  fi
done
if [[ -f $run_dir/address ]] && is_running "$run_dir/scheduler.pid"; then
  echo "address: $(<"$run_dir/address")"
fi
((up == 0)) && { echo "no cluster running in $run_dir"; exit 3; }
((down == 0)) || exit 1
