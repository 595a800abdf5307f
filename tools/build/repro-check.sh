#!/usr/bin/env bash
# make repro-check: build the whole image twice, from clean caches, in two
# different directories (so different absolute paths) at two different times,
# print the sha256 of every artifact from both builds, and fail on any
# difference. Takes about 2 x 10 minutes on 2 cores (two kernel builds).
STEP=repro-check
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
repo=$(cd "$here/../.." && pwd)

work=${REPRO_DIR:-$(mktemp -d /tmp/uvm-repro.XXXXXX)}
artifacts=(image/bzImage image/initrd image/OVMF.amdsev.fd image/uvm.igvm image/manifest.json
	image-test/initrd image-test/uvm.igvm image-test/manifest.json guest/init guest-test/init bin/uvm)

# The sources: the work tree's files that git knows about (nothing of out/),
# or with REPRO_REF=COMMIT exactly that commit.
copy_sources() {
	if [ -n "${REPRO_REF:-}" ]; then
		(cd "$repo" && git archive --format=tar "$REPRO_REF") | tar -x -C "$1"
	else
		(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
			(cd "$repo" && xargs -0 cp --parents -t "$1")
	fi
}

# Both copies are taken before either build starts, so the two builds see
# the same sources even if the tree changes meanwhile.
prepare_copy() {
	local dir="$work/$1"
	rm -rf "$dir"; mkdir -p "$dir/src"
	copy_sources "$dir/src"
}

build_copy() {
	local name=$1 dir="$work/$1"
	log "build $name in $dir/src with a fresh cache $dir/cache ($(date -u +%H:%M:%S))"
	UVM_CACHE="$dir/cache" make -C "$dir/src" image image-test out/bin/uvm >"$dir/build.log" 2>&1 ||
		die "build $name failed; see $dir/build.log"
}

if [ -n "${REPRO_REF:-}" ]; then
	REPRO_REF=$(cd "$repo" && git rev-parse --verify "$REPRO_REF^{commit}") || die "REPRO_REF is not a commit"
	log "sources: commit $REPRO_REF"
fi
prepare_copy a
prepare_copy b-with-a-longer-path
build_copy a
build_copy b-with-a-longer-path

status=0
printf '%-28s %-64s %s\n' artifact "sha256 (build a)" "build b"
for f in "${artifacts[@]}"; do
	ha=$(sha256_of "$work/a/src/out/$f")
	hb=$(sha256_of "$work/b-with-a-longer-path/src/out/$f")
	mark=same
	[ "$ha" = "$hb" ] || { mark="DIFFERENT: $hb"; status=1; }
	printf '%-28s %s %s\n' "$f" "$ha" "$mark"
done
if [ $status = 0 ]; then
	log "reproducible: every artifact is bit-identical across the two builds"
	[ -n "${REPRO_DIR:-}" ] || rm -rf "$work"
else
	log "NOT reproducible: compare the differing files in $work/*/src/out (e.g. diffoscope)"
fi
exit $status
