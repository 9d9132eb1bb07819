#!/usr/bin/env bash
# Builds the demo images with `docker import` of a static busybox (there is no registry to pull
# from): demo/myapp:1 and :2 serve "v1" / "v2" on 8080 with busybox httpd; demo/myapp:bad
# never listens; demo/myapp:noroot answers only /healthz (404 on /, so a load balancer checking /
# rejects it while a probe of /healthz passes). For canaries, images that misbehave only under
# traffic on /cgi-bin/app while / (the health checks') stays fine: demo/myapp:cgi answers it
# well (with $RELEASE), demo/myapp:flaky answers 500 to 30% of requests, demo/myapp:slow after
# 0.5 s, demo/myapp:drop closes about half its connections without a byte (its CGI kills the
# httpd process serving the connection: HAProxy sees an empty response). Idempotent: builds only missing images (a rebuilt tag gets a new image ID, which other
# tests would see as a new revision); FORCE=1 rebuilds all.
set -euo pipefail
ALL="demo/myapp:1 demo/myapp:2 demo/myapp:bad demo/myapp:noroot demo/myapp:cgi demo/myapp:flaky demo/myapp:slow demo/myapp:drop"
if [ "${FORCE:-0}" != 1 ] && docker image inspect $ALL >/dev/null 2>&1; then
  exit 0
fi
# Build a tag only if it is missing (or FORCE=1).
missing() { [ "${FORCE:-0}" = 1 ] || ! docker image inspect "$1" >/dev/null 2>&1; }
bb=/bin/busybox
[ -x "$bb" ] && ! ldd "$bb" >/dev/null 2>&1 || bb=/usr/bin/busybox
if ldd "$bb" >/dev/null 2>&1; then
  echo "build-images: $bb is not statically linked: apt-get install busybox-static" >&2; exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/www" "$root/tmp"
cp "$bb" "$root/bin/busybox"
for a in sh httpd wget sleep echo cat printf kill; do ln -sf busybox "$root/bin/$a"; done
HTTPD='["/bin/httpd","-f","-p","8080","-h","/www"]'
build() { # tag content cmd-json [docker import -c change...]
  local tag=$1 content=$2 cmd=$3
  shift 3
  missing "$tag" || return 0
  rm -rf "$root/www/"*
  echo "$content" > "$root/www/index.html"
  if [ "$tag" != "${tag%:cgi}" ] || [ "$tag" != "${tag%:flaky}" ] || [ "$tag" != "${tag%:slow}" ] || [ "$tag" != "${tag%:drop}" ]; then cgi_app; fi
  tar -C "$root" -c . | docker import -c 'EXPOSE 8080' "$@" -c "CMD $cmd" - "$tag" >/dev/null
  echo "built $tag"
}
# busybox httpd runs /cgi-bin/* as CGI; the container's env reaches the script.
cgi_app() {
  mkdir -p "$root/www/cgi-bin"
  cat > "$root/www/cgi-bin/app" <<'CGI'
#!/bin/sh
# Misbehaves only under traffic: FAIL_PERCENT of requests get a 500 (by the CGI process id, which
# counts up with every request: a steady share without $RANDOM), each answer waits DELAY seconds;
# DROP_PERCENT of connections are closed without a byte (the httpd process serving it is killed).
[ "${DELAY:-0}" != 0 ] && sleep "$DELAY"
if [ "${DROP_PERCENT:-0}" != 0 ]; then
  # Spread evenly: request n is dropped when n*DROP_PERCENT/100 steps up (a counter in /tmp).
  n=$(cat /tmp/requests 2>/dev/null || echo 0); echo $((n + 1)) > /tmp/requests
  [ $(((n + 1) * DROP_PERCENT / 100)) -gt $((n * DROP_PERCENT / 100)) ] && kill -9 "$PPID"
fi
if [ $(($$ % 100)) -lt "${FAIL_PERCENT:-0}" ]; then
  printf 'Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nfailed\n'
else
  printf 'Content-Type: text/plain\r\n\r\n%s\n' "${RELEASE:-ok}"
fi
CGI
  chmod 755 "$root/www/cgi-bin/app"
}
build demo/myapp:1 v1 "$HTTPD"
build demo/myapp:2 v2 "$HTTPD"
build demo/myapp:bad bad '["/bin/sleep","3600"]'
build demo/myapp:cgi cgi "$HTTPD"
build demo/myapp:flaky flaky "$HTTPD" -c 'ENV FAIL_PERCENT=30'
build demo/myapp:slow slow "$HTTPD" -c 'ENV DELAY=0.5'
build demo/myapp:drop drop "$HTTPD" -c 'ENV DROP_PERCENT=50'
if missing demo/myapp:noroot; then
  rm -rf "$root/www/"*; echo ok > "$root/www/healthz"
  tar -C "$root" -c . | docker import -c 'EXPOSE 8080' -c "CMD $HTTPD" - demo/myapp:noroot >/dev/null
  echo "built demo/myapp:noroot"
fi
