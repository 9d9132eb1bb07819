#!/usr/bin/env bash
# Proves zero-downtime deploys end to end, on loopback, with nothing shared: starts its own etcd
# (free port, temp data dir), its own HAProxy (forrest's starter config) and `forrest gateway`,
# then sends requests through HAProxy with `hey` (keep-alive off, rate-bounded) while forrest
#   deploys demo/myapp:1 x5 → rolls to demo/myapp:2 (HAProxy is reloaded in the middle of it) →
#   tries demo/myapp:bad (must exit 3, rolled back) → scales 5 → 2 → 5.
# Prints a report; exits non-zero on any failed request or unexpected exit code. Removes every
# container, process and file it made (containers by their per-run label).
#
#   scripts/prove-zero-downtime.sh            needs: docker, etcd, haproxy, hey, curl, node
#   KEEP=1 scripts/prove-zero-downtime.sh     keep the work dir (logs) for a look afterwards
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_ID="zdt-$(date +%s)-$RANDOM"
LABEL="forrest-test.run=$RUN_ID"
W=$(mktemp -d "${TMPDIR:-/tmp}/forrest-zdt.XXXXXX")
APP="z$(printf '%05d' $((RANDOM % 100000)))"
pids=()
say() { printf 'prove: %s\n' "$*"; }

