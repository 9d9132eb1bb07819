#!/usr/bin/env bash
# Brings forrest's production-topology lab up, idempotently: what runs is left alone, what is
# down (or died) is started. Needs root on Debian 12 and the default dockerd (scripts/dev-stack.sh up).
#   packages (only missing ones) -> PKI -> network -> dockerd h1, h2 -> sshd h2 -> registry (+ pushes) -> lab.env
# Then `source /tmp/forrest-lab/lab.env` (the tests read it: test/helpers/lab.ts).
# Usage: scripts/lab/up.sh [--verify]
source "$(dirname "$0")/lib.sh"
for f in pki net hosts ssh registry; do source "$LAB_HOME/$f.sh"; done
need_root
verify=0
case "${1:-}" in --verify) verify=1 ;; '') ;; *) echo "usage: $0 [--verify]" >&2; exit 2 ;; esac

PKGS="iproute2 util-linux openssl curl iptables docker.io busybox-static openssh-server openssh-client docker-registry apache2-utils"

install_packages() {
  local missing made_policy=0
  missing=$({ dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null || true; } | awk '$4 == "installed" {print $1}' | sort | comm -13 - <(tr ' ' '\n' <<<"$PKGS" | sort) | tr '\n' ' ')
  [ -n "${missing// /}" ] || return 0
  log "installing: $missing"
  # openssh-server, docker-registry would start services in the root namespace: a temporary
  # policy-rc.d (exit 101) keeps every postinst from starting anything
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# temporary, from forrest scripts/lab/up.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  # shellcheck disable=SC2064
  trap "[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d" EXIT
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ] || ! apt-cache show $missing >/dev/null 2>&1; then
    apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >"$LAB_STATE/apt-install.log" 2>&1 \
    || { tail -20 "$LAB_STATE/apt-install.log" >&2; die "apt-get install failed"; }
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  trap - EXIT
}

write_env() {
  local f=$LAB_DIR/lab.env
  {
    echo "# forrest lab, written by scripts/lab/up.sh. Read by test/helpers/lab.ts; in a shell: source $f"
    echo "# No DOCKER_HOST here on purpose: docker-modem lets DOCKER_HOST override explicit options."
    echo "export FORREST_LAB_DIR=$LAB_DIR"
    echo "export FORREST_LAB_H1_TLS=tcp://$(host_ip 1):$LAB_TLS_PORT"
    echo "export FORREST_LAB_H2_TLS=tcp://$(host_ip 2):$LAB_TLS_PORT"
    echo "export FORREST_LAB_H2_SSH=ssh://root@$(host_ip 2):22"
    echo "# each lab engine's trust of the registry (remove it to make that engine distrust the registry; up.sh puts it back)"
    echo "export FORREST_LAB_H1_TRUST=$(host_dir 1)/etc-docker/certs.d/$LAB_REG/ca.crt"
    echo "export FORREST_LAB_H2_TRUST=$(host_dir 2)/etc-docker/certs.d/$LAB_REG/ca.crt"
    echo "# DOCKER_CERT_PATH layout (ca.pem, cert.pem, key.pem): docker --tlsverify -H \$FORREST_LAB_H1_TLS ps"
    echo "export FORREST_LAB_CERT_PATH=$PKI/client"
    echo "export FORREST_LAB_CA=$PKI/ca.pem"
    echo "export FORREST_LAB_SSH_KEY=$SSH_DIR/id_ed25519"
    echo "export FORREST_LAB_SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts"
    echo "export FORREST_LAB_SSH_CONFIG=$SSH_DIR/config"
    echo "# holds an ssh wrapper using the lab's ssh config: PATH=\$FORREST_LAB_BIN:\$PATH docker -H \$FORREST_LAB_H2_SSH ps"
    echo "export FORREST_LAB_BIN=$LAB_DIR/bin"
    echo "export FORREST_LAB_REGISTRY=$LAB_REG"
    echo "export FORREST_LAB_REGISTRY_USER=$LAB_REG_USER"
    echo "export FORREST_LAB_REGISTRY_PASSWORD_FILE=$SECRETS/registry"
    echo "# a docker CLI config logged in to the registry: DOCKER_CONFIG=\$FORREST_LAB_DOCKER_CONFIG docker push ..."
    echo "export FORREST_LAB_DOCKER_CONFIG=$CLIENT_DOCKER"
    echo "export FORREST_LAB_BIG_IMAGE=$LAB_REG/demo/big:1"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

login() { # the lab's docker CLI config, logged in to the registry (tests push with it)
  grep -qF "\"$LAB_REG\"" "$CLIENT_DOCKER/config.json" 2>/dev/null && return 0
  local out; out=$(secret registry | ddocker login "$LAB_REG" -u "$LAB_REG_USER" --password-stdin 2>&1) || die "docker login $LAB_REG: $out"
}

verify() {
  log "verify: docker over mutual TLS to h1, over ssh to h2, a pull from the registry on h1"
  DOCKER_HOST= DOCKER_CERT_PATH=$PKI/client docker --tlsverify -H "tcp://$(host_ip 1):$LAB_TLS_PORT" ps
  DOCKER_HOST= PATH=$LAB_DIR/bin:$PATH docker -H "ssh://root@$(host_ip 2)" ps
  DOCKER_HOST= DOCKER_CONFIG=$CLIENT_DOCKER DOCKER_CERT_PATH=$PKI/client docker --tlsverify -H "tcp://$(host_ip 1):$LAB_TLS_PORT" pull -q "$LAB_REG/demo/myapp:1"
  DOCKER_CERT_PATH=$PKI/client docker --tlsverify -H "tcp://$(host_ip 1):$LAB_TLS_PORT" rmi -f "$LAB_REG/demo/myapp:1" >/dev/null
}

t0=$(now)
mkdir -p "$LAB_DIR" "$LAB_STATE" "$CLIENT_DOCKER"
step() { local ts; ts=$(now); "$@"; timings+="$1 $(since "$ts")s, "; }
timings=
step install_packages
step pki_up
step net_up
hosts_up() { # in parallel
  local n p pids=() rc=0
  for n in $LAB_HOSTS; do host_up "$n" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  [ $rc = 0 ] || die "a lab dockerd did not start"
}
step hosts_up
step ssh_up
step registry_up
step login
write_env
log "lab up in $(since "$t0")s (${timings%, }); env: $LAB_DIR/lab.env; stop: scripts/lab/down.sh"
[ $verify = 0 ] || verify
