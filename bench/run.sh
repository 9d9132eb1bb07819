#!/usr/bin/env bash
# forrest benchmark: rolling updates vs a bare floor and Docker Swarm, parallel rollouts,
# announce-to-served latency through the gateway, CLI start-up, and failed requests under load.
# See bench/README.md. Env: BENCH_RUNS (3), N_LIST ("10 30"), BENCH_QUICK=1 (N=10, 1 run),
# N_LIST="" (start-up and latency only), BENCH_ROWS (all: "floor s1-i200 swarm s1-i200-noload s1-i50 shalf-i200 sall-i200 sall-i200-noload pfloor"),
# BENCH_BEFORE=DIR (rows s1-i200-before, sall-i200-before run that built checkout), BENCH_SWARM=0 / BENCH_FAST=0 (drop the swarm / 50ms-health rows),
# LOAD_C (4) / LOAD_QPS (25 per worker), LAT_COUNT (20), STATUS_N (30), BENCH_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench

RUNS=${BENCH_RUNS:-3}
N_LIST=${N_LIST-"10 30"} # empty: no rollout rows (figures 1, 2, 5)
STATUS_N=${STATUS_N:-30}
if [ "${BENCH_QUICK:-0}" = 1 ]; then RUNS=1; N_LIST=10; STATUS_N=10; fi
ROWS=${BENCH_ROWS:-"floor s1-i200 swarm s1-i200-noload s1-i50 shalf-i200 sall-i200 sall-i200-noload pfloor"}
[ "${BENCH_SWARM:-1}" = 1 ] || ROWS=${ROWS/swarm/}
[ "${BENCH_FAST:-1}" = 1 ] || ROWS=${ROWS/s1-i50/}
LOAD_C=${LOAD_C:-4}
LOAD_QPS=${LOAD_QPS:-25}
LAT_COUNT=${LAT_COUNT:-20}

