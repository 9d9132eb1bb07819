# shellcheck shell=bash
# The lab PKI (openssl, RSA 2048, 825 days), in $PKI:
#   ca.pem                  the lab CA: trusted by every lab engine for the registry, and by clients
#   docker-hN.pem/-key.pem  dockerd TLS server cert of host N (IP SAN 10.213.0.1N)
#   client/{ca,cert,key}.pem   client cert (CN=forrest-lab-client): a DOCKER_CERT_PATH directory
#   registry.pem/-key.pem   registry server cert (IP SAN 10.213.0.1)

pki_issue() { # name cn san eku
  local name=$1 cn=$2 san=$3 eku=$4 ext
  [ -s "$PKI/$name.pem" ] && openssl verify -CAfile "$PKI/ca.pem" "$PKI/$name.pem" >/dev/null 2>&1 && return 0
  ext=$(mktemp)
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$eku" >"$ext"
  [ -n "$san" ] && echo "subjectAltName=$san" >>"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name-key.pem" -subj "/O=forrest-lab/CN=$cn" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca-key.pem" -CAcreateserial \
    -days 825 -sha256 -extfile "$ext" -out "$PKI/$name.pem" 2>/dev/null
  rm -f "$ext" "$PKI/$name.csr"
  chmod 600 "$PKI/$name-key.pem"
}

pki_up() {
  local n
  mkdir -p "$PKI/client"
  if [ ! -s "$PKI/ca.pem" ] || [ ! -s "$PKI/ca-key.pem" ]; then
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$PKI/ca-key.pem" -out "$PKI/ca.pem" \
      -days 825 -sha256 -subj "/O=forrest-lab/CN=forrest-lab CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    chmod 600 "$PKI/ca-key.pem"
  fi
  for n in $LAB_HOSTS; do pki_issue "docker-h$n" "forrest-lab-h$n" "IP:$(host_ip "$n"),IP:127.0.0.1" serverAuth; done
  pki_issue client forrest-lab-client "" clientAuth
  pki_issue registry registry.lab "IP:$LAB_GW" serverAuth
  cp "$PKI/ca.pem" "$PKI/client/ca.pem"; cp "$PKI/client.pem" "$PKI/client/cert.pem"
  cp "$PKI/client-key.pem" "$PKI/client/key.pem"; chmod 600 "$PKI/client/key.pem"
}
