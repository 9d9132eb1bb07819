# shellcheck shell=bash
# The lab LAN: a "switch" netns (forrest-sw, bridge br0) with veths to the root ns (flab0,
# 10.213.0.1) and to each host's netns (eth0, 10.213.0.1N, default route via 10.213.0.1).
# Why a switch netns: the default dockerd set the root FORWARD policy to DROP with
# bridge-nf-call-iptables=1, so h1<->h2 frames bridged in the root ns would be dropped (and the
# root firewall is not ours to change). root<->hN is INPUT/OUTPUT in the root ns, never FORWARD.

net_up() {
  local n ns owner
  # another lab (e.g. one whose root-side interface is lab0) on the same addresses would make everything ambiguous
  owner=$(ip -o -4 addr show | awk -v a="$LAB_GW/" 'index($4, a) == 1 {print $2}' | head -1)
  [ -z "$owner" ] || [ "$owner" = "$LAB_ROOT_IF" ] || die "$LAB_GW is already on interface $owner (another lab on these addresses?): bring that down first"
  [ -d /run/netns ] || touch "$LAB_STATE/created-run-netns"
  if ! ns_exists "$LAB_SW_NS"; then
    ip netns add "$LAB_SW_NS"
    ip -n "$LAB_SW_NS" link set lo up
    ip -n "$LAB_SW_NS" link add br0 type bridge
    ip -n "$LAB_SW_NS" link set br0 up
    # bridged frames in this netns skip iptables (per-netns sysctl since Linux 5.3)
    ip netns exec "$LAB_SW_NS" sh -c 'for f in /proc/sys/net/bridge/bridge-nf-call-ip*tables; do [ -w "$f" ] && echo 0 >"$f"; done; true'
  fi
  ip link show "$LAB_ROOT_IF" >/dev/null 2>&1 || ip link add "$LAB_ROOT_IF" type veth peer name p-root netns "$LAB_SW_NS"
  ip -n "$LAB_SW_NS" link set p-root master br0 up
  ip addr replace "$LAB_GW/24" dev "$LAB_ROOT_IF"
  ip link set "$LAB_ROOT_IF" up
  for n in $LAB_HOSTS; do
    ns=$(host_ns "$n")
    ns_exists "$ns" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link show eth0 >/dev/null 2>&1 || ip link add eth0 netns "$ns" type veth peer name "p-h$n" netns "$LAB_SW_NS"
    ip -n "$LAB_SW_NS" link set "p-h$n" master br0 up
    ip -n "$ns" addr replace "$(host_ip "$n")/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route replace default via "$LAB_GW"
  done
  for n in $LAB_HOSTS; do wait_for 10 "ping $(host_ip "$n")" busybox ping -c1 -W1 "$(host_ip "$n")"; done
}

net_down() {
  local n ns
  for n in $LAB_HOSTS; do
    ns=$(host_ns "$n")
    ns_exists "$ns" || continue
    kill_netns_pids "$ns"
    ip netns del "$ns"
  done
  if ns_exists "$LAB_SW_NS"; then kill_netns_pids "$LAB_SW_NS"; ip netns del "$LAB_SW_NS"; fi
  if ip link show "$LAB_ROOT_IF" >/dev/null 2>&1; then ip link del "$LAB_ROOT_IF"; fi
  if [ -e "$LAB_STATE/created-run-netns" ] && [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
    umount -n /run/netns 2>/dev/null || true; rmdir /run/netns 2>/dev/null || true
  fi
  rm -f "$LAB_STATE/created-run-netns"
}
