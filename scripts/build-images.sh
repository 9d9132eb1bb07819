#!/usr/bin/env bash
# Builds the demo images with `docker import` of a static busybox (there is no registry to pull
# from): demo/myapp:1 and :2 serve "v1" / "v2" on 8080 with busybox httpd; demo/myapp:bad
# never listens; demo/myapp:noroot answers only /healthz (404 on /, so a load balancer checking /
# rejects it while a probe of /healthz passes). Idempotent; FORCE=1 rebuilds.
set -euo pipefail
if [ "${FORCE:-0}" != 1 ] && docker image inspect demo/myapp:1 demo/myapp:2 demo/myapp:bad demo/myapp:noroot >/dev/null 2>&1; then
  exit 0
fi
bb=/bin/busybox
[ -x "$bb" ] && ! ldd "$bb" >/dev/null 2>&1 || bb=/usr/bin/busybox
if ldd "$bb" >/dev/null 2>&1; then
  echo "build-images: $bb is not statically linked: apt-get install busybox-static" >&2; exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/www"
cp "$bb" "$root/bin/busybox"
for a in sh httpd wget sleep echo cat; do ln -sf busybox "$root/bin/$a"; done
build() { # tag content cmd-json
  rm -f "$root/www/"*
  echo "$2" > "$root/www/index.html"
  tar -C "$root" -c . | docker import -c 'EXPOSE 8080' -c "CMD $3" - "$1" >/dev/null
}
build demo/myapp:1 v1 '["/bin/httpd","-f","-p","8080","-h","/www"]'
build demo/myapp:2 v2 '["/bin/httpd","-f","-p","8080","-h","/www"]'
build demo/myapp:bad bad '["/bin/sleep","3600"]'
rm "$root/www/index.html"; echo ok > "$root/www/healthz"
tar -C "$root" -c . | docker import -c 'EXPOSE 8080' -c 'CMD ["/bin/httpd","-f","-p","8080","-h","/www"]' - demo/myapp:noroot >/dev/null
echo "built demo/myapp:1 demo/myapp:2 demo/myapp:bad demo/myapp:noroot"
