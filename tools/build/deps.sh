#!/usr/bin/env bash
# make deps: install the Debian packages the build and the tests need, and only
# those that are missing (so a warm run costs one dpkg query). Prints what it
# installs. Everything comes from Debian's archive through apt.
STEP=deps
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

packages=(
	# guest toolchain and the pinned inputs of the image
	musl-tools linux-source-6.12 busybox-static
	# kernel build
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils rsync
	# OpenSSL source build (apt-get source unpacks with dpkg-source)
	dpkg-dev perl
	# host tools and tests
	qemu-system-x86 cryptsetup-bin erofs-utils e2fsprogs openssl
	python3 python3-pytest python3-cryptography clang libclang-rt-14-dev clang-format
	ca-certificates gzip jq xxd
	# iasl, the reference disassembler of the IGVM's ACPI tables (tests/test_igvm_acpi.py)
	acpica-tools
	# the containerd shim (Go, built offline from Debian's Go sources) and its tests
	golang-go golang-github-containerd-containerd-dev containerd
)

# Packages whose bytes end up in the image are installed at their pinned
# version (tools/build/pins.sh); the others at whatever bookworm carries.
. "$here/pins.sh"
declare -A pinned=([$LINUX_PKG]=$LINUX_PKG_VERSION [$BUSYBOX_PKG]=$BUSYBOX_PKG_VERSION [musl-tools]=$MUSL_PKG_VERSION)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)
	want=${pinned[$p]:-}
	if [ -n "$want" ]; then
		[ "$status" = "installed $want" ] || missing+=("$p=$want")
	else
		[ "${status%% *}" = installed ] || missing+=("$p")
	fi
done
[ ${#missing[@]} = 0 ] && exit 0

[ "$(id -u)" = 0 ] || die "missing packages: ${missing[*]}; run 'make deps' as root (it uses apt-get)"
log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -q update >&2 || die "apt-get update failed (is the Debian mirror reachable?)"
apt-get -q install -y --no-install-recommends --allow-downgrades "${missing[@]}" >&2 ||
	die "apt-get install failed for: ${missing[*]}"
log "installed ${#missing[@]} packages"
