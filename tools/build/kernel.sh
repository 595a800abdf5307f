#!/usr/bin/env bash
# Build the UVM kernel (bzImage) from Debian's linux-source package, or install
# the kernel's uapi headers for the musl toolchain.
#
#   kernel.sh image   OUTDIR   -> OUTDIR/bzImage, OUTDIR/kernel.config
#   kernel.sh headers OUTDIR   -> OUTDIR/include/{linux,asm,asm-generic,...}
#
# Both are cached under $UVM_CACHE keyed by a hash of every input: the pinned
# source tarball, the config fragment, the compiler, and this script.
STEP=kernel
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
. "$here/pins.sh"
repo=$(cd "$here/../.." && pwd)

mode=${1:?usage: kernel.sh image|headers OUTDIR}
outdir=${2:?usage: kernel.sh image|headers OUTDIR}
fragment="$repo/kernel-config/uvm.config"

installed=$(dpkg-query -W -f='${Version}' "$LINUX_PKG" 2>/dev/null || true)
[ "$installed" = "$LINUX_PKG_VERSION" ] ||
	die "$LINUX_PKG is at version '${installed:-not installed}', the image pins $LINUX_PKG_VERSION (run 'make deps'; if Debian moved on, update tools/build/pins.sh deliberately)"
require_sha256 "$LINUX_TARBALL" "$LINUX_TARBALL_SHA256" "$LINUX_PKG"

# The same fixed identity in every build: no date, user or host leaks in.
kbuild_env=(KBUILD_BUILD_TIMESTAMP="@$SOURCE_DATE_EPOCH" KBUILD_BUILD_USER=uvm
	KBUILD_BUILD_HOST=uvm KBUILD_BUILD_VERSION=1)

# Unpack the pinned tarball once; every build reads it, none writes it (O=).
source_tree() {
	local src="$UVM_CACHE/linux-src/$LINUX_TARBALL_SHA256"
	if [ ! -e "$src/.complete" ]; then
		log "unpacking $LINUX_TARBALL (152 MB, about a minute)"
		rm -rf "$src.tmp" && mkdir -p "$src.tmp"
		tar -C "$src.tmp" --strip-components=1 -xJf "$LINUX_TARBALL"
		touch "$src.tmp/.complete"
		publish_dir "$src.tmp" "$src"
	fi
	printf '%s\n' "$src"
}

build_headers() {
	local key dest src tmp
	key=$(cache_key "$LINUX_PKG_VERSION" "$LINUX_TARBALL_SHA256" "$(sha256_of "$0")")
	dest="$UVM_CACHE/kheaders/$key"
	if [ ! -e "$dest/.complete" ]; then
		src=$(source_tree)
		tmp="$dest.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
		log "installing uapi headers from $LINUX_PKG $LINUX_PKG_VERSION"
		make -s -C "$src" O="$tmp/build" ARCH=x86_64 headers_install INSTALL_HDR_PATH="$tmp" >&2
		rm -rf "$tmp/build"
		touch "$tmp/.complete"
		publish_dir "$tmp" "$dest"
	fi
	rm -rf "$outdir/include"; mkdir -p "$outdir"
	cp -a "$dest/include" "$outdir/include"
}

# Every CONFIG_X=y/value line of the fragment must appear verbatim in .config,
# and every "# CONFIG_X is not set" line must not be set there.
check_config_stuck() {
	local config=$1 missing=0 line
	while IFS= read -r line; do
		case "$line" in
		'# CONFIG_'*' is not set')
			local opt=${line#\# }; opt=${opt%% *}
			if grep -qE "^${opt}=" "$config"; then
				log "option requested off is on: $(grep -E "^${opt}=" "$config")"
				missing=1
			fi
			continue ;;
		''|'#'*) continue ;;
		esac
		if ! grep -qxF -- "$line" "$config"; then
			log "requested option did not stick: $line (now: $(grep -E "^(# )?${line%%=*}[= ]" "$config" || echo 'absent'))"
			missing=1
		fi
	done < "$fragment"
	[ $missing = 0 ] || die "kernel config: options from $fragment were dropped by olddefconfig; add their dependencies to the fragment"
}

build_image() {
	local key dest src tmp jobs
	key=$(cache_key "$LINUX_PKG_VERSION" "$LINUX_TARBALL_SHA256" "$(sha256_of "$fragment")" \
		"$(gcc --version | head -n1)" "$(ld --version | head -n1)" "$(sha256_of "$0")" "${kbuild_env[*]}")
	dest="$UVM_CACHE/kernel/$key"
	if [ -e "$dest/.complete" ]; then
		log "cached: $dest"
	else
		src=$(source_tree)
		tmp="$dest.tmp"; rm -rf "$tmp"; mkdir -p "$tmp/build"
		log "configuring: tinyconfig + $fragment"
		make -s -C "$src" O="$tmp/build" ARCH=x86_64 tinyconfig >&2
		KCONFIG_CONFIG="$tmp/build/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$tmp/build" \
			"$tmp/build/.config" "$fragment" >/dev/null
		make -s -C "$src" O="$tmp/build" ARCH=x86_64 olddefconfig >&2
		check_config_stuck "$tmp/build/.config"
		jobs=$(nproc)
		log "building bzImage with $jobs jobs (about 8 minutes on 2 cores; cached afterwards)"
		local start=$SECONDS
		make -C "$src" O="$tmp/build" ARCH=x86_64 -j"$jobs" "${kbuild_env[@]}" bzImage 2>&1 |
			awk '{ n++ } n % 200 == 0 { print "[kernel] ... " n " build steps" > "/dev/stderr" } /error|Error|warning:/ { print > "/dev/stderr" }'
		[ "${PIPESTATUS[0]}" = 0 ] || die "kernel build failed in $tmp/build (rerun: make -C $src O=$tmp/build bzImage)"
		log "bzImage built in $((SECONDS - start)) s"
		cp "$tmp/build/arch/x86/boot/bzImage" "$tmp/bzImage"
		cp "$tmp/build/.config" "$tmp/kernel.config"
		rm -rf "$tmp/build"
		touch "$tmp/.complete"
		publish_dir "$tmp" "$dest"
	fi
	mkdir -p "$outdir"
	cp "$dest/bzImage" "$outdir/bzImage"
	cp "$dest/kernel.config" "$outdir/kernel.config"
}

case "$mode" in
	image) build_image ;;
	headers) build_headers ;;
	*) die "unknown mode '$mode' (expected image or headers)" ;;
esac
