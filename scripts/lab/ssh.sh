# shellcheck shell=bash
# sshd inside host N's view (so /run/docker.sock there is host N's engine, and `docker system
# dial-stdio`, which docker CLI and dockerode run over ssh, reaches it), root by key only.
# Client side, nothing written to ~/.ssh: $LAB_DIR/ssh/{id_ed25519,known_hosts,config} and a
# wrapper $LAB_DIR/bin/ssh (the docker CLI execs `ssh` from PATH).

SSH_DIR=$LAB_DIR/ssh
sshd_ok() { timeout 3 bash -c "exec 3<>/dev/tcp/$(host_ip "$1")/22 && head -c 4 <&3" 2>/dev/null | grep -q SSH; }

ssh_client_up() {
  local n names=
  mkdir -p "$SSH_DIR" "$LAB_DIR/bin"; chmod 700 "$SSH_DIR"
  [ -s "$SSH_DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C forrest-lab-client -f "$SSH_DIR/id_ed25519"
  cp "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
  for n in $LAB_SSH_HOSTS; do names+=" $(host_ip "$n") forrest-lab-h$n"; done
  {
    for n in $LAB_SSH_HOSTS; do printf 'Host forrest-lab-h%s\n  HostName %s\n' "$n" "$(host_ip "$n")"; done
    printf 'Host%s\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n' "$names" "$SSH_DIR/id_ed25519"
    printf '  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n' "$SSH_DIR/known_hosts"
  } >"$SSH_DIR/config"
  printf '#!/bin/sh\n# forrest lab: ssh with the lab hosts'"'"' key and known_hosts, ~/.ssh untouched\nexec /usr/bin/ssh -F %s "$@"\n' "$SSH_DIR/config" >"$LAB_DIR/bin/ssh"
  chmod 755 "$LAB_DIR/bin/ssh"
}

sshd_up() {
  local n=$1 H ip pid
  H=$(host_dir "$n"); ip=$(host_ip "$n")
  pid=$(pidfile_pid "$H/run/sshd.pid")
  if ! { pid_is_lab "$pid" && sshd_ok "$n"; }; then
    stop_pid "$pid" 5
    mkdir -p "$H/ssh"
    [ -s "$H/ssh/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C "forrest-lab-h$n" -f "$H/ssh/host_key"
    cat >"$H/ssh/sshd_config" <<EOC
ListenAddress $ip
HostKey $H/ssh/host_key
PidFile $H/run/sshd.pid.inner
AuthorizedKeysFile $SSH_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# keys live under /tmp (mode 1777): StrictModes would refuse them
StrictModes no
# dockerode opens one ssh connection per API call; the default 10:30:100 drops concurrent ones
MaxStartups 100:30:200
MaxSessions 100
SetEnv DOCKER_CONFIG=$H/root-docker
EOC
    ( host_exec "$n" /usr/sbin/sshd -t -f "$H/ssh/sshd_config" ) || die "h$n: bad sshd_config"
    ( host_exec "$n" /usr/sbin/sshd -D -e -f "$H/ssh/sshd_config" ) </dev/null >>"$H/sshd.log" 2>&1 &
    echo $! >"$H/run/sshd.pid"
    wait_for 10 "h$n sshd" sshd_ok "$n"
    log "h$n: sshd up ($ip:22)"
  fi
  # known_hosts: always from the host keys as they are now
  echo "$ip,forrest-lab-h$n $(cut -d' ' -f1,2 "$H/ssh/host_key.pub")" >"$SSH_DIR/known_hosts.h$n"
}

ssh_up() {
  local n
  ssh_client_up
  for n in $LAB_SSH_HOSTS; do sshd_up "$n"; done
  cat "$SSH_DIR"/known_hosts.h* >"$SSH_DIR/known_hosts"
}

ssh_down() {
  local n
  for n in $LAB_SSH_HOSTS; do stop_pid "$(pidfile_pid "$(host_dir "$n")/run/sshd.pid")" 5; done
  rm -rf "$SSH_DIR" "$LAB_DIR/bin/ssh"
}