cleanup() {
  local rc=$?
  [ -f "$W/hey.pid" ] && kill -INT "$(cat "$W/hey.pid")" 2>/dev/null || true
  [ -f "$W/sampler.pid" ] && kill "$(cat "$W/sampler.pid")" 2>/dev/null || true
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  local ids; ids=$(docker ps -aq --filter "label=$LABEL" 2>/dev/null || true)
  [ -n "$ids" ] && docker rm -f $ids >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then say "work dir kept: $W"; else rm -rf "$W"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for c in docker etcd haproxy hey curl node; do command -v "$c" >/dev/null || { say "missing $c (scripts/dev-stack.sh installs it)"; exit 2; }; done
free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_for() { # what, seconds, command...
  local what=$1 end=$((SECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $end ] || { say "$what did not come up in time"; return 1; }; sleep 0.1; done
}
forrest() { node bin/run.js "$@"; }

[ -f dist/commands/index.js ] || { say "building"; npm run -s build; }
bash scripts/build-images.sh

# 1. etcd, HAProxy, gateway
ETCD_PORT=$(free_port); PEER_PORT=$(free_port); LB_PORT=$(free_port)
etcd --name zdt --data-dir "$W/etcd" --log-level error \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-cluster "zdt=http://127.0.0.1:$PEER_PORT" >"$W/etcd.log" 2>&1 &
pids+=($!)
wait_for etcd 15 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

export ETCD_HOST="127.0.0.1:$ETCD_PORT" ETCD_PREFIX="test/$RUN_ID" FORREST_IP=127.0.0.1 FORREST_LABELS="$LABEL" CI=true
forrest gateway --init-config "$W/haproxy.cfg" --socket "$W/admin.sock" --listen "127.0.0.1:$LB_PORT" >/dev/null
# Name the answering instance in every response (the backend is the config's last section).
echo '  http-response set-header x-forrest-server %s' >>"$W/haproxy.cfg"
haproxy -c -q -f "$W/haproxy.cfg"
haproxy -W -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 &
HAPROXY_PID=$!  # the master: SIGUSR2 = graceful reload
pids+=($HAPROXY_PID)
wait_for haproxy 10 test -S "$W/admin.sock"

# node directly, not the forrest() function: $! must be node's own pid for the cleanup.
# --servers-file: the gateway keeps the live servers in haproxy.cfg too, so a reload keeps them.
node bin/run.js gateway --socket "$W/admin.sock" --backend app --id "gw-$RUN_ID" --servers-file "$W/haproxy.cfg" --json >"$W/gateway.log" 2>"$W/gateway.err" &
pids+=($!)
wait_for "forrest gateway" 20 grep -q '"type":"applied"' "$W/gateway.log"
say "etcd :$ETCD_PORT, HAProxy http://127.0.0.1:$LB_PORT, gateway up (logs in $W)"

# 2. Deployment files: deployments/myapp.yml with a unique name, 5 replicas, fast probes.
spec() { # file image replicas deadline
  sed -e "s/^name: myapp$/name: $APP/" -e "s#^image: .*#image: $2#" -e "s/^replicas: .*/replicas: $3/" \
    -e 's/^  interval: 200ms /  interval: 100ms /' -e "s/^  deadline: 30s /  deadline: $4 /" \
    -e 's/^  stopGracePeriod: 10s /  stopGracePeriod: 1s /' deployments/myapp.yml >"$W/$1"
  grep -q "^name: $APP$" "$W/$1" && grep -q "^replicas: $3$" "$W/$1" || { say "could not write $1 from deployments/myapp.yml"; exit 1; }
  echo "$W/$1"
}
declare -A codes
stage() { # name expected-exit args...
  local name=$1 want=$2 t0=$SECONDS rc=0; shift 2
  forrest "$@" >"$W/$name.log" 2>&1 || rc=$?
  codes[$name]="exit $rc (want $want) in $((SECONDS - t0))s"
  say "$name: ${codes[$name]}"
  [ "$rc" = "$want" ] || { say "unexpected exit code; last lines:"; tail -n 15 "$W/$name.log" >&2; return 1; }
}

stage deploy-v1 0 deploy "$(spec v1.yml demo/myapp:1 5 5s)"

# 3. Load: hey with 8 workers, keep-alive off, 40 req/s each, stopped with SIGINT after the last
# stage (it then prints its summary); a curl sampler records which version answers.
hey -z 100s -c 8 -q 40 -t 5 -disable-keepalive "http://127.0.0.1:$LB_PORT/" >"$W/hey.txt" 2>&1 &
echo $! >"$W/hey.pid"
( end=$((SECONDS + 100)); while [ ! -f "$W/stop" ] && [ $SECONDS -lt $end ]; do
    printf '%s %s\n' "$(cat "$W/phase" 2>/dev/null || echo -)" "$(curl -s -m 2 "http://127.0.0.1:$LB_PORT/" || echo ERR)"; sleep 0.05
  done >"$W/bodies.txt" ) &
echo $! >"$W/sampler.pid"
sleep 1

echo v2 >"$W/phase"
( sleep 1.5; kill -USR2 "$HAPROXY_PID" ) &  # a graceful HAProxy reload in the middle of the rollout
stage deploy-v2 0 deploy "$(spec v2.yml demo/myapp:2 5 5s)"
echo after-v2 >"$W/phase"
stage deploy-bad 3 deploy "$(spec bad.yml demo/myapp:bad 5 3s)"
if stage scale-2 0 scale "$APP" 2; then
  stage scale-5 0 scale "$APP" 5
else
  say "forrest scale did not work; scaling through the file instead"
  stage deploy-r2 0 deploy "$(spec v2r2.yml demo/myapp:2 2 5s)"
  stage deploy-r5 0 deploy "$(spec v2r5.yml demo/myapp:2 5 5s)"
fi
sleep 1

# 4. Stop the load and report.
touch "$W/stop"; wait "$(cat "$W/sampler.pid")" 2>/dev/null || true; rm -f "$W/sampler.pid"
kill -INT "$(cat "$W/hey.pid")"; while kill -0 "$(cat "$W/hey.pid")" 2>/dev/null; do sleep 0.1; done; rm -f "$W/hey.pid"

statuses=$(awk '/^Status code distribution:/{f=1;next} /^$/{f=0} f && /\[[0-9]+\]/{gsub(/[\[\]]/,"",$1); print $1" "$2}' "$W/hey.txt")
errors=$(awk '/^Error distribution:/{f=1;next} f && /\[[0-9]+\]/{gsub(/[\[\]]/,"",$1); n+=$1} END{print n+0}' "$W/hey.txt")
ok=$(awk '$1 ~ /^2/ {n+=$2} END{print n+0}' <<<"$statuses")
bad=$(awk '$1 !~ /^2/ {n+=$2} END{print n+0}' <<<"$statuses")
sent=$((ok + bad + errors))
v1=$(grep -c ' v1$' "$W/bodies.txt" || true); v2=$(grep -c ' v2$' "$W/bodies.txt" || true)
late_v1=$(grep -c '^after-v2 v1$' "$W/bodies.txt" || true); other=$(grep -vc ' v[12]$' "$W/bodies.txt" || true)
ups=$(grep -o '"type":"up"[^}]*"msSinceAdded":[0-9]*' "$W/gateway.log" | grep -o '[0-9]*$' | sort -n || true)
n_up=$(wc -l <<<"$ups" | tr -d ' ')

echo
echo "== forrest zero-downtime proof ($RUN_ID) =="
for s in deploy-v1 deploy-v2 deploy-bad scale-2 scale-5 deploy-r2 deploy-r5; do [ -n "${codes[$s]:-}" ] && printf '  %-11s %s\n' "$s" "${codes[$s]}"; done
reloads=$(grep -c '"type":"haproxy-restarted"' "$W/gateway.log" || true)
echo "  HAProxy reloads during the load: $reloads"
echo "  requests through HAProxy (hey, keep-alive off): $sent sent, $ok 2xx, $bad non-2xx, $errors errors"
[ -n "$statuses" ] && sed 's/^/    HTTP /; s/$/ responses/' <<<"$statuses"
echo "  sampled bodies: v1 $v1, v2 $v2, v1 after the v2 deploy $late_v1, other/failed $other"
[ -n "$ups" ] && echo "  gateway added→UP (HAProxy's first check passed), $n_up instances: median $(sed -n "$(((n_up + 1) / 2))p" <<<"$ups") ms, max $(tail -n1 <<<"$ups") ms"

fail=0
[ "$sent" -gt 0 ] || { echo "FAIL: no requests were sent"; fail=1; }
[ "$bad" -eq 0 ] && [ "$errors" -eq 0 ] || { echo "FAIL: $bad non-2xx and $errors failed requests"; grep -A5 '^Error distribution' "$W/hey.txt" || true; fail=1; }
[ "$v1" -gt 0 ] && [ "$v2" -gt 0 ] || { echo "FAIL: did not see both v1 and v2"; fail=1; }
[ "$late_v1" -eq 0 ] && [ "$other" -eq 0 ] || { echo "FAIL: v1 after the v2 deploy, or failed samples"; fail=1; }
[ "$reloads" -ge 1 ] || { echo "FAIL: the gateway did not see the HAProxy reload"; fail=1; }
[ $fail = 0 ] && echo "PASS: zero failed requests" || exit 1
