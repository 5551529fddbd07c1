# shellcheck shell=bash
# Helpers shared by start.sh, stop.sh and status.sh. Sourced, never run.
#
# Every process start.sh launches is the leader of its own session and
# process group (setsid), and its pid file holds that group id. A worker is
# two processes (the nanny and the worker it spawns), so signals go to the
# whole group.

CLUSTER_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEFAULT_RUN_DIR="$CLUSTER_HOME/.run"

log() { echo "cluster: $*" >&2; }
die() { log "$*"; exit 2; }

# need_arg OPTION VALUE: fail with a clear message when an option lacks its value.
need_arg() { [[ $# -ge 2 && -n $2 && $2 != --* ]] || die "$1 needs a value (see --help)"; }

# group_members PGID: live (non-zombie) pids in that process group. Zombies
# count as gone: PID 1 in a container often never reaps orphans.
group_members() {
  ps -e -o pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'
}

# leader_is_foreign PID: the pid is alive but no longer a dask process, so the
# pid file is stale and the number was reused: never signal it.
# A zombie keeps its pid reserved, so it is never foreign.
leader_is_foreign() {
  local stat args
  stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $stat == Z* ]] && return 1
  args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
  [[ $args != *dask* && $args != *distributed* ]]
}

# is_running PIDFILE: the group named in the pid file still has live members.
is_running() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  leader_is_foreign "$pid" && return 1
  [[ -n $(group_members "$pid") ]]
}
