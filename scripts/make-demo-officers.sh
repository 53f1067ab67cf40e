#!/usr/bin/env bash
# Writes the demo officers file from the demo PKI, identifying each officer by
# the SHA-256 fingerprint of their certificate (fingerprints change whenever
# the PKI is regenerated, so the demo script runs this after creating it).
#   scripts/make-demo-officers.sh PKI_DIR OUT_JSON
# PKI_DIR must hold officer-a.crt, officer-b.crt and auditor.crt. officer-a and
# officer-b are two officers of one agency, each requester and approver; the
# auditor holds the auditor role (issue 5, "Demo and docs").
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 PKI_DIR OUT_JSON" >&2
  exit 2
fi
pki=$1
out=$2

fingerprint() {
  local crt=$pki/$1.crt
  if [[ ! -r $crt ]]; then
    echo "make-demo-officers: cannot read $crt" >&2
    exit 1
  fi
  # "sha256 Fingerprint=AB:CD:..." → "abcd..."
  openssl x509 -in "$crt" -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f'
}

fa=$(fingerprint officer-a)
fb=$(fingerprint officer-b)
fx=$(fingerprint auditor)

tmp=$(mktemp "${out}.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp" <<JSON
{
  "officers": [
    {
      "id": "officer-a",
      "name": "Demo Officer A",
      "agency": "demo-police",
      "roles": ["requester", "approver"],
      "certificate": {"sha256": "$fa"}
    },
    {
      "id": "officer-b",
      "name": "Demo Officer B",
      "agency": "demo-police",
      "roles": ["requester", "approver"],
      "certificate": {"sha256": "$fb"}
    },
    {
      "id": "auditor",
      "name": "Demo Auditor",
      "agency": "demo-oversight",
      "roles": ["auditor"],
      "certificate": {"sha256": "$fx"}
    }
  ]
}
JSON
chmod 0644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "make-demo-officers: wrote $out" >&2
