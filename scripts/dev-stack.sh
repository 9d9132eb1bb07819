#!/usr/bin/env bash
# Brings up a local forrest stack, idempotently: Docker engine, etcd on 127.0.0.1:2379,
# HAProxy fed by `forrest gateway`, and the demo images. With --deploy it then deploys
# deployments/myapp.yml. `scripts/dev-stack.sh down` stops what this script started.
#
#   scripts/dev-stack.sh [up] [--deploy]     bring the stack up (and deploy the demo app)
#   scripts/dev-stack.sh down                stop etcd, HAProxy and the gateway it started
#
# Environment: STACK_DIR (state, logs, etcd data; default ./.stack), ETCD_PORT (2379),
# LB_PORT (HAProxy frontend, 8080 on 127.0.0.1), NO_GATEWAY=1 to skip HAProxy + gateway,
# NO_LAB=1 to skip the lab (scripts/lab/: two more Docker hosts and a registry, for the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
STACK_DIR=${STACK_DIR:-$PWD/.stack}
ETCD_PORT=${ETCD_PORT:-2379}
LB_PORT=${LB_PORT:-8080}
mkdir -p "$STACK_DIR"
say() { echo "dev-stack: $*"; }

cmd=up; deploy=0
for a in "$@"; do case $a in up|down) cmd=$a ;; --deploy) deploy=1 ;; *) echo "usage: $0 [up|down] [--deploy]" >&2; exit 2 ;; esac; done

alive() { [ -f "$STACK_DIR/$1.pid" ] && kill -0 "$(cat "$STACK_DIR/$1.pid")" 2>/dev/null; }
stop_one() {
  if alive "$1"; then kill "$(cat "$STACK_DIR/$1.pid")" && say "stopped $1"; fi
  rm -f "$STACK_DIR/$1.pid"
}
wait_for() { # what, deadline seconds, command...
  local what=$1 secs=$2; shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || { say "$what did not come up in ${secs}s"; return 1; }
    sleep 0.2
  done
}

if [ "$cmd" = down ]; then
  [ "${NO_LAB:-0}" = 1 ] || scripts/lab/down.sh || true
  stop_one gateway; stop_one haproxy; stop_one etcd; stop_one dockerd
  exit 0
fi

# 1. Packages (Debian). Only what is missing; apt-get update once, only if needed.
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v haproxy >/dev/null || need+=(haproxy)
command -v curl >/dev/null || need+=(curl)
command -v hey >/dev/null || need+=(hey)
command -v promtool >/dev/null || need+=(prometheus)   # promtool check metrics (gateway metrics test)
command -v socat >/dev/null || need+=(socat)             # certbot deploy hook (examples/certbot)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
# zsh: test/unit/completion.test.ts loads the generated zsh completion under compinit.
command -v zsh >/dev/null || need+=(zsh)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. Docker engine: use the one that answers, else start dockerd.
if docker info >/dev/null 2>&1; then
  say "Docker engine answers ($(docker info --format '{{.ServerVersion}}'))"
else
  say "starting dockerd (log: $STACK_DIR/dockerd.log)"
  setsid nohup dockerd >"$STACK_DIR/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$STACK_DIR/dockerd.pid"
  wait_for dockerd 60 docker info
fi

# 3. etcd on 127.0.0.1:$ETCD_PORT with its data under the stack dir. etcd keeps every past
# version of every key until compacted, and the default is never: each deploy added ~5.7 KiB of
# history that nothing removed (#18). Every 5 minutes, drop all but the last 1,000 revisions
# (a gateway that reconnects later than that re-reads the prefix; see the README, "production
# etcd"). The freed space is reused, the file does not shrink (that is `etcdctl defrag`), and
# writes stop at the backend quota (2 GiB by default) until history is compacted and defragged.
if curl -fsS -m 1 "http://127.0.0.1:$ETCD_PORT/health" >/dev/null 2>&1; then
  say "etcd answers on 127.0.0.1:$ETCD_PORT"
else
  say "starting etcd on 127.0.0.1:$ETCD_PORT (data: $STACK_DIR/etcd)"
  setsid nohup etcd --name forrest-dev --data-dir "$STACK_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "forrest-dev=http://127.0.0.1:$((ETCD_PORT + 1))" \
    --auto-compaction-mode=revision --auto-compaction-retention=1000 \
    >"$STACK_DIR/etcd.log" 2>&1 < /dev/null &
  echo $! > "$STACK_DIR/etcd.pid"
  wait_for etcd 30 curl -fsS -m 1 "http://127.0.0.1:$ETCD_PORT/health"
fi

# 4. Demo images (docker import of a static busybox; no registry needed).
scripts/build-images.sh
say "images: $(docker images demo/myapp --format '{{.Repository}}:{{.Tag}}' | sort | tr '\n' ' ')"

# 5. forrest itself (node_modules + build), so bin/run.js works.
[ -d node_modules ] || { say "npm ci"; npm ci --no-audit --no-fund >/dev/null; }
[ -f dist/commands/index.js ] && [ -z "$(find src -newer dist/commands/index.js -name '*.ts' | head -1)" ] || { say "building forrest"; npm run -s build; }
export ETCD_HOST=127.0.0.1:$ETCD_PORT FORREST_IP=${FORREST_IP:-127.0.0.1}

# 6. The production-topology lab the tests use (two more Docker hosts over TLS and ssh, a
#    registry with TLS + htpasswd): scripts/lab/up.sh, idempotent. NO_LAB=1 skips it.
[ "${NO_LAB:-0}" = 1 ] || scripts/lab/up.sh

# 7. HAProxy on 127.0.0.1:$LB_PORT, kept in step with etcd by `forrest gateway`.
if [ "${NO_GATEWAY:-0}" != 1 ] && node bin/run.js gateway --help >/dev/null 2>&1; then
  if ! alive haproxy; then
    node bin/run.js gateway --init-config "$STACK_DIR/haproxy.cfg" --force --listen "127.0.0.1:$LB_PORT" --socket "$STACK_DIR/haproxy.sock" >/dev/null
    say "starting haproxy on 127.0.0.1:$LB_PORT (config: $STACK_DIR/haproxy.cfg)"
    setsid nohup haproxy -db -f "$STACK_DIR/haproxy.cfg" >"$STACK_DIR/haproxy.log" 2>&1 < /dev/null &
    echo $! > "$STACK_DIR/haproxy.pid"
    wait_for haproxy 15 test -S "$STACK_DIR/haproxy.sock"
  fi
  if ! alive gateway; then
    say "starting forrest gateway (log: $STACK_DIR/gateway.log)"
    setsid nohup node bin/run.js gateway --socket "$STACK_DIR/haproxy.sock" --servers-file "$STACK_DIR/haproxy.cfg" >"$STACK_DIR/gateway.log" 2>&1 < /dev/null &
    echo $! > "$STACK_DIR/gateway.pid"
  fi
fi

say "up. ETCD_HOST=$ETCD_HOST FORREST_IP=$FORREST_IP; stop with: scripts/dev-stack.sh down"
if [ $deploy = 1 ]; then
  node bin/run.js deploy deployments/myapp.yml
  if alive haproxy; then
    wait_for "the app behind HAProxy" 30 curl -fsS -m 1 "http://127.0.0.1:$LB_PORT/"
    say "http://127.0.0.1:$LB_PORT/ answers: $(curl -fsS -m 1 "http://127.0.0.1:$LB_PORT/")"
  fi
fi
