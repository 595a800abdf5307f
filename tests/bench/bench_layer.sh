#!/usr/bin/env bash
# Layer build throughput: `uvm layer` (tar -> erofs + our verity tree) against
# `veritysetup format` (the hash tree alone) on the same data, in one run.
# Prints one JSON object. Usage: bench_layer.sh [MIB] [UVM_BINARY]
#   MIB      payload size in MiB (default 256), incompressible random files
#   UVM      default out/bin/uvm (build it with: make out/bin/uvm)
# Needs root, mkfs.erofs and veritysetup. Work files go to a temporary
# directory under ${TMPDIR:-/tmp}, removed at exit.
set -euo pipefail
mib=${1:-256}
uvm=${2:-out/bin/uvm}
[[ $mib =~ ^[0-9]+$ && $mib -ge 1 ]] || { echo "bench_layer: MIB must be a positive integer" >&2; exit 2; }
[[ -x $uvm ]] || { echo "bench_layer: $uvm not found (make out/bin/uvm)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_layer.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 16 MiB files of random bytes, plus a tree of small files (metadata cost).
mkdir -p "$work/src/small"
for ((i = 0; i < (mib + 15) / 16; i++)); do
	head -c $((16 << 20)) /dev/urandom > "$work/src/big$i"
done
for ((i = 0; i < 2000; i++)); do echo "file $i" > "$work/src/small/f$i"; done
tar --format=pax --sort=name --mtime=@1600000000 --owner=0 --group=0 --numeric-owner \
	-C "$work/src" -cf "$work/layer.tar" .
tar_bytes=$(stat -c %s "$work/layer.tar")

now() { date +%s.%N; }
t0=$(now)
"$uvm" layer --tar "$work/layer.tar" --out "$work/out" > /dev/null
t1=$(now)
img=$(ls "$work"/out/*.img)
data_blocks=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["data_blocks"])' "$work/out/layers.json")
data_bytes=$((data_blocks * 4096))

# veritysetup on the same erofs data (hash tree into a separate file).
head -c "$data_bytes" "$img" > "$work/data.erofs"
sync
t2=$(now)
veritysetup format "$work/data.erofs" "$work/hash.vs" --salt=00 > /dev/null
t3=$(now)
python3 - "$t0" "$t1" "$t2" "$t3" "$tar_bytes" "$data_bytes" "$mib" <<'PY'
import json, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
tar_bytes, data_bytes, mib = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
M = 1 << 20
print(json.dumps({
    "payload_mib": mib,
    "tar_bytes": tar_bytes,
    "erofs_bytes": data_bytes,
    "uvm_layer_seconds": round(t1 - t0, 3),
    "uvm_layer_mb_per_s": round(tar_bytes / M / (t1 - t0), 1),
    "veritysetup_format_seconds": round(t3 - t2, 3),
    "veritysetup_format_mb_per_s": round(data_bytes / M / (t3 - t2), 1),
    "note": "uvm layer = untar + mkfs.erofs + verity tree; veritysetup = tree only",
}))
PY
