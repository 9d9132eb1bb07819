# shellcheck shell=bash
# The extra Docker hosts: one dockerd (with its own containerd) per netns forrest-hN, each with
# its own --data-root, --exec-root, pid file, unix socket, /etc/docker (see host_exec), cgroup
# parent /forrest-lab-hN, bridge 172.30.N.1/24, and a mutual-TLS endpoint tcp://10.213.0.1N:2376.

engine_ok() { curl -sf --max-time 2 --unix-socket "$(host_sock "$1")" http://d/_ping >/dev/null 2>&1; }
dockerd_pid() { pidfile_pid "$(host_dir "$1")/run/docker.pid"; }

# Registry trust of host N's engine (its private certs.d). Written on every up: a test that takes
# it away to make a host distrust the registry cannot leave the lab broken.
host_trust() {
  local d; d=$(host_dir "$1")/etc-docker/certs.d/$LAB_REG
  mkdir -p "$d"; cmp -s "$PKI/ca.pem" "$d/ca.crt" || cp "$PKI/ca.pem" "$d/ca.crt"
}

host_up() {
  local n=$1 H ip pid i
  H=$(host_dir "$n"); ip=$(host_ip "$n")
  mkdir -p "$H/run" "$H/exec" "$H/data" "$H/etc-docker" "$H/root-docker"
  host_trust "$n"
  pid=$(dockerd_pid "$n")
  if pid_is_lab "$pid" && engine_ok "$n"; then return 0; fi
  if pid_is_lab "$pid"; then log "h$n: dockerd $pid does not answer: restarting"; stop_pid "$pid" 20; fi
  # a dead dockerd leaves its pid file and refuses to start while /proc/<pid> exists (slow reaping)
  rm -f "$H/run/docker.pid" "$H/run/docker.sock"
  [ -s "$H/etc-docker/daemon.json" ] || echo '{}' >"$H/etc-docker/daemon.json"
  [ -d /etc/docker ] || { mkdir -p /etc/docker; touch "$LAB_STATE/created-etc-docker"; }
  (
    host_exec "$n" dockerd \
      --config-file "$H/etc-docker/daemon.json" \
      --data-root "$H/data" --exec-root "$H/exec" --pidfile "$H/run/docker.pid" \
      -H "unix://$H/run/docker.sock" -H "tcp://$ip:$LAB_TLS_PORT" \
      --tlsverify --tlscacert "$PKI/ca.pem" --tlscert "$PKI/docker-h$n.pem" --tlskey "$PKI/docker-h$n-key.pem" \
      --storage-driver overlay2 --bip "172.30.$n.1/24" --cgroup-parent "/forrest-lab-h$n" \
      --label "forrest-lab.host=h$n"
  ) </dev/null >>"$H/dockerd.log" 2>&1 &
  for ((i = 0; i < 600; i++)); do
    engine_ok "$n" && break
    kill -0 $! 2>/dev/null || { tail -20 "$H/dockerd.log" >&2; die "h$n: dockerd exited"; }
    sleep 0.1
  done
  engine_ok "$n" || { tail -20 "$H/dockerd.log" >&2; die "h$n: dockerd not ready after 60s"; }
  log "h$n: dockerd up (tcp://$ip:$LAB_TLS_PORT)"
}

host_down() {
  local n=$1 H d ids
  H=$(host_dir "$n")
  if engine_ok "$n"; then
    ids=$(hdocker "$n" ps -aq 2>/dev/null || true)   # every container on a lab engine is the lab's
    [ -z "$ids" ] || hdocker "$n" rm -f $ids >/dev/null 2>&1 || true
  fi
  stop_pid "$(dockerd_pid "$n")" 30
  kill_netns_pids "$(host_ns "$n")"   # containerd, shims
  # container processes have their own netns but live in cgroup /forrest-lab-hN
  for d in /sys/fs/cgroup/*/"forrest-lab-h$n"; do
    [ -d "$d" ] || continue
    { find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true; } | sort -u | while read -r p; do kill -KILL "$p" 2>/dev/null || true; done
  done
  sleep 0.2
  for d in /sys/fs/cgroup/*/"forrest-lab-h$n"; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  { grep -F " $H/" /proc/self/mountinfo || true; } | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf "$H"
}
