# shellcheck shell=bash
# forrest's production-topology lab: settings and helpers, sourced by every scripts/lab/ script.
#
#  root ns -- flab0 10.213.0.1/24 --+   registry https://10.213.0.1:5443 (TLS + htpasswd)
#                                   |   default dockerd (untouched; trusts the registry)
#  netns forrest-sw: bridge br0 ----+-- eth0 10.213.0.11  netns forrest-h1: dockerd tcp :2376 (mutual TLS)
#                                   +-- eth0 10.213.0.12  netns forrest-h2: dockerd tcp :2376 (mutual TLS), sshd :22
#
# Everything lives under $LAB_DIR except: the network namespaces and the flab0 veth, the default
# engine's trust of the registry (/etc/docker/certs.d/10.213.0.1:5443/ca.crt), cgroups /forrest-lab-hN,
# the registry tags pushed from the default engine, and the Debian packages up.sh installs.
# down.sh removes all of it but the packages. Adapted from the team's verified lab recipe.
set -euo pipefail
umask 022

LAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${LAB_DIR:-/tmp/forrest-lab}        # short: unix socket paths are limited to 107 bytes
LAB_STATE=${LAB_STATE:-/tmp/forrest-lab.state}   # records of what was changed outside $LAB_DIR
case "$LAB_DIR/" in /tmp/?*/) ;; *) echo "LAB_DIR must be under /tmp (got $LAB_DIR)" >&2; exit 2 ;; esac

LAB_NET=10.213.0
LAB_GW=$LAB_NET.1
LAB_HOSTS="1 2"          # h1 -> .11, h2 -> .12
LAB_SSH_HOSTS="2"        # h2 is also reached over ssh
LAB_SW_NS=forrest-sw
LAB_ROOT_IF=flab0
LAB_TLS_PORT=2376
LAB_REG=$LAB_GW:5443
LAB_REG_USER=lab
PKI=$LAB_DIR/pki
SECRETS=$LAB_DIR/secrets
CLIENT_DOCKER=$LAB_DIR/client/docker     # the lab's own docker CLI config (login), never ~/.docker

host_ns() { echo "forrest-h$1"; }
host_ip() { echo "$LAB_NET.$((10 + $1))"; }
host_dir() { echo "$LAB_DIR/h$1"; }
host_sock() { echo "$LAB_DIR/h$1/run/docker.sock"; }

log() { printf '[lab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root"; }
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

# Only ever signal a pid whose command line mentions $LAB_DIR/ (it is then the lab's).
pid_is_lab() { [ -n "${1:-}" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$LAB_DIR/"; }
pidfile_pid() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }
stop_pid() { # pid [seconds]: TERM, wait, KILL
  local p=${1:-} t=${2:-15} i
  pid_is_lab "$p" || return 0
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do pid_is_lab "$p" || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
kill_netns_pids() { # every process in a lab netns is the lab's
  local ns=$1 p
  ns_exists "$ns" || return 0
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
}
wait_for() { # seconds description command...
  local t=$1 what=$2 i; shift 2
  for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "timed out after ${t}s waiting for $what"
}

# docker CLI against lab host N (its unix socket) / the default engine, with the lab's client config
hdocker() { local n=$1; shift; DOCKER_CONFIG=$CLIENT_DOCKER docker -H "unix://$(host_sock "$n")" "$@"; }
ddocker() { DOCKER_CONFIG=$CLIENT_DOCKER docker -H unix:///var/run/docker.sock "$@"; }

secret() { # name -> the secret, made on first use
  local f=$SECRETS/$1
  if [ ! -s "$f" ]; then
    mkdir -p "$SECRETS"; chmod 700 "$SECRETS"
    (umask 077; head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 >"$f")
  fi
  cat "$f"
}

# Runs a command "on lab host N" (execs: call it in a subshell). A private mount namespace that
# looks like that host: its netns and a fresh sysfs for it, with the cgroup tree re-bound (ip netns
# exec drops /sys/fs/cgroup, and dockerd then fails "Devices cgroup isn't mounted"); a private tmpfs
# /run whose docker.sock is this host's engine (so `docker system dial-stdio` over ssh reaches it,
# and nothing here touches the default engine's /run); a private /etc/docker (own key.json = own
# engine ID, own certs.d = registry trust of this daemon only); hostname forrest-lab-hN.
host_exec() {
  local n=$1; shift
  # setsid: a daemon of the lab outlives the process group that started it (a test that restarts
  # an engine, a shell job that ends); without it, killing that group SIGKILLed h1's dockerd.
  exec setsid unshare --mount --uts --propagation slave -- \
    nsenter --net="/run/netns/$(host_ns "$n")" -- \
    /bin/sh -ec '
      H=$1; N=$2; shift 2
      hostname "forrest-lab-h$N"
      cg=$H/.cg.$$
      mkdir -p "$cg"
      mount -n --rbind /sys/fs/cgroup "$cg"
      umount -n -l /sys
      mount -n -t sysfs -o nosuid,nodev,noexec sysfs /sys
      mount -n --rbind "$cg" /sys/fs/cgroup
      umount -n -l "$cg"; rmdir "$cg"
      mount -n -t tmpfs -o mode=755,size=64m lab-run /run
      mkdir -p /run/sshd /run/lock
      ln -s "$H/run/docker.sock" /run/docker.sock
      mount --bind "$H/etc-docker" /etc/docker
      exec "$@"
    ' lab-host "$(host_dir "$n")" "$n" "$@"
}
