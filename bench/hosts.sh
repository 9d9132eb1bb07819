#!/usr/bin/env bash
# Several hosts (issue #13): a rolling update of N replicas (default 30) on one host (the local
# engine) against the same across three hosts (local + the lab's h1 and h2, all over their
# fastest endpoints: unix socket and mutual TLS), side by side in one run, paired per run.
# Needs scripts/dev-stack.sh up and scripts/lab/up.sh. Env: N (30), RUNS (3), SURGE (10%).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-30} RUNS=${RUNS:-3} SURGE=${SURGE:-10%}
source "${FORREST_LAB_ENV:-/tmp/forrest-lab/lab.env}"
ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
LABEL=forrest-bench.run=$ID
WORK=$(mktemp -d /tmp/forrest-bench-hosts.XXXXXX)
ETCD_PID=
tlsdocker() { docker --tlsverify --tlscacert "$FORREST_LAB_CERT_PATH/ca.pem" --tlscert "$FORREST_LAB_CERT_PATH/cert.pem" --tlskey "$FORREST_LAB_CERT_PATH/key.pem" -H "$1" "${@:2}"; }
cleanup() {
  set +e
  [ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null
  for ids in "$(docker ps -aq --filter label=$LABEL)"; do [ -z "$ids" ] || docker rm -f $ids >/dev/null; done
  for h in "$FORREST_LAB_H1_TLS" "$FORREST_LAB_H2_TLS"; do ids=$(tlsdocker "$h" ps -aq --filter "label=$LABEL"); [ -z "$ids" ] || tlsdocker "$h" rm -f $ids >/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
etcd --name b --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$PORT" --advertise-client-urls "http://127.0.0.1:$PORT" \
  --listen-peer-urls "http://127.0.0.1:$((PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((PORT + 1))" \
  --initial-cluster "b=http://127.0.0.1:$((PORT + 1))" --log-level error >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
until curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; do sleep 0.2; done
IMG=$FORREST_LAB_REGISTRY/demo/myapp
for tag in 1 2; do
  DOCKER_CONFIG=$FORREST_LAB_DOCKER_CONFIG docker pull -q "$IMG:$tag" >/dev/null
  for h in "$FORREST_LAB_H1_TLS" "$FORREST_LAB_H2_TLS"; do DOCKER_CONFIG=$FORREST_LAB_DOCKER_CONFIG tlsdocker "$h" pull -q "$IMG:$tag" >/dev/null; done
done
export ETCD_HOST=127.0.0.1:$PORT ETCD_PREFIX=bench/$ID FORREST_IP=127.0.0.1 FORREST_LABELS=$LABEL CI=true DOCKER_HOST=
spec() { # file name hosts(1|3) tag
  {
    echo "name: $2"; echo "image: $IMG:$4"; echo "replicas: $N"
    echo "health: {interval: 100ms, deadline: 30s}"
    echo "update: {maxSurge: \"$SURGE\", drain: 100ms, stopGracePeriod: 1s}"
    echo "hosts:"
    echo "  - {name: local, docker: \"unix:///var/run/docker.sock\", address: 127.0.0.1}"
    if [ "$3" = 3 ]; then
      echo "  - {name: h1, docker: \"$FORREST_LAB_H1_TLS\", address: 10.213.0.11, tls: {certPath: $FORREST_LAB_CERT_PATH}}"
      echo "  - {name: h2, docker: \"$FORREST_LAB_H2_TLS\", address: 10.213.0.12, tls: {certPath: $FORREST_LAB_CERT_PATH}}"
    fi
  } >"$1"
}
timed() { local t0 t1; t0=$(date +%s.%N); node bin/run.js deploy "$1" >"$WORK/last.log" 2>&1 || { cat "$WORK/last.log" >&2; exit 1; }; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
echo "run hosts N rollout_s"
for r in $(seq "$RUNS"); do
  for h in 1 3; do
    app=b$ID-h$h-$r
    spec "$WORK/$app-1.yml" "$app" "$h" 1; spec "$WORK/$app-2.yml" "$app" "$h" 2
    node bin/run.js deploy "$WORK/$app-1.yml" >"$WORK/create.log" 2>&1 || { cat "$WORK/create.log" >&2; exit 1; }
    echo "$r $h $N $(timed "$WORK/$app-2.yml")"
    spec "$WORK/$app-0.yml" "$app" "$h" 2; sed -i "s/^replicas: .*/replicas: 0/" "$WORK/$app-0.yml"; node bin/run.js deploy "$WORK/$app-0.yml" >/dev/null 2>&1 || true
  done
done
