#!/usr/bin/env bash
# forrest bench, "scale, live" (bench/README.md): with real containers, etcd, HAProxy and
# `forrest gateway`, `forrest status APP` at SCALE_N instances, then at the largest N the idle CPU
# of the gateway and HAProxy (and of the checks' docker-proxy and containers), the HAProxy reads
# of one gateway pass and announce → served, for each check interval (and build) compared.
# Env: SCALE_N ("10 50 100 150"), SCALE_BEFORE (an older build: a directory with bin/run.js and
# dist/, compared in the same run), SCALE_IDLE_S (10) seconds of CPU sampling, STATUS_RUNS (10),
# LAT_COUNT (10) announcements per variant, BENCH_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench
SCALE_N=${SCALE_N:-"10 50 100 150"}
BEFORE=${SCALE_BEFORE:-}
IDLE_S=${SCALE_IDLE_S:-10}
STATUS_RUNS=${STATUS_RUNS:-10}
LAT_COUNT=${LAT_COUNT:-10}
MAX_N=$(tr ' ' '\n' <<<"$SCALE_N" | sort -n | tail -1)

ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
LABEL=forrest-bench.run=$ID # on every container this bench makes (cleanup: by this label only)
OUT=$BENCH/out/scale-$(date +%Y%m%d-%H%M%S)
WORK=$(mktemp -d /tmp/forrest-scale.XXXXXX)
RES=$OUT/results.tsv
mkdir -p "$OUT"
: >"$RES"
ETCD_PID= HAPROXY_PID= GATEWAY_PID=

