#!/usr/bin/env bash
# Removes everything scripts/lab/up.sh made (processes, network namespaces, cgroups, the default
# engine's registry trust and the tags it pushed, $LAB_DIR) except the Debian packages it installed.
# Never touches the default dockerd's own containers or images. Safe to run twice.
source "$(dirname "$0")/lib.sh"
for f in net hosts ssh registry; do source "$LAB_HOME/$f.sh"; done
need_root
t0=$(now)
mkdir -p "$LAB_STATE"
registry_down
ssh_down
for n in $LAB_HOSTS; do host_down "$n"; done
net_down
if [ -d "$LAB_DIR" ] && grep -qF " $LAB_DIR/" /proc/self/mountinfo; then
  grep -F " $LAB_DIR/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m" || true; done
fi
if [ -e "$LAB_STATE/created-etc-docker" ]; then rmdir /etc/docker 2>/dev/null || true; fi
rm -rf "$LAB_DIR" "$LAB_STATE"
log "lab down in $(since "$t0")s"
