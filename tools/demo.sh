#!/usr/bin/env bash
# make demo: the whole flow a user runs, one readable line per step.
#
#   build image (make) -> sample OCI image -> verity layers (uvm layer) ->
#   policy (uvm policy gen) -> predicted measurement (uvm measure) ->
#   launch (uvm launch, HOST_DATA = policy hash) -> bind the policy ->
#   mount verity layers + encrypted scratch -> run the container's allowed
#   command and show its output -> a denied action with its reason ->
#   attestation report with a fresh nonce, verified (uvm verify) -> shutdown.
#
# This machine has no SEV-SNP: the demo uses the test flavour, whose
# simulated PSP signs with test keys (tests/pki) that `uvm verify` accepts
# only with --trust-root. `make demo SNP=1` on an SNP host prints the
# production launch command instead (uvm launch --snp).
set -euo pipefail
cd "$(dirname "$0")/.."
uvm=out/bin/uvm
work=${DEMO_DIR:-out/demo}
rm -rf "$work"; mkdir -p "$work"
sock="$work/agent.sock"
qemu_pid=

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
say() { printf '    %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; [ -f "$work/console.log" ] && tail -n 20 "$work/console.log" >&2; exit 1; }
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true; }
trap cleanup EXIT

ctl() { "$uvm" ctl --socket "$sock" "$@"; }
# ctl_ok OP ARGS: the result object of an ok response, or the demo stops.
ctl_ok() {
	local resp
	resp=$(ctl "$@") || fail "request $1 failed: $resp"
	jq -c .result <<<"$resp"
}

step "image: $(jq -r '.artifacts.bzImage.size' out/image-test/manifest.json) byte kernel, $(jq -r '.artifacts.initrd.size' out/image-test/manifest.json) byte initrd (test flavour; reproducible: make repro-check)"

step "sample OCI image from Debian's busybox-static (no registry)"
bash tools/demo/sample-image.sh "$work" >/dev/null
say "$(jq -r '.manifests[0].digest' "$work/oci/index.json")"

step "uvm layer: each OCI layer -> erofs image + dm-verity hash tree"
"$uvm" layer --image "$work/oci" --out "$work/layers" >/dev/null
jq -r '.[] | "    \(.digest[0:19])...  root_hash \(.root_hash[0:16])...  \(.data_blocks) blocks"' "$work/layers/layers.json"

step "uvm policy gen: the policy from the image config and the layer root hashes"
"$uvm" policy gen --image "$work/oci" -o "$work/policy.json"
"$uvm" policy check "$work/policy.json" >/dev/null || fail "generated policy does not pass uvm policy check"
policy_hash=$("$uvm" policy hash "$work/policy.json")
say "policy sha256 (= HOST_DATA) $policy_hash"

cmdline=$(jq -r .kernel_cmdline out/image-test/manifest.json)
step "uvm measure: predicted launch measurement (1 vCPU, EPYC-v4)"
measurement=$("$uvm" measure --mode snp --vcpus 1 --vcpu-type EPYC-v4 --ovmf out/image-test/OVMF.amdsev.fd \
	--kernel out/image-test/bzImage --initrd out/image-test/initrd --append "$cmdline")
say "$measurement"

if [ "${SNP:-0}" = 1 ]; then
	step "SNP host: production launch command (run it on the SNP host)"
	"$uvm" launch --snp --policy "$work/policy.json" --dry-run
	exit 0
fi

layer_disks=()
i=0
while read -r path; do
	layer_disks+=(--disk "layer$i=$work/layers/$path:ro")
	i=$((i + 1))
done < <(jq -r '.[].path' "$work/layers/layers.json")
truncate -s 64M "$work/scratch.img"

step "uvm launch: QEMU (TCG), HOST_DATA = policy hash, layers and scratch as virtio disks"
"$uvm" launch --policy "$work/policy.json" --socket "$sock" "${layer_disks[@]}" \
	--disk "scratch=$work/scratch.img" > "$work/console.log" 2>&1 &
qemu_pid=$!
for _ in $(seq 600); do
	grep -q 'uvm-init: ready' "$work/console.log" 2>/dev/null && break
	kill -0 "$qemu_pid" 2>/dev/null || fail "QEMU exited before the guest was ready"
	sleep 0.2
