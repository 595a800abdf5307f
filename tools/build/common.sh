# Shared helpers for the build scripts in tools/build/ (sourced, not run).
# Why shell: these steps glue Debian tools together (apt-get, dpkg-deb, make);
# every artifact they produce is checked against a pinned sha256.

set -euo pipefail
export LC_ALL=C TZ=UTC

# Caches live outside the repository so that a fresh clone reuses them.
UVM_CACHE=${UVM_CACHE:-/var/cache/uvm-build}

log() { printf '[%s] %s\n' "${STEP:-build}" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${STEP:-build}" "$*" >&2; exit 1; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# require_sha256 FILE EXPECTED WHAT: a mismatch is a hard error naming both hashes.
require_sha256() {
	local got
	got=$(sha256_of "$1")
	[ "$got" = "$2" ] || die "$3: sha256 mismatch for $1: expected $2, got $got (the pinned input changed; update the pin only after reviewing the new version)"
}

# cache_key WORDS...: a hash of every input that can change an output.
cache_key() { printf '%s\n' "$@" | sha256sum | cut -c1-24; }

# publish_dir TMP FINAL: atomically move a finished build into the cache, so an
# interrupted build never leaves a half-written entry that looks complete.
publish_dir() {
	rm -rf "$2"
	mv "$1" "$2"
}

# Private apt configuration: deb-src lines and newer suites without touching
# the system's sources. Usage: private_apt NAME 'LINE' ['LINE'...] ; then call
# "${APT_PRIVATE[@]}" apt-get-args...
private_apt() {
	local name=$1; shift
	local dir="$UVM_CACHE/apt/$name"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	printf '%s\n' "$@" > "$dir/sources.list"
	APT_PRIVATE=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::Archives=$dir/archives"
		-o "APT::Get::List-Cleanup=0" -o "Acquire::Languages=none")
	if [ ! -e "$dir/lists/.updated" ] || [ "${UVM_APT_REFRESH:-0}" = 1 ]; then
		log "apt-get update (private sources list: $dir/sources.list)"
		apt-get "${APT_PRIVATE[@]}" -q update >&2
		touch "$dir/lists/.updated"
	fi
}