log() { printf '[scale %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
stop_pid() { # pid: SIGTERM, wait up to 5s, then SIGKILL (only processes this script started)
  local p=$1 i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
rm_label() { local ids; ids=$(docker ps -aq --filter "label=$LABEL"); [ -z "$ids" ] || docker rm -f $ids >/dev/null; }
cleanup() {
  local rc=$?
  set +e
  stop_pid "$GATEWAY_PID"; stop_pid "$HAPROXY_PID"; stop_pid "$ETCD_PID"
  log "removing the bench's containers"
  rm_label
  rm -rf "$WORK"
  [ $rc = 0 ] || log "failed (exit $rc); logs in $OUT"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then log "building the CLI (tsc and the bundle)"; npm run -s build >/dev/null; fi
scripts/build-images.sh >/dev/null
[ -z "$BEFORE" ] || [ -f "$BEFORE/bin/run.js" ] || { log "SCALE_BEFORE=$BEFORE has no bin/run.js"; exit 2; }

ETCD_PORT=$(free_port) PEER_PORT=$(free_port) FRONT_PORT=$(free_port)
ETCD=127.0.0.1:$ETCD_PORT
etcd --name scale --data-dir "$WORK/etcd" \
  --listen-client-urls "http://$ETCD" --advertise-client-urls "http://$ETCD" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "scale=http://127.0.0.1:$PEER_PORT" --auto-compaction-mode=revision --auto-compaction-retention=1000 \
  --log-level error >"$OUT/etcd.log" 2>&1 &
ETCD_PID=$!
for i in $(seq 150); do curl -sf "http://$ETCD/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://$ETCD/health" >/dev/null || { log "etcd did not start"; exit 1; }
export ETCD_HOST=$ETCD ETCD_PREFIX=bench/$ID/servers FORREST_IP=127.0.0.1 FORREST_LABELS=$LABEL CI=1
SOCK=$WORK/admin.sock
FRONT=http://127.0.0.1:$FRONT_PORT/

# One HAProxy process (no master-worker: its pid is the one doing the checks), fresh for each
# gateway variant, since a server keeps the check keywords it was added with.
start_lb() { # cli-entry [gateway flags...]
  local cli=$1; shift
  stop_pid "$GATEWAY_PID"; stop_pid "$HAPROXY_PID"
  rm -f "$SOCK"
  node "$ROOT/bin/run.js" gateway --init-config "$WORK/haproxy.cfg" --socket "$SOCK" --listen "127.0.0.1:$FRONT_PORT" --force >/dev/null
  cat "$BENCH/haproxy-bench.cfg" >>"$WORK/haproxy.cfg"
  haproxy -db -f "$WORK/haproxy.cfg" >>"$OUT/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  node "$BENCH/haproxy.mjs" "$SOCK" wait-ready
  node "$cli" gateway --socket "$SOCK" --id "scale-$ID" --json "$@" >>"$OUT/gateway.jsonl" 2>>"$OUT/gateway.log" &
  GATEWAY_PID=$!
}

spec() { # file replicas
  cat >"$1" <<EOF
name: s$ID
image: demo/myapp:1
replicas: $2
port: 8080
health: { type: http, path: /, status: 200, interval: 200ms, timeout: 1s, successes: 1, deadline: 60s }
update: { order: start-first, maxSurge: 25, maxUnavailable: 0, soak: 0s, drain: 2s, stopGracePeriod: 5s, onFailure: rollback, progressDeadline: 20m }
EOF
}

# ---------------------------------------------------------------- status at each N
start_lb "$ROOT/bin/run.js"
APP=s$ID
for n in $SCALE_N; do
  spec "$WORK/app.yml" "$n"
  log "deploying $APP with $n instances"
  timeout 900 node bin/run.js deploy "$WORK/app.yml" --json >"$OUT/deploy-$n.json" 2>"$OUT/deploy-$n.err" || { log "deploy failed: $(head -c 400 "$OUT/deploy-$n.json")"; exit 1; }
  timeout 60 node bin/run.js status "$APP" >"$OUT/status-$n.txt" || { log "status $APP is not converged at $n"; exit 1; }
  cmds=(-n after "node $ROOT/bin/run.js status $APP")
  [ -z "$BEFORE" ] || cmds+=(-n before "node $BEFORE/bin/run.js status $APP")
  timeout 600 hyperfine -N --warmup 1 --runs "$STATUS_RUNS" --export-json "$OUT/status-$n.json" "${cmds[@]}" >"$OUT/hyperfine-$n.txt" 2>&1
  node -e 'for (const r of JSON.parse(require("fs").readFileSync(process.argv[1])).results) console.log(["status", r.command, process.argv[2], r.median, r.min, r.user + r.system].map((x) => (typeof x === "number" ? x.toFixed(3) : x)).join("\t"))' "$OUT/status-$n.json" "$n" >>"$RES"
  log "status at $n: $(grep -P "^status\t[a-z]+\t$n\t" "$RES" | cut -f2,4 | tr '\t\n' '= ')"
done

# ---------------------------------------------------------------- idle CPU, pass, latency at MAX_N
ADDRS=($(docker ps --filter "label=$LABEL" --format '{{.Ports}}' | grep -o '127.0.0.1:[0-9]*' | head -"$LAT_COUNT"))
variant() { # tag cli [gateway flags...]
  local tag=$1 cli=$2; shift 2
  log "$tag: fresh HAProxy and gateway, waiting for $MAX_N live servers"
  start_lb "$cli" "$@"
  node "$BENCH/haproxy.mjs" "$SOCK" wait-live app "$MAX_N" 120000
  sleep 3 # let the adds' burst settle before sampling
  node "$BENCH/scale-live.mjs" cpu "$IDLE_S" "$LABEL" gateway="$GATEWAY_PID" haproxy="$HAPROXY_PID" | sed "s/^cpu\t/cpu\t$tag\t/" >>"$RES"
  log "$tag idle: $(grep -P "^cpu\t$tag\t" "$RES" | cut -f3,4 | tr '\t\n' '= ')"
  timeout 300 node "$BENCH/latency.mjs" "$ETCD" "$ETCD_PREFIX" "$SOCK" "$FRONT" "$tag" "${ADDRS[@]}" | sed 's/^/lat\t/' >>"$RES"
}
[ -z "$BEFORE" ] || variant before-200ms "$BEFORE/bin/run.js"
variant after-200ms "$ROOT/bin/run.js" --check-interval 200ms
variant after-2s "$ROOT/bin/run.js"
for build in ${BEFORE:+before=$BEFORE} after=$ROOT; do
  node "$BENCH/scale-live.mjs" pass "${build#*=}/dist" "$SOCK" app 50 | sed "s/^pass\t/pass\t${build%%=*}\t/" >>"$RES"
done

{
  echo "forrest bench scale-live $(date -Iseconds): N=[$SCALE_N] before=${BEFORE:-none} idle=${IDLE_S}s status runs=$STATUS_RUNS"
  echo "machine: $(nproc) cores, $(uname -r), docker $(docker version --format '{{.Server.Version}}'), $(haproxy -v | head -1 | cut -d' ' -f1-3), node $(node --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
  node "$BENCH/scale-live.mjs" table "$RES"
} | tee "$OUT/table.txt"
