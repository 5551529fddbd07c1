#!/usr/bin/env bash
# Start a Dask scheduler and N single-threaded workers on this machine, each
# a separate process, wait until all workers have connected, and print the
# scheduler address (tcp://HOST:PORT) on stdout. Logs and pid files go to DIR.
set -euo pipefail
# shellcheck source=cluster/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

usage() {
  cat <<USAGE
usage: cluster/start.sh [options]
  --workers N          worker processes to start (default 2)
  --resources SPEC     resources each worker advertises, e.g. "GPU=1,MEM=8e9"
  --memory-limit L     memory limit per worker: bytes, "4GB", a fraction or auto (default auto)
  --dir DIR            pid files, logs and scheduler file (default cluster/.run)
  --python PY          python that has pivot[dask] installed (default python3)
  --host HOST          address to listen on (default 127.0.0.1)
  --port PORT          scheduler port, 0 picks a free one (default 0)
  --config FILE        dask config exported as DASK_CONFIG (default cluster/dask.yaml)
  --timeout SECONDS    how long to wait for all workers (default 60)
Prints tcp://HOST:PORT; use it with: pivot repro --cluster tcp://HOST:PORT
USAGE
}

workers=2 resources="" memory_limit=auto run_dir=$DEFAULT_RUN_DIR py=python3
host=127.0.0.1 port=0 config="$CLUSTER_HOME/dask.yaml" timeout=60
while [[ $# -gt 0 ]]; do
  case $1 in
    --workers) need_arg "$@"; workers=$2; shift 2 ;;
    --resources) need_arg "$@"; resources=$2; shift 2 ;;
    --memory-limit) need_arg "$@"; memory_limit=$2; shift 2 ;;
    --dir) need_arg "$@"; run_dir=$2; shift 2 ;;
    --python) need_arg "$@"; py=$2; shift 2 ;;
    --host) need_arg "$@"; host=$2; shift 2 ;;
    --port) need_arg "$@"; port=$2; shift 2 ;;
    --config) need_arg "$@"; config=$2; shift 2 ;;
    --timeout) need_arg "$@"; timeout=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
[[ $workers =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive integer, got '$workers'"
[[ -f $config ]] || die "dask config not found: $config"
command -v "$py" >/dev/null || die "python not found: $py"
"$py" -c "import importlib.util as u, sys; sys.exit(u.find_spec('distributed') is None)" 2>/dev/null ||
  die "$py cannot import distributed: pip install 'pivot[dask]'"

mkdir -p "$run_dir"
# Absolute paths: the processes outlive this script and its working directory.
run_dir=$(cd "$run_dir" && pwd)
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
if is_running "$run_dir/scheduler.pid"; then
  die "a cluster is already running in $run_dir; stop it with: cluster/stop.sh --dir $run_dir"
fi
# Leftovers of a crashed cluster (a worker whose scheduler died) go first.
"$CLUSTER_HOME/stop.sh" --dir "$run_dir" >/dev/null 2>&1 || true
rm -f "$run_dir/scheduler.json" "$run_dir/address"

# A file, not a directory: dask then never copies its defaults next to it.
export DASK_CONFIG=$config
sched_file=$run_dir/scheduler.json

setsid "$py" -m dask scheduler --host "$host" --port "$port" --dashboard-address :0 \
  --scheduler-file "$sched_file" >"$run_dir/scheduler.log" 2>&1 </dev/null &
echo $! >"$run_dir/scheduler.pid"
pids=($!)

# One process per worker with ONE thread each. Pivot stages chdir into the
# project and change environment variables; both are process-wide, so two
# stages in threads of one process would run in each other's directory.
# Separate processes also let a crashing stage take down only its own worker.
# Workers wait for the scheduler file themselves, so all start at once.
for ((i = 0; i < workers; i++)); do
  args=(--scheduler-file "$sched_file" --host "$host" --nthreads 1 --nworkers 1
    --name "worker-$i" --memory-limit "$memory_limit"
    --local-directory "$run_dir/worker-$i" --death-timeout 60)
  [[ -n $resources ]] && args+=(--resources "$resources")
  setsid "$py" -m dask worker "${args[@]}" >"$run_dir/worker-$i.log" 2>&1 </dev/null &
  echo $! >"$run_dir/worker-$i.pid"
  pids+=($!)
done

# Poll with a real client until every worker has registered; give up early
# if any process exits (bad option, port in use, import error).
wait_py='
import json, os, sys, time
sched_file, want, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
pids = [int(p) for p in sys.argv[4:]]
deadline = time.monotonic() + timeout

def check_alive():
    for pid in pids:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                dead = f.read().rsplit(")", 1)[1].split()[0] in "ZX"
        except ProcessLookupError:
            dead = True
        except OSError:
            dead = False  # no /proc (macOS): kill(0) succeeding is enough
        if dead:
            sys.exit(f"process {pid} exited during startup")
    if time.monotonic() > deadline:
        sys.exit(f"timed out after {timeout:g}s waiting for {want} workers")

while not os.path.exists(sched_file):
    check_alive()
    time.sleep(0.05)
from distributed import Client
with Client(scheduler_file=sched_file, timeout=max(deadline - time.monotonic(), 1)) as client:
    while len(client.nthreads()) < want:
        check_alive()
        time.sleep(0.1)
    with open(sched_file) as f:
        print(json.load(f)["address"])
'
if ! address=$("$py" -c "$wait_py" "$sched_file" "$workers" "$timeout" "${pids[@]}"); then
  log "the cluster did not start; last lines of the logs in $run_dir:"
  for f in "$run_dir"/*.log; do
    echo "==> $f <==" >&2
    tail -n 15 "$f" >&2
  done
  "$CLUSTER_HOME/stop.sh" --dir "$run_dir" >&2 || true
  exit 1
fi
echo "$address" >"$run_dir/address"
log "scheduler $address with $workers worker(s); logs in $run_dir"
log "use it with: pivot repro --cluster $address   (stop: cluster/stop.sh --dir $run_dir)"
echo "$address"
