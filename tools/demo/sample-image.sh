#!/usr/bin/env bash
# Build the demo's sample OCI image layout locally (no registry): two layers
# from Debian's busybox-static (pinned, sha256 checked) and a small app
# layer, plus an image config, in the layout skopeo/umoci write
# (oci-layout, index.json, blobs/sha256/...). Reproducible: sorted tar
# entries, owner 0:0, mtime SOURCE_DATE_EPOCH, uncompressed layers.
#
#   sample-image.sh OUTDIR   -> OUTDIR/oci/
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../build/pins.sh"
out=${1:?usage: sample-image.sh OUTDIR}
export LC_ALL=C TZ=UTC

got=$(sha256sum "$BUSYBOX_BIN" | cut -d' ' -f1)
[ "$got" = "$BUSYBOX_SHA256" ] || {
	echo "sample-image.sh: $BUSYBOX_BIN has sha256 $got, the pin is $BUSYBOX_SHA256 (make deps installs the pinned busybox-static)" >&2
	exit 1
}

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
oci="$out/oci"; rm -rf "$oci"; mkdir -p "$oci/blobs/sha256"

mktar() { # mktar DIR -> stdout
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
		--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -C "$1" -cf - .
}
blob() { # blob FILE -> prints "sha256:HEX SIZE" and stores the blob
	local h s
	h=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
	cp "$1" "$oci/blobs/sha256/$h"
	echo "sha256:$h $s"
}

# Layer 1: busybox and the applets the sample uses.
mkdir -p "$work/l1/bin" "$work/l1/etc" "$work/l1/tmp" "$work/l1/proc" "$work/l1/sys" "$work/l1/dev"
cp "$BUSYBOX_BIN" "$work/l1/bin/busybox"
for a in sh echo cat ls id hostname sleep env pwd true false; do ln -s busybox "$work/l1/bin/$a"; done
printf 'root:x:0:0:root:/:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n' > "$work/l1/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' > "$work/l1/etc/group"
chmod 1777 "$work/l1/tmp"
# Layer 2: the application.
mkdir -p "$work/l2/app"
cat > "$work/l2/app/hello.sh" <<'APP'
echo "hello from a container on verity layers: uid=$(id -u) cwd=$(pwd) hostname=$(hostname)"
echo "GREETING=$GREETING"
APP
find "$work" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mktar "$work/l1" > "$work/l1.tar"; read -r l1 l1size < <(blob "$work/l1.tar")
mktar "$work/l2" > "$work/l2.tar"; read -r l2 l2size < <(blob "$work/l2.tar")

cat > "$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"User":"1000:1000","Env":["PATH=/bin","GREETING=hello"],"Entrypoint":["/bin/sh"],"Cmd":["/app/hello.sh"],"WorkingDir":"/app"},"rootfs":{"type":"layers","diff_ids":["$l1","$l2"]}}
JSON
read -r cfg cfgsize < <(blob "$work/config.json")
cat > "$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$cfg","size":$cfgsize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$l1","size":$l1size},{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$l2","size":$l2size}]}
JSON
read -r man mansize < <(blob "$work/manifest.json")
printf '{"imageLayoutVersion":"1.0.0"}\n' > "$oci/oci-layout"
cat > "$oci/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$man","size":$mansize}]}
JSON
echo "$oci"