# ---------------------------------------------------------------- tools, before any work
# A fresh machine lacks some of these (hyperfine is in no base image): check every one first and
# install what is missing from Debian as root, or stop at once naming them, rather than failing
# with exit 127 ten minutes in. BENCH_NO_INSTALL=1 only checks.
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
need_tools() {
  local -A pkg=([hyperfine]=hyperfine [hey]=hey [bc]=bc [curl]=curl [etcd]=etcd-server [etcdctl]=etcd-client [haproxy]=haproxy [docker]=docker.io)
  local missing=() pkgs=() t
  for t in "${!pkg[@]}"; do command -v "$t" >/dev/null 2>&1 || { missing+=("$t"); pkgs+=("${pkg[$t]}"); }; done
  { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || docker image inspect demo/myapp:1 demo/myapp:2 >/dev/null 2>&1 || { missing+=(static-busybox); pkgs+=(busybox-static); }
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "${BENCH_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      log "installing ${pkgs[*]} (missing: ${missing[*]})"
      export DEBIAN_FRONTEND=noninteractive
      local apt_log; apt_log=$(mktemp)
      { apt-get update -qq && apt-get install -y -qq "${pkgs[@]}"; } >"$apt_log" 2>&1 || { cat "$apt_log" >&2; log "apt-get install ${pkgs[*]} failed"; exit 127; }
      rm -f "$apt_log"
    else
      log "missing: ${missing[*]}; install them first (Debian: apt-get install -y ${pkgs[*]}), or run this as root without BENCH_NO_INSTALL to have it done"
      exit 127
    fi
  fi
  for t in "${!pkg[@]}"; do command -v "$t" >/dev/null 2>&1 || { log "$t is still missing after installing ${pkg[$t]}"; exit 127; }; done
  docker info >/dev/null 2>&1 || { log "no Docker engine answers (start dockerd: scripts/dev-stack.sh up)"; exit 7; }
  [ -x node_modules/.bin/tsc ] || { log "node_modules is missing: run npm ci first"; exit 127; }
}
need_tools

ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
LABEL=forrest-bench.run=$ID # on every container this bench makes (cleanup: by this label only)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$BENCH/out/$STAMP # results, deploy JSON, logs: kept for analysis
WORK=$(mktemp -d /tmp/forrest-bench.XXXXXX)
RES=$OUT/results.tsv
mkdir -p "$OUT"
: >"$RES"

ETCD_PID= HAPROXY_PID= GATEWAY_PID= LOAD_PID= SWARM_JOINED=0 SWARM_SVC=

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
by_label() { docker ps -aq --filter "label=$1"; }
rm_label() { local ids; ids=$(by_label "$1"); [ -z "$ids" ] || docker rm -f $ids >/dev/null; }
stop_pid() { # pid: SIGTERM, wait up to 5s, then SIGKILL (only processes this script started)
  local p=$1 i
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  stop_pid "$LOAD_PID"
  stop_pid "$GATEWAY_PID"
  stop_pid "$HAPROXY_PID"
  stop_pid "$ETCD_PID"
  [ -n "$SWARM_SVC" ] && docker service rm "$SWARM_SVC" >/dev/null 2>&1
  rm_label "$LABEL"
  [ "$SWARM_JOINED" = 1 ] && docker swarm leave --force >/dev/null 2>&1
  rm -rf "$WORK"
  [ $rc = 0 ] || log "failed (exit $rc); logs in $OUT"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then log "building the CLI (tsc and the bundle)"; npm run -s build >/dev/null; fi
scripts/build-images.sh
FORREST=(node "$ROOT/bin/run.js")
# BENCH_BEFORE=DIR: another built checkout (e.g. main, `npm run build` there); rows ending in
# -before run its bin/run.js, side by side with this one's in the same run.
FORREST_BEFORE=(node "${BENCH_BEFORE:-$ROOT}/bin/run.js")

ETCD_PORT=$(free_port) PEER_PORT=$(free_port) FRONT_PORT=$(free_port)
ETCD=127.0.0.1:$ETCD_PORT
etcd --name bench --data-dir "$WORK/etcd" \
  --listen-client-urls "http://$ETCD" --advertise-client-urls "http://$ETCD" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" --auto-compaction-mode=revision --auto-compaction-retention=1000 \
  --log-level error >"$OUT/etcd.log" 2>&1 &
ETCD_PID=$!
for i in $(seq 150); do curl -sf "http://$ETCD/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://$ETCD/health" >/dev/null || { log "etcd did not start"; exit 1; }

export ETCD_HOST=$ETCD ETCD_PREFIX=bench/$ID/servers FORREST_IP=127.0.0.1 FORREST_LABELS=$LABEL CI=1
SOCK=$WORK/admin.sock
FRONT=http://127.0.0.1:$FRONT_PORT/
"${FORREST[@]}" gateway --init-config "$WORK/haproxy.cfg" --socket "$SOCK" --listen "127.0.0.1:$FRONT_PORT" --force >/dev/null
cat "$BENCH/haproxy-bench.cfg" >>"$WORK/haproxy.cfg" # for latency.mjs; the backend is the last section
haproxy -W -db -f "$WORK/haproxy.cfg" >"$OUT/haproxy.log" 2>&1 &
HAPROXY_PID=$!
node "$BENCH/haproxy.mjs" "$SOCK" wait-ready
# The gateway's JSON events carry no time; DEBUG gives each one an ISO timestamp on stderr.
DEBUG=forrest:gateway "${FORREST[@]}" gateway --socket "$SOCK" --id "bench-$ID" --json >"$OUT/gateway.jsonl" 2>"$OUT/gateway.debug.log" &
GATEWAY_PID=$!
for i in $(seq 100); do [ -n "$(ETCDCTL_API=3 etcdctl --endpoints "$ETCD" get --prefix --keys-only /forrest/gateways/)" ] && break; sleep 0.1; done
[ -n "$(ETCDCTL_API=3 etcdctl --endpoints "$ETCD" get --prefix --keys-only /forrest/gateways/)" ] || { log "gateway did not publish an ack key"; exit 1; }
log "etcd $ETCD, HAProxy $FRONT (socket $SOCK), gateway pid $GATEWAY_PID; runs=$RUNS N=[$N_LIST]; out $OUT"

wait_http() { # addr want-body
  local i
  for i in $(seq 600); do [ "$(curl -s -m 1 "http://$1/" || true)" = "$2" ] && return 0; sleep 0.05; done
  log "no $2 from $1"; return 1
}

# ---------------------------------------------------------------- load (figure 5)
start_load() { # out-file: bounded load through HAProxy until stop_load
  if [ "$LOAD_QPS" = 0 ]; then : >"$1"; LOAD_PID=; return; fi
  hey -z 30m -c "$LOAD_C" -q "$LOAD_QPS" -t 5 -disable-keepalive "$FRONT" >"$1" 2>&1 &
  LOAD_PID=$!
}
stop_load() { # out-file N variant run
  [ -n "$LOAD_PID" ] || return 0
  kill -INT "$LOAD_PID" 2>/dev/null || true
  wait "$LOAD_PID" 2>/dev/null || true
  LOAD_PID=
  # hey's summary: "[200]  123 responses" lines, and "[count]  message" under Error distribution.
  awk -v n="$2" -v v="$3" -v r="$4" '
    /Status code distribution/ {s=1; e=0; next} /Error distribution/ {e=1; s=0; next}
    s && /\[[0-9]+\]/ {code=$1; gsub(/[\[\]]/,"",code); sent+=$2; if (code !~ /^2/) bad+=$2}
    e && /\[[0-9]+\]/ {c=$1; gsub(/[\[\]]/,"",c); err+=c; sent+=c}
    END {printf "load\t%s\t%s\t%s\t%d\t%d\t%d\n", n, v, r, sent, bad, err}' "$1" >>"$RES"
}

# ---------------------------------------------------------------- figure 1: floor
floor_case() { # N run
  local n=$1 run=$2 lab=forrest-bench.case=floor-$1-$2 old=() id new addr t0 t1
  for i in $(seq "$n"); do old+=("$(docker run -d --init -l "$LABEL" -l "$lab" -p 127.0.0.1::8080 demo/myapp:1)"); done
  for id in "${old[@]}"; do wait_http "$(docker port "$id" 8080/tcp | head -1)" v1; done
  t0=$(now)
  for id in "${old[@]}"; do
    new=$(docker run -d --init -l "$LABEL" -l "$lab" -p 127.0.0.1::8080 demo/myapp:2)
    addr=$(docker port "$new" 8080/tcp | head -1)
    until [ "$(curl -s -m 1 "http://$addr/" || true)" = v2 ]; do sleep 0.05; done
    docker stop -t 5 "$id" >/dev/null && docker rm "$id" >/dev/null
  done
  t1=$(now)
  rm_label "$lab"
  printf 'roll\t%s\tfloor\t%s\t%s\n' "$n" "$run" "$(elapsed "$t0" "$t1")" >>"$RES"
  log "N=$n run $run floor $(elapsed "$t0" "$t1")s"
}

# ---------------------------------------------------------------- figure 2: parallel floor
pfloor_case() { # N run: all new at once (poll each), then all old stopped+removed at once
  local n=$1 run=$2 lab=forrest-bench.case=pfloor-$1-$2 old=() pids=() id t0 t1
  for i in $(seq "$n"); do old+=("$(docker run -d --init -l "$LABEL" -l "$lab" -p 127.0.0.1::8080 demo/myapp:1)"); done
  for id in "${old[@]}"; do wait_http "$(docker port "$id" 8080/tcp | head -1)" v1; done
  t0=$(now)
  for i in $(seq "$n"); do
    (
      new=$(docker run -d --init -l "$LABEL" -l "$lab" -p 127.0.0.1::8080 demo/myapp:2)
      addr=$(docker port "$new" 8080/tcp | head -1)
      until [ "$(curl -s -m 1 "http://$addr/" || true)" = v2 ]; do sleep 0.05; done
    ) &
    pids+=($!)
  done
  wait "${pids[@]}" # only these: a bare `wait` would wait for etcd/HAProxy/gateway too
  pids=()
  for id in "${old[@]}"; do (docker stop -t 5 "$id" >/dev/null && docker rm "$id" >/dev/null) & pids+=($!); done
  wait "${pids[@]}"
  t1=$(now)
  rm_label "$lab"
  printf 'roll\t%s\tpfloor\t%s\t%s\n' "$n" "$run" "$(elapsed "$t0" "$t1")" >>"$RES"
  log "N=$n run $run parallel floor $(elapsed "$t0" "$t1")s"
}

# ---------------------------------------------------------------- figure 1: swarm
swarm_case() { # N run   (as /work/shared/bench/swarm-rolling.sh, labelled)
  local n=$1 run=$2 t0 t1
  if [ "$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null; SWARM_JOINED=1
  fi
  SWARM_SVC=bench-$ID-sw$n-$run
  docker service create -q --name "$SWARM_SVC" --label "$LABEL" --container-label "$LABEL" \
    --replicas "$n" --publish mode=host,target=8080 \
    --health-cmd 'wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1' --health-interval 200ms \
    --health-retries 3 --health-start-period 0s --update-parallelism 1 --update-delay 0s \
    --update-order start-first --update-monitor 200ms --stop-grace-period 5s demo/myapp:1 >/dev/null 2>>"$OUT/swarm.log"
  t0=$(now)
  docker service update -q --image demo/myapp:2 "$SWARM_SVC" >/dev/null 2>>"$OUT/swarm.log"
  t1=$(now)
  docker service rm "$SWARM_SVC" >/dev/null
  SWARM_SVC=
  for i in $(seq 300); do [ -z "$(by_label "$LABEL" | head -1)" ] && break; sleep 0.1; done
  if [ "$SWARM_JOINED" = 1 ]; then docker swarm leave --force >/dev/null; SWARM_JOINED=0; fi
  printf 'roll\t%s\tswarm\t%s\t%s\n' "$n" "$run" "$(elapsed "$t0" "$t1")" >>"$RES"
  log "N=$n run $run swarm $(elapsed "$t0" "$t1")s"
}

# ---------------------------------------------------------------- figures 1, 2, 5: forrest
spec() { # file app image replicas maxSurge interval
  cat >"$1" <<EOF
name: $2
image: $3
replicas: $4
port: 8080
health: { type: http, path: /, status: 200, interval: $6, timeout: 1s, successes: 1, deadline: 30s }
update: { order: start-first, maxSurge: $5, maxUnavailable: 0, soak: 0s, drain: 2s, stopGracePeriod: 5s, onFailure: rollback, progressDeadline: 10m }
EOF
}

forrest_case() { # N run variant maxSurge interval load(1/0)
  local n=$1 run=$2 variant=$3 surge=$4 interval=$5 withload=$6
  local app=b$ID-$n-$variant-$run dir=$WORK/$variant-$n-$run t0 t1 json=$OUT/deploy-$n-$variant-$run.json
  local cli=("${FORREST[@]}"); [[ $variant == *-before ]] && cli=("${FORREST_BEFORE[@]}")
  mkdir -p "$dir"
  spec "$dir/v1.yml" "$app" demo/myapp:1 "$n" "$surge" "$interval"
  spec "$dir/v2.yml" "$app" demo/myapp:2 "$n" "$surge" "$interval"
  spec "$dir/v0.yml" "$app" demo/myapp:2 0 "$n" "$interval"
  "${cli[@]}" deploy "$dir/v1.yml" --json >"$dir/v1.json" 2>"$dir/v1.err" || { log "v1 deploy failed: $(cat "$dir/v1.json" "$dir/v1.err")"; exit 1; }
  if [ "$withload" = 1 ]; then
    start_load "$dir/load.txt"
    sleep 0.5 # let hey reach its rate before the clock starts
  fi
  t0=$(now)
  "${cli[@]}" deploy "$dir/v2.yml" --json >"$json" 2>"$dir/v2.err" || { log "v2 deploy failed: $(cat "$json" "$dir/v2.err")"; exit 1; }
  t1=$(now)
  if [ "$withload" = 1 ]; then
    stop_load "$dir/load.txt" "$n" "$variant" "$run"
    cp "$dir/load.txt" "$OUT/load-$n-$variant-$run.txt"
  fi
  printf 'roll\t%s\t%s\t%s\t%s\n' "$n" "$variant" "$run" "$(elapsed "$t0" "$t1")" >>"$RES"
  log "N=$n run $run $variant $(elapsed "$t0" "$t1")s ($(tail -1 "$RES" | cut -f5-))"
  # Untimed teardown through forrest itself (withdraw, gateway ack, stop), then by label.
  "${cli[@]}" deploy "$dir/v0.yml" --json >"$dir/v0.json" 2>"$dir/v0.err" || log "teardown deploy failed: $(head -c 300 "$dir/v0.json")"
  rm_label "forrest.app=$app"
  node "$BENCH/haproxy.mjs" "$SOCK" wait-empty app
}

# ---------------------------------------------------------------- figure 3: announce → served
latency_case() { # run
  local run=$1 lab=forrest-bench.case=lat-$1 ids=() addrs=() id
  for i in $(seq "$LAT_COUNT"); do ids+=("$(docker run -d --init -l "$LABEL" -l "$lab" -p 127.0.0.1::8080 demo/myapp:1)"); done
  for id in "${ids[@]}"; do addrs+=("$(docker port "$id" 8080/tcp | head -1)"); done
  for a in "${addrs[@]}"; do wait_http "$a" v1; done
  node "$BENCH/latency.mjs" "$ETCD" "$ETCD_PREFIX" "$SOCK" "$FRONT" "$run" "${addrs[@]}" | sed 's/^/lat\t/' >>"$RES"
  rm_label "$lab"
  log "run $run latency: $(grep -c "^lat	$run	" "$RES") instances"
}

# ---------------------------------------------------------------- the runs
has_row() { [[ " $ROWS " == *" $1 "* ]]; }
for run in $(seq "$RUNS"); do
  [ "$LAT_COUNT" -gt 0 ] && latency_case "$run"
  for n in $N_LIST; do
    half=$(( (n + 1) / 2 ))
    # Interleaved, so every row of a run sees the same machine (other work on it included).
    has_row floor && floor_case "$n" "$run"
    has_row s1-i200 && forrest_case "$n" "$run" s1-i200 1 200ms 1
    has_row s1-i200-before && forrest_case "$n" "$run" s1-i200-before 1 200ms 1
    has_row swarm && swarm_case "$n" "$run"
    has_row s1-i200-noload && forrest_case "$n" "$run" s1-i200-noload 1 200ms 0
    has_row s1-i50 && forrest_case "$n" "$run" s1-i50 1 50ms 1
    has_row shalf-i200 && forrest_case "$n" "$run" shalf-i200 "$half" 200ms 1
    has_row sall-i200 && forrest_case "$n" "$run" sall-i200 "$n" 200ms 1
    has_row sall-i200-before && forrest_case "$n" "$run" sall-i200-before "$n" 200ms 1
    has_row sall-i200-noload && forrest_case "$n" "$run" sall-i200-noload "$n" 200ms 0
    has_row pfloor && pfloor_case "$n" "$run"
  done
done

# ---------------------------------------------------------------- figure 4: start-up
app=b$ID-status
spec "$WORK/status.yml" "$app" demo/myapp:1 "$STATUS_N" "$STATUS_N" 200ms
"${FORREST[@]}" deploy "$WORK/status.yml" --json >"$WORK/status-deploy.json" 2>&1 || { log "status deploy failed"; exit 1; }
log "start-up: $STATUS_N instances of $app deployed; hyperfine"
hyperfine -N -i --warmup 2 --runs "${STARTUP_RUNS:-10}" --export-json "$OUT/startup.json" \
  -n 'node -e 0 (baseline)' 'node -e 0' \
  -n 'forrest --version' "node $ROOT/bin/run.js --version" \
  -n "forrest deploy, no-op ($STATUS_N instances)" "node $ROOT/bin/run.js deploy $WORK/status.yml" \
  -n "forrest status ($STATUS_N instances)" "node $ROOT/bin/run.js status $app" >"$OUT/hyperfine.txt" 2>&1
node -e 'for (const r of JSON.parse(require("fs").readFileSync(process.argv[1])).results) console.log(["start", r.command, ...r.times].join("\t"))' "$OUT/startup.json" >>"$RES"

# ---------------------------------------------------------------- the table
{
  echo "forrest bench $STAMP: runs=$RUNS N=[$N_LIST] rows=[$ROWS] load=${LOAD_C}x${LOAD_QPS}rps keep-alive off"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), docker $(docker version --format '{{.Server.Version}}'), $(etcd --version | head -1), $(haproxy -v | head -1 | cut -d' ' -f1-3), node $(node --version)"
  node "$BENCH/table.mjs" "$RES" "$OUT"
  node "$BENCH/phases.mjs" "$OUT"/deploy-*-s1-i200-[0-9]*.json "$OUT"/deploy-*-s1-i200-before-*.json
} | tee "$OUT/table.txt"
