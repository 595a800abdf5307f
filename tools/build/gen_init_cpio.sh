#!/usr/bin/env bash
# Build the kernel's own initramfs writer, usr/gen_init_cpio, from the pinned
# linux-source tarball, for `uvm initrd` (a host tool: one C file).
#
#   gen_init_cpio.sh FILE   -> FILE
#
# Cached under $UVM_CACHE keyed by the tarball, the compiler and this script.
# The source comes from the tree kernel.sh unpacks when it is there, else this
# one member is read out of the tarball (about 15 s of xz).
STEP=gen_init_cpio
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/pins.sh"

out=${1:?usage: gen_init_cpio.sh FILE}
require_sha256 "$LINUX_TARBALL" "$LINUX_TARBALL_SHA256" "$LINUX_PKG"

key=$(cache_key "$LINUX_TARBALL_SHA256" "$(gcc --version | head -n1)" "$(sha256_of "$0")")
dest="$UVM_CACHE/gen_init_cpio/$key"
if [ ! -e "$dest/.complete" ]; then
	tmp="$dest.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
	tree="$UVM_CACHE/linux-src/$LINUX_TARBALL_SHA256"
	if [ -e "$tree/.complete" ]; then
		cp "$tree/usr/gen_init_cpio.c" "$tmp/gen_init_cpio.c"
	else
		log "reading usr/gen_init_cpio.c out of $LINUX_TARBALL"
		tar -xJf "$LINUX_TARBALL" -O --wildcards '*/usr/gen_init_cpio.c' > "$tmp/gen_init_cpio.c"
	fi
	[ -s "$tmp/gen_init_cpio.c" ] || die "usr/gen_init_cpio.c not found in $LINUX_TARBALL"
	gcc -O2 -o "$tmp/gen_init_cpio" "$tmp/gen_init_cpio.c" || die "compiling usr/gen_init_cpio.c failed (in $tmp)"
	touch "$tmp/.complete"
	publish_dir "$tmp" "$dest"
fi
mkdir -p "$(dirname "$out")"
cp "$dest/gen_init_cpio" "$out.tmp" && mv "$out.tmp" "$out"
