#!/bin/sh
# certbot deploy hook: hands a renewed certificate to a running HAProxy without a reload and
# without dropping a connection, through its admin socket ("set ssl cert" + "commit ssl cert"),
# and writes it into HAProxy's crt directory too, so a later reload or restart reads the new one.
#
#   certbot renew --deploy-hook /usr/local/lib/forrest/haproxy-deploy-hook.sh
#
# certbot sets RENEWED_LINEAGE (e.g. /etc/letsencrypt/live/example.com). Outside certbot, set
# CERT_PEM to a file holding the certificate, its chain and its key instead.
# HAPROXY_SOCKET  admin socket (stats socket ... level admin), default /run/haproxy/admin.sock
# HAPROXY_CERT_DIR  the folder of "bind ... ssl crt <dir>", default /etc/haproxy/certs
# CERT_NAME  the file's name in it, default <lineage name>.pem; it must already be loaded
#            (a new name needs a reload, or "new ssl cert" + "add ssl crt-list" by hand)
set -eu
SOCK=${HAPROXY_SOCKET:-/run/haproxy/admin.sock}
DIR=${HAPROXY_CERT_DIR:-/etc/haproxy/certs}
DIR=${DIR%/}
if [ -n "${CERT_PEM:-}" ]; then
  NAME=${CERT_NAME:-$(basename "$CERT_PEM")}
else
  : "${RENEWED_LINEAGE:?set by certbot; or set CERT_PEM}"
  NAME=${CERT_NAME:-$(basename "$RENEWED_LINEAGE").pem}
fi
PEM="$DIR/$NAME"
TMP=$(mktemp "$DIR/.$NAME.XXXXXX")
trap 'rm -f "$TMP"' EXIT
if [ -n "${CERT_PEM:-}" ]; then cat "$CERT_PEM" >"$TMP"; else cat "$RENEWED_LINEAGE/fullchain.pem" "$RENEWED_LINEAGE/privkey.pem" >"$TMP"; fi
chmod 600 "$TMP"

# The payload ends at the first empty line: drop blank lines inside the PEM.
answer=$({ printf 'set ssl cert %s <<\n' "$PEM"; grep -v '^[[:space:]]*$' "$TMP"; printf '\n'; } | socat -t 5 - "UNIX-CONNECT:$SOCK")
case "$answer" in
  *Transaction*) ;;
  *) echo "haproxy-deploy-hook: HAProxy did not take $PEM: $answer" >&2
     echo "Nothing changed: HAProxy still serves the old certificate and $PEM is untouched. Is $PEM loaded (show ssl cert) and the socket level admin?" >&2
     exit 1 ;;
esac
answer=$(echo "commit ssl cert $PEM" | socat -t 5 - "UNIX-CONNECT:$SOCK")
case "$answer" in
  *Success*) ;;
  *) echo "abort ssl cert $PEM" | socat -t 5 - "UNIX-CONNECT:$SOCK" >/dev/null || true
     echo "haproxy-deploy-hook: commit of $PEM failed: $answer (transaction aborted; HAProxy serves the old certificate, $PEM is untouched)" >&2
     exit 1 ;;
esac
mv "$TMP" "$PEM"
trap - EXIT
echo "haproxy-deploy-hook: HAProxy serves the new $PEM (no reload)"
