# shellcheck shell=bash
# The private registry: Debian's docker-registry (CNCF distribution 2.8) in the root ns on
# https://10.213.0.1:5443, TLS cert from the lab CA, htpasswd (bcrypt) basic auth, deletes enabled
# (tests remove their own repositories), data in $LAB_DIR/registry. The default engine trusts it
# via /etc/docker/certs.d/10.213.0.1:5443/ca.crt; the lab engines via their private certs.d.
# Pushed from the default engine: demo/myapp:1, :2 and demo/big:1 (busybox + 50 MB of random data).

REG_DIR=$LAB_DIR/registry
SYS_CERTS=/etc/docker/certs.d/$LAB_REG
BIG_MB=${LAB_BIG_MB:-50}

reg_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$PKI/ca.pem" "https://$LAB_REG/v2/")" = 401 ]; }
reg_has() { # repo tag
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$PKI/ca.pem" -u "$LAB_REG_USER:$(secret registry)" -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "https://$LAB_REG/v2/$1/manifests/$2")" = 200 ]
}

registry_up() {
  local pid
  command -v docker-registry >/dev/null || die "docker-registry missing (apt-get install docker-registry)"
  mkdir -p "$REG_DIR/data"
  [ -s "$REG_DIR/htpasswd" ] || htpasswd -Bbn "$LAB_REG_USER" "$(secret registry)" >"$REG_DIR/htpasswd"
  cat >"$REG_DIR/config.yml" <<EOC
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $REG_DIR/data}
  delete: {enabled: true}
http:
  addr: $LAB_REG
  secret: $(secret registry-http)
  tls: {certificate: $PKI/registry.pem, key: $PKI/registry-key.pem}
auth:
  htpasswd: {realm: forrest-lab-registry, path: $REG_DIR/htpasswd}
EOC
  pid=$(pidfile_pid "$REG_DIR/registry.pid")
  if ! { pid_is_lab "$pid" && reg_ok; }; then
    stop_pid "$pid" 5
    setsid docker-registry serve "$REG_DIR/config.yml" </dev/null >>"$REG_DIR/registry.log" 2>&1 &
    echo $! >"$REG_DIR/registry.pid"
    wait_for 15 "registry https://$LAB_REG/v2/" reg_ok
    log "registry up (https://$LAB_REG, user $LAB_REG_USER)"
  fi
  if ! cmp -s "$PKI/ca.pem" "$SYS_CERTS/ca.crt"; then
    [ -d /etc/docker/certs.d ] || { mkdir -p /etc/docker/certs.d; touch "$LAB_STATE/created-certs.d"; }
    mkdir -p "$SYS_CERTS"; cp "$PKI/ca.pem" "$SYS_CERTS/ca.crt"
  fi
  registry_push
}

build_big() { # demo/big:1 on the default engine: busybox + $BIG_MB MB of random data (incompressible)
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/data"
  cp /bin/busybox "$root/bin/busybox"; ln -s busybox "$root/bin/sh"; ln -s busybox "$root/bin/sleep"
  head -c "$((BIG_MB * 1024 * 1024))" /dev/urandom >"$root/data/blob"
  tar -C "$root" -c . | ddocker import -c 'CMD ["/bin/sleep","3600"]' - "$LAB_REG/demo/big:1" >/dev/null
  rm -rf "$root"
}

registry_push() {
  local img todo=() out
  for img in demo/myapp:1 demo/myapp:2 demo/big:1; do reg_has "${img%:*}" "${img##*:}" || todo+=("$img"); done
  [ ${#todo[@]} -gt 0 ] || return 0
  ddocker info >/dev/null 2>&1 || die "the default engine (/var/run/docker.sock) does not answer: nothing pushed (scripts/dev-stack.sh up starts it)"
  ddocker image inspect demo/myapp:1 demo/myapp:2 >/dev/null 2>&1 || "$LAB_HOME/../build-images.sh" >&2
  out=$(secret registry | ddocker login "$LAB_REG" -u "$LAB_REG_USER" --password-stdin 2>&1) || die "docker login $LAB_REG: $out"
  for img in "${todo[@]}"; do
    if [ "$img" = demo/big:1 ]; then
      ddocker image inspect "$LAB_REG/$img" >/dev/null 2>&1 || build_big
    else
      ddocker tag "$img" "$LAB_REG/$img"
    fi
    echo "$LAB_REG/$img" >>"$LAB_STATE/default-engine-tags"
    ddocker push -q "$LAB_REG/$img" >/dev/null
  done
  log "pushed ${todo[*]} to $LAB_REG"
}

registry_down() {
  local t
  stop_pid "$(pidfile_pid "$REG_DIR/registry.pid")" 10
  if [ -s "$LAB_STATE/default-engine-tags" ]; then
    for t in $(sort -u "$LAB_STATE/default-engine-tags"); do ddocker rmi "$t" >/dev/null 2>&1 || true; done
    rm -f "$LAB_STATE/default-engine-tags"
  fi
  rm -rf "$SYS_CERTS"
  if [ -e "$LAB_STATE/created-certs.d" ]; then rmdir /etc/docker/certs.d 2>/dev/null || true; rm -f "$LAB_STATE/created-certs.d"; fi
  rm -rf "$REG_DIR"
}
