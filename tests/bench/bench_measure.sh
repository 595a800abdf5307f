#!/usr/bin/env bash
# bench_measure.sh IMAGE_DIR [RUNS] [UVM]: how long `uvm measure` takes on a built image,
# against hashing the same bytes with OpenSSL alone in the same run (`openssl dgst -sha384`
# over the firmware, `openssl dgst -sha256` over kernel and initrd: the hashing that cannot
# be avoided), and how long --matrix (16 vCPU counts x 5 CPU types) takes.
# Each time is the best of RUNS (default 20) wall-clock runs. Prints one JSON object.
# No pass/fail: the target is ratio <= 1.3.
set -euo pipefail

dir=${1:?usage: bench_measure.sh IMAGE_DIR [RUNS] [UVM]}
runs=${2:-20}
uvm=${3:-out/bin/uvm}
append="console=ttyS0 panic=-1"
ovmf=$dir/OVMF.amdsev.fd kernel=$dir/bzImage initrd=$dir/initrd

for f in "$ovmf" "$kernel" "$uvm"; do
	[[ -f $f ]] || { echo "bench_measure.sh: $f: missing (build the image and out/bin/uvm first)" >&2; exit 2; }
done
files=("$kernel")
initrd_args=()
if [[ -f $initrd ]]; then
	files+=("$initrd")
	initrd_args=(--initrd "$initrd")
fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench_measure.sh: RUNS must be a positive number" >&2; exit 2; }

# best_of CMD...: the shortest wall-clock time of $runs runs, in nanoseconds.
best_of() {
	local best= t0 t1 i
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s%N)
		"$@" > /dev/null
		t1=$(date +%s%N)
		if [[ -z $best ]] || ((t1 - t0 < best)); then best=$((t1 - t0)); fi
	done
	echo "$best"
}

measure_one() {
	"$uvm" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf "$ovmf" \
		--kernel "$kernel" "${initrd_args[@]}" --append "$append"
}
measure_matrix() {
	"$uvm" measure --mode snp --matrix --ovmf "$ovmf" --kernel "$kernel" "${initrd_args[@]}" --append "$append"
}
openssl_alone() {
	openssl dgst -sha384 "$ovmf" && openssl dgst -sha256 "${files[@]}"
}

# warm the page cache so every contender reads from memory
cat "$ovmf" "${files[@]}" > /dev/null

uvm_ns=$(best_of measure_one)
ssl_ns=$(best_of openssl_alone)
matrix_ns=$(best_of measure_matrix)
bytes=$(stat -c %s "$ovmf" "${files[@]}" | awk '{s += $1} END {print s}')

awk -v u="$uvm_ns" -v o="$ssl_ns" -v m="$matrix_ns" -v b="$bytes" -v r="$runs" 'BEGIN {
	printf "{\"runs\": %d, \"bytes_hashed\": %d, \"uvm_measure_s\": %.6f, \"openssl_alone_s\": %.6f, ", r, b, u / 1e9, o / 1e9
	printf "\"ratio\": %.3f, \"matrix_variants\": 80, \"matrix_s\": %.6f}\n", u / o, m / 1e9
}'
