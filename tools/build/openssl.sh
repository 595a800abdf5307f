#!/usr/bin/env bash
# Build a static libcrypto with musl for the guest, from Debian's openssl source
# package at a pinned version (apt-get source through a private sources list,
# checksums pinned here), cached under $UVM_CACHE keyed by every input.
#
#   openssl.sh OUTDIR KHEADERS   -> OUTDIR/include/openssl/*.h, OUTDIR/lib/libcrypto.a
STEP=openssl
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/pins.sh"

outdir=${1:?usage: openssl.sh OUTDIR KHEADERS}
kheaders=$(cd "${2:?usage: openssl.sh OUTDIR KHEADERS}" && pwd)

# Only what the guest uses: hashes, EC (the test flavour's simulated PSP signs
# with ECDSA P-384), RNG. No engines, no TLS, no threads, no assembly-free
# fallbacks needed.
configure_opts=(linux-x86_64 no-shared no-tests no-engine no-dso no-async no-afalgeng no-module
	no-legacy no-ui-console -static)

key=$(cache_key "$OPENSSL_SRC_VERSION" "$OPENSSL_ORIG_SHA256" "$OPENSSL_DEBIAN_SHA256" \
	"$(musl-gcc --version | head -n1)" "$(dpkg-query -W -f='${Version}' musl-tools)" \
	"$(find "$kheaders/include" -type f -print0 | sort -z | xargs -0 cat | sha256sum)" \
	"${configure_opts[*]}" "$(sha256_of "$0")")
dest="$UVM_CACHE/openssl/$key"

fetch_source() {
	local dir=$1
	private_apt bookworm-src \
		'deb-src http://deb.debian.org/debian bookworm main' \
		'deb-src http://deb.debian.org/debian bookworm-updates main' \
		'deb-src http://deb.debian.org/debian-security bookworm-security main'
	log "apt-get source openssl=$OPENSSL_SRC_VERSION"
	(cd "$dir" && apt-get "${APT_PRIVATE[@]}" -q source --download-only "openssl=$OPENSSL_SRC_VERSION" >&2) ||
		die "could not fetch openssl=$OPENSSL_SRC_VERSION source (if Debian replaced it, update OPENSSL_* in tools/build/pins.sh after review; UVM_APT_REFRESH=1 refreshes the private package lists)"
	local upstream=${OPENSSL_SRC_VERSION%-*}
	require_sha256 "$dir/openssl_$upstream.orig.tar.gz" "$OPENSSL_ORIG_SHA256" "openssl orig tarball"
	require_sha256 "$dir/openssl_$OPENSSL_SRC_VERSION.debian.tar.xz" "$OPENSSL_DEBIAN_SHA256" "openssl debian tarball"
	# dpkg-source applies Debian's patches; the .dsc signature is not checked
	# here because the two checksums above pin the exact bytes.
	(cd "$dir" && dpkg-source --no-check -x "openssl_$OPENSSL_SRC_VERSION.dsc" src >&2)
}

if [ -e "$dest/.complete" ]; then
	log "cached: $dest"
else
	tmp="$dest.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
	fetch_source "$tmp"
	log "building libcrypto.a with musl (about 2 minutes)"
	start=$SECONDS
	(
		cd "$tmp/src"
		CC=musl-gcc CFLAGS="-Os -isystem $kheaders/include -ffunction-sections -fdata-sections" \
			./Configure "${configure_opts[@]}" >&2
		make -s -j"$(nproc)" build_generated >&2
		make -s -j"$(nproc)" libcrypto.a >&2
	) || die "OpenSSL build failed in $tmp/src"
	mkdir -p "$tmp/out/lib" "$tmp/out/include"
	cp "$tmp/src/libcrypto.a" "$tmp/out/lib/"
	cp -r "$tmp/src/include/openssl" "$tmp/out/include/"
	rm -rf "$tmp/src" "$tmp"/openssl_*
	touch "$tmp/.complete"
	publish_dir "$tmp" "$dest"
	log "libcrypto.a built in $((SECONDS - start)) s"
fi
rm -rf "$outdir"; mkdir -p "$outdir"
cp -r "$dest/out/include" "$dest/out/lib" "$outdir/"
