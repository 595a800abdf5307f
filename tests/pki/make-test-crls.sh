#!/bin/bash
# Writes the TEST-ONLY CRLs of the test PKI (tests/pki/test-crl-*.pem), each
# signed like AMD's (RSASSA-PSS SHA-384 / MGF1-SHA-384 / salt 48). Uses the
# committed keys; may be re-run at any time (the signatures are randomised,
# so the files change: re-commit them together).
#
#   valid      signed by the test ARK, nothing revoked, 2026-01-01 .. 2046-01-01
#              (also as DER: test-crl-valid.der)
#   expired    the same, but nextUpdate 2026-02-01
#   wrong-key  the ARK's name as issuer, but signed with the test ASK's key
#   ask        revokes the test ASK (serial 02)
#   vcek       revokes the test VCEK (serial 03)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

PSS=(-md sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384)
cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = index.txt
crlnumber = crlnumber
CNF
subject() { openssl x509 -in "$here/$1" -noout -subject -nameopt compat | sed 's/^subject=//'; }
revoked() { # index line of a revoked certificate
	printf 'R\t460101000000Z\t260102000000Z\t%s\tunknown\t%s\n' \
		"$(openssl x509 -in "$here/$1" -noout -serial | sed 's/serial=//')" "$(subject "$1")"
}
gencrl() { # gencrl OUT CERT KEY NEXTUPDATE [index line]
	if [[ -n "${5:-}" ]]; then printf '%s\n' "$5"; fi > index.txt
	echo 01 > crlnumber
	openssl ca -batch -config ca.cnf -gencrl "${PSS[@]}" -cert "$2" -keyfile "$3" \
		-crl_lastupdate 20260101000000Z -crl_nextupdate "$4" -out "$1" 2>/dev/null
}

ARK=$here/test-ark.pem ARK_KEY=$here/test-ark-key.pem
gencrl test-crl-valid.pem "$ARK" "$ARK_KEY" 20460101000000Z
gencrl test-crl-expired.pem "$ARK" "$ARK_KEY" 20260201000000Z
gencrl test-crl-ask.pem "$ARK" "$ARK_KEY" 20460101000000Z "$(revoked test-ask.pem)"
gencrl test-crl-vcek.pem "$ARK" "$ARK_KEY" 20460101000000Z "$(revoked test-vcek.pem)"
# A stand-in certificate with the ARK's name but the ASK's key signs the last.
openssl req -new -x509 -key "$here/test-ask-key.pem" -subj "$(subject test-ark.pem)" \
	-days 1 -out fake-ark.pem 2>/dev/null
gencrl test-crl-wrong-key.pem fake-ark.pem "$here/test-ask-key.pem" 20460101000000Z
openssl crl -in test-crl-valid.pem -CAfile "$ARK" -noout 2>/dev/null
openssl crl -in test-crl-valid.pem -outform DER -out test-crl-valid.der
cp test-crl-*.pem test-crl-valid.der "$here/"
echo "test CRLs written to $here"