done
grep -q 'uvm-init: ready' "$work/console.log" || fail "the guest did not report ready within 120 s"
say "$(grep -o 'uvm-init: timestamp agent_ready [0-9.]*' "$work/console.log") s after kernel start"

step "bind the policy (accepted only because its SHA-256 equals HOST_DATA in a fresh report)"
say "$(ctl_ok set_policy --policy "$work/policy.json")"

step "mount the verity layers (root hashes from the policy) and an encrypted scratch"
layers_json="["
i=0
while read -r hash; do
	result=$(ctl_ok mount_device "{\"serial\":\"layer$i\",\"root_hash\":\"$hash\"}")
	say "layer$i -> $(jq -r .target <<<"$result")"
	layers_json+="$( [ $i -gt 0 ] && echo ,)$(jq -c .target <<<"$result")"
	i=$((i + 1))
done < <(jq -r '.[].root_hash' "$work/layers/layers.json")
layers_json+="]"
scratch=$(ctl_ok scratch_mount '{"serial":"scratch","encrypted":true}')
say "scratch -> $(jq -r .target <<<"$scratch") (dm-integrity + dm-crypt AES-GCM, key never leaves the guest)"
scratch_target=$(jq -r .target <<<"$scratch")
overlay=$(ctl_ok mount_overlay "{\"container_id\":\"demo\",\"layers\":$layers_json,\"scratch\":\"$scratch_target\"}")
say "container root -> $(jq -r .rootfs <<<"$overlay")"

step "create and start the sample container with exactly what the policy allows"
container=$(jq -c '.containers[0]' "$work/policy.json")
create=$(jq -c --argjson c "$container" -n '{container_id: "demo", argv: $c.argv,
	env: [$c.env[] | select(.strategy == "string" or .strategy == null) | .rule],
	working_dir: $c.working_dir, user: {uid: $c.user.uid, gid: $c.user.gid, umask: $c.user.umask},
	capabilities: $c.capabilities, no_new_privileges: ($c.no_new_privileges // false), stdio: true}')
ctl_ok create_container "$create" >/dev/null
ctl_ok start_container '{"container_id":"demo"}' >/dev/null
for _ in $(seq 300); do
	state=$(ctl_ok wait_process '{"container_id":"demo"}')
	[ "$(jq -r .state <<<"$state")" = exited ] && break
	sleep 0.2
done
say "exit status: $(jq -c 'del(.state)' <<<"$state")"
output=$(ctl_ok read_output '{"container_id":"demo","stream":"stdout"}')
base64 -d <<<"$(jq -r .data_base64 <<<"$output")" | sed 's/^/    | /'

step "a denied action: run a shell in the container (not in the policy)"
denied=$(ctl exec_in_container '{"container_id":"demo","process_id":"x","argv":["/bin/sh","-c","cat /etc/passwd"],"working_dir":"/"}' || true)
say "$(jq -r '.error.kind + ": " + .error.message' <<<"$denied")"
say "reason: $(jq -c '.error.reason.candidates[0].failed // .error.reason' <<<"$denied" | cut -c1-200)"

step "attestation report with a fresh nonce, verified against test root and its CRL, measurement, policy and nonce"
nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
report=$(ctl_ok get_report "{\"nonce\":\"$nonce\"}")
base64 -d <<<"$(jq -r .report_base64 <<<"$report")" > "$work/report.bin"
report_data=$(printf 'uvm-host-nonce-v1\0' | cat - <(xxd -r -p <<<"$nonce") | sha512sum | cut -d' ' -f1)
"$uvm" verify --report "$work/report.bin" --trust-root tests/pki/test-ark.pem --vcek tests/pki/test-vcek.pem \
	--chain tests/pki/test-ask-ark.pem --crl tests/pki/test-crl-valid.pem --measurement "$measurement" \
	--policy "$work/policy.json" --report-data "$report_data" | sed 's/^/    /'
say "(without --trust-root the same report is rejected: test keys are not AMD's)"

step "shutdown"
ctl_ok shutdown >/dev/null
wait "$qemu_pid" && qemu_pid= || fail "QEMU exited with an error"
say "$(grep -o 'uvm-init: powering off: .*' "$work/console.log")"
