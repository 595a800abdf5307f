#!/usr/bin/env bash
# Fetch the pinned OVMF.amdsev.fd: apt-get download of the .deb from a newer
# Debian suite through a private sources list (the system's apt configuration
# is not touched, nothing is installed), check both pinned checksums, extract.
#
#   fetch.sh OUTDIR   -> OUTDIR/OVMF.amdsev.fd
STEP=ovmf
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tools/build/common.sh"
. "$here/pin.sh"

outdir=${1:?usage: fetch.sh OUTDIR}
cache="$UVM_CACHE/ovmf/$OVMF_DEB_SHA256"
deb="$cache/${OVMF_PKG}_${OVMF_PKG_VERSION}_all.deb"

if [ ! -e "$deb" ]; then
	private_apt "$OVMF_SUITE" \
		"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $OVMF_SUITE main"
	mkdir -p "$cache"
	log "apt-get download $OVMF_PKG=$OVMF_PKG_VERSION ($OVMF_SUITE)"
	(cd "$cache" && apt-get "${APT_PRIVATE[@]}" -q download "$OVMF_PKG=$OVMF_PKG_VERSION" >&2) ||
		die "could not download $OVMF_PKG=$OVMF_PKG_VERSION from $OVMF_SUITE (if Debian replaced it, update ovmf/pin.sh after review; UVM_APT_REFRESH=1 refreshes the private package lists)"
	got=$(ls "$cache"/"${OVMF_PKG}"_*.deb)
	[ "$got" = "$deb" ] || mv "$got" "$deb"
fi
require_sha256 "$deb" "$OVMF_DEB_SHA256" "$OVMF_PKG .deb"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp"
require_sha256 "$tmp/$OVMF_FD_PATH" "$OVMF_FD_SHA256" "OVMF.amdsev.fd inside $OVMF_PKG"
mkdir -p "$outdir"
cp "$tmp/$OVMF_FD_PATH" "$outdir/OVMF.amdsev.fd"
log "OVMF.amdsev.fd $OVMF_FD_SHA256"
