#!/usr/bin/env bash
# Several hosts (issues #13, #30): a rolling update v1 → v2 of N replicas on one lab host against
# the same over two (or any host sets), side by side in one run, paired per run, for one or more
# builds of forrest (before/after). Self-contained: it needs the lab (scripts/lab/up.sh) and
# nothing of the dev stack (its own etcd on a free port, no gateway), reads the lab registry's
# credentials from the lab's env file for the docker CLI and for forrest alike, and runs beside
# a running dev stack. With PIN=1 each lab engine (dockerd, containerd and the shims it starts)
# is pinned to one core (h1: CPU 0, h2: CPU 1) for the run and unpinned on exit, so a fleet
# figure shows orchestration, not the machine's 2 cores; each engine's busy time (utime + stime
# of dockerd and containerd, /proc/PID/stat) is measured around every timed deploy.
# Env: N (30), RUNS (3), SURGE (10%), SETS ("h1 h1+h2"; hosts joined by +, of local h1 h2),
# BUILDS ("after"; "after" is this checkout, NAME=DIR another built checkout), PIN (1).
# Prints one row per run, build and set: run build set N rollout_s h1_busy_s h2_busy_s local_busy_s.
# The deploys' --json results are kept in bench/out/hosts-<timestamp>/ (bench/phases.mjs reads them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${N:-30} RUNS=${RUNS:-3} SURGE=${SURGE:-10%} SETS=${SETS:-"h1 h1+h2"} BUILDS=${BUILDS:-after} PIN=${PIN:-1}
LAB_ENV=${FORREST_LAB_ENV:-/tmp/forrest-lab/lab.env}
[ -r "$LAB_ENV" ] || { echo "hosts.sh: $LAB_ENV is missing: bring the lab up with scripts/lab/up.sh" >&2; exit 7; }
source "$LAB_ENV"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
LABEL=forrest-bench.run=$ID
WORK=$(mktemp -d /tmp/forrest-bench-hosts.XXXXXX)
OUT=$ROOT/bench/out/hosts-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
ETCD_PID=
# The lab's logged-in docker CLI config, for every docker command here; forrest gets the same
# credentials through its own variables (FORREST_REGISTRY_*), never the caller's docker login.
export DOCKER_CONFIG=$FORREST_LAB_DOCKER_CONFIG
tlsdocker() { docker --tlsverify --tlscacert "$FORREST_LAB_CERT_PATH/ca.pem" --tlscert "$FORREST_LAB_CERT_PATH/cert.pem" --tlskey "$FORREST_LAB_CERT_PATH/key.pem" -H "$1" "${@:2}"; }
endpoint() { case $1 in h1) echo "$FORREST_LAB_H1_TLS" ;; h2) echo "$FORREST_LAB_H2_TLS" ;; esac; }
engine_pids() { # dockerd and containerd of a host (local: the system's)
  local p
  case $1 in
    # the system engine's, by its pid file (the lab's dockerds are called dockerd too)
    local) p=$(cat /var/run/docker.pid 2>/dev/null) || return 0; echo "$p"; pgrep -P "$p" -x containerd || pgrep -f '^containerd( |$)' | head -1 || true ;;
    *) p=$(cat "$FORREST_LAB_DIR/$1/run/docker.pid" 2>/dev/null) || return 0; echo "$p"; pgrep -P "$p" -x containerd || true ;;
  esac
}
busy() { local t=0 p s; for p in $(engine_pids "$1"); do s=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + s)); done; echo "$t"; }
TICK=$(getconf CLK_TCK)
pin() { # host cpu: every thread of dockerd and containerd (shims started later inherit it)
  local p; for p in $(engine_pids "$1"); do taskset -a -p -c "$2" "$p" >/dev/null; done
}
cleanup() {
  set +e
  [ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null
  if [ "$PIN" = 1 ]; then pin h1 "0-$(($(nproc) - 1))"; pin h2 "0-$(($(nproc) - 1))"; fi
  ids=$(docker ps -aq --filter "label=$LABEL"); [ -z "$ids" ] || docker rm -f $ids >/dev/null
  for h in "$FORREST_LAB_H1_TLS" "$FORREST_LAB_H2_TLS"; do ids=$(tlsdocker "$h" ps -aq --filter "label=$LABEL"); [ -z "$ids" ] || tlsdocker "$h" rm -f $ids >/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT=$(free_port) PEER=$(free_port)
etcd --name b --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$PORT" --advertise-client-urls "http://127.0.0.1:$PORT" \
  --listen-peer-urls "http://127.0.0.1:$PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PEER" \
  --initial-cluster "b=http://127.0.0.1:$PEER" --auto-compaction-mode=revision --auto-compaction-retention=1000 --log-level error >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PORT/health" >/dev/null || { cat "$WORK/etcd.log" >&2; echo "hosts.sh: etcd did not start" >&2; exit 1; }
IMG=$FORREST_LAB_REGISTRY/demo/myapp
for tag in 1 2; do
  docker pull -q "$IMG:$tag" >/dev/null
  for h in "$FORREST_LAB_H1_TLS" "$FORREST_LAB_H2_TLS"; do tlsdocker "$h" pull -q "$IMG:$tag" >/dev/null; done
done
[ "$PIN" = 1 ] && { pin h1 0; pin h2 $(($(nproc) > 1 ? 1 : 0)); }
# Nothing of the caller's forrest or docker environment reaches forrest: only what is set here.
unset DOCKER_HOST DOCKER_CERT_PATH DOCKER_TLS_VERIFY FORREST_REGISTRY_PASSWORD
export ETCD_HOST=127.0.0.1:$PORT ETCD_PREFIX=bench/$ID FORREST_IP=127.0.0.1 FORREST_LABELS=$LABEL CI=true
export FORREST_REGISTRY_SERVER=$FORREST_LAB_REGISTRY FORREST_REGISTRY_USER=$FORREST_LAB_REGISTRY_USER FORREST_REGISTRY_PASSWORD_FILE=$FORREST_LAB_REGISTRY_PASSWORD_FILE
spec() { # file name set tag
  {
    echo "name: $2"; echo "image: $IMG:$4"; echo "replicas: $N"
    echo "health: {interval: 100ms, deadline: 30s}"
    echo "update: {maxSurge: \"$SURGE\", drain: 100ms, stopGracePeriod: 1s}"
    echo "hosts:"
    for h in ${3//+/ }; do
      case $h in
        local) echo "  - {name: local, docker: \"unix:///var/run/docker.sock\", address: 127.0.0.1}" ;;
        h1) echo "  - {name: h1, docker: \"$FORREST_LAB_H1_TLS\", address: 10.213.0.11, tls: {certPath: $FORREST_LAB_CERT_PATH}}" ;;
        h2) echo "  - {name: h2, docker: \"$FORREST_LAB_H2_TLS\", address: 10.213.0.12, tls: {certPath: $FORREST_LAB_CERT_PATH}}" ;;
        *) echo "hosts.sh: unknown host $h in SETS (local, h1, h2)" >&2; exit 2 ;;
      esac
    done
  } >"$1"
}
forrest() { node "$DIR/bin/run.js" "$@"; }
echo "run build set N rollout_s h1_busy_s h2_busy_s local_busy_s"
for r in $(seq "$RUNS"); do
  for b in $BUILDS; do
    name=${b%%=*} DIR=$ROOT; [ "$b" = "$name" ] || DIR=${b#*=}
    for set in $SETS; do
      app=b$ID-$name-${set//+/-}-$r
      spec "$WORK/$app-1.yml" "$app" "$set" 1; spec "$WORK/$app-2.yml" "$app" "$set" 2
      forrest deploy "$WORK/$app-1.yml" >"$WORK/create.log" 2>&1 || { cat "$WORK/create.log" >&2; exit 1; }
      b0=($(busy h1) $(busy h2) $(busy local)); t0=$(date +%s.%N)
      forrest deploy --json "$WORK/$app-2.yml" >"$OUT/$name-${set//+/-}-$r.json" 2>"$WORK/last.log" || { cat "$WORK/last.log" >&2; exit 1; }
      t1=$(date +%s.%N); b1=($(busy h1) $(busy h2) $(busy local))
      echo "$r $name $set $N $(echo "$t1 - $t0" | bc) $(for i in 0 1 2; do echo "scale=2; (${b1[$i]} - ${b0[$i]}) / $TICK" | bc; done | tr '\n' ' ')" | sed 's/ $//' | tee -a "$OUT/results.txt"
      spec "$WORK/$app-0.yml" "$app" "$set" 2; sed -i "s/^replicas: .*/replicas: 0/" "$WORK/$app-0.yml"; forrest deploy "$WORK/$app-0.yml" >/dev/null 2>&1 || true
    done
  done
done
# The summary: per build and set, median seconds and engine busy time; each set against the first
# set of the same run and build (paired), and each build against the first build (paired).
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "))
const med = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const sets = [...new Set(rows.map((r) => r[2]))], builds = [...new Set(rows.map((r) => r[1]))]
const at = (run, b, s) => rows.find((r) => r[0] === run && r[1] === b && r[2] === s)
console.log("\nsummary (median over runs; ratios paired per run)")
console.log(["build", "set", "rollout_s", "vs " + sets[0], "vs " + builds[0], "busy h1 / h2 / local s"].map((c, i) => c.padEnd([8, 10, 10, 14, 14, 0][i])).join(" "))
for (const b of builds) for (const s of sets) {
  const mine = rows.filter((r) => r[1] === b && r[2] === s)
  const ratio = (other) => med(mine.map((r) => Number(r[4]) / Number(other(r)?.[4])).filter(Number.isFinite)).toFixed(2) + "x"
  console.log([b, s, med(mine.map((r) => +r[4])).toFixed(2), ratio((r) => at(r[0], b, sets[0])), ratio((r) => at(r[0], builds[0], s)),
    [5, 6, 7].map((k) => med(mine.map((r) => +r[k])).toFixed(2)).join(" / ")].map((c, i) => String(c).padEnd([8, 10, 10, 14, 14, 0][i])).join(" "))
}' "$OUT/results.txt"
node bench/phases.mjs "$OUT"/*.json
