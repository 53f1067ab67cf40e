#!/usr/bin/env bash
# make-test-pki.sh DIR — a throw-away PKI for the demo and the tests, made with `openssl`.
#
# Creates in DIR, each only when missing (so re-running changes nothing):
#   ca.crt ca.key                 the test CA (signs server and client certificates, and the CRL)
#   server.crt server.key         CN=localhost, SAN 127.0.0.1, ::1, localhost (serverAuth)
#   officer-a.crt/.key            O=Demo Police, two officers of one agency (clientAuth)
#   officer-b.crt/.key
#   auditor.crt/.key              O=Demo Oversight Board
#   stranger.crt/.key             valid certificate of the CA, listed in no officers file
#   revoked.crt/.key              O=Demo Police, revoked in crl.pem
#   crl.pem                       the CA's CRL (revoked.crt listed), valid ten years
#   untrusted-ca.crt, untrusted.crt/.key   a client certificate from an unrelated CA
# Private keys are mode 0600. Keys are ECDSA P-256. Test use only: no passphrases.
set -euo pipefail
dir=${1:?usage: make-test-pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077
days=3650

key() {  # key NAME
  [[ -f $1.key ]] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
  chmod 0600 "$1.key"
}

ca() {  # ca NAME SUBJECT
  key "$1"
  [[ -f $1.crt ]] || openssl req -x509 -new -key "$1.key" -sha256 -days "$days" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$1.crt"
  chmod 0644 "$1.crt"
}

leaf() {  # leaf NAME SUBJECT EXTENSIONS [CA]
  local name=$1 subject=$2 ext=$3 issuer=${4:-ca}
  key "$name"
  if [[ ! -f $name.crt ]]; then
    openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
    printf '%s\n' "$ext" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA "$issuer.crt" -CAkey "$issuer.key" -sha256 -days "$days" \
      -set_serial "0x$(openssl rand -hex 16)" -extfile "$name.ext" -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
  fi
  chmod 0644 "$name.crt"
}

client_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'

ca ca "/O=conntrail test CA/CN=conntrail test CA"
leaf server "/O=conntrail test/CN=localhost" 'basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost'
leaf officer-a "/C=DE/O=Demo Police/OU=Cybercrime/CN=officer-a" "$client_ext"
leaf officer-b "/C=DE/O=Demo Police/OU=Cybercrime/CN=officer-b" "$client_ext"
leaf auditor "/C=DE/O=Demo Oversight Board/CN=auditor" "$client_ext"
leaf stranger "/C=DE/O=Demo Police/CN=stranger" "$client_ext"
leaf revoked "/C=DE/O=Demo Police/OU=Cybercrime/CN=revoked" "$client_ext"
ca untrusted-ca "/O=unrelated CA/CN=unrelated CA"
leaf untrusted "/C=DE/O=Demo Police/CN=untrusted" "$client_ext" untrusted-ca

if [[ ! -f crl.pem ]]; then
  mkdir -p .ca
  : > .ca/index.txt
  cat > .ca/openssl.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = $PWD/.ca/index.txt
certificate = $PWD/ca.crt
private_key = $PWD/ca.key
default_md = sha256
default_crl_days = $days
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
CNF
  openssl ca -config .ca/openssl.cnf -revoke revoked.crt -crl_reason keyCompromise 2>/dev/null
  openssl ca -config .ca/openssl.cnf -gencrl -out crl.pem 2>/dev/null
  chmod 0644 crl.pem
fi
