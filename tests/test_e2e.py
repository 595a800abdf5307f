"""The whole flow a user runs (tools/demo.sh), as one automated test under
QEMU (TCG), plus the attacks of a malicious host that the per-component
suites do not already cover (docs/threat-model.md maps every attack to its
test).

Flow: sample OCI image (tools/demo/sample-image.sh) -> `uvm layer --image`
-> `uvm policy gen` -> `uvm measure` -> `uvm launch` (HOST_DATA = policy
hash, layers and scratch as disks) -> set_policy -> verity layers +
encrypted scratch + overlay -> the image's command runs and its output
reaches the host -> a denial with its reason -> get_report with a fresh
nonce -> `uvm verify` with trust root, measurement, policy and report data
-> shutdown, QEMU exits 0.

One VM serves the module (a TCG boot costs about a minute): the tests run
in file order, each builds on the state the previous ones left, and each
docstring says what it proves. The policy is the generated one plus one
extra container, "probe", whose third layer plants symlinks that try to
lead out of the container root."""
import base64
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from uvmvm import UVM, Vm, denied, ok, poll, read_stream

IMAGE = os.environ.get("UVM_TEST_IMAGE", "out/image-test")
WAIT_DEADLINE = 60
NONCE_LABEL = b"uvm-host-nonce-v1\0"
PKI = {"vcek": "tests/pki/test-vcek.pem", "chain": "tests/pki/test-ask-ark.pem", "ark": "tests/pki/test-ark.pem"}
CAPS_NONE = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
# What the sample image's /app/hello.sh prints for the generated policy (user 1000, cwd /app).
HELLO = b"hello from a container on verity layers: uid=1000 cwd=/app hostname=demo\nGREETING=hello\n"

# The probe: a layer of symlinks an image could carry, aimed out of the root.
PROBE_SYMLINKS = {
    "evil/up": "../../../../../../..",        # relative climb past the root
    "evil/proc1root": "/proc/1/root",         # "the root of PID 1" (the UVM's, if it were visible)
    "evil/uvmlayers": "/run/layers",          # an absolute path that means something in the UVM
}
PROBE_MOUNT = {"source": "tmpfs", "destination": "/evil/uvmlayers", "type": "tmpfs", "options": ["nosuid", "nodev"]}
PROBE_ARGV = ["/bin/sh", "-c",
              "echo cwd:; ls -a; echo up:; cd /evil/up && ls -a; echo layers:; ls -a /run/layers; "
              "echo mountinfo:; cat /proc/self/mountinfo"]


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)


def probe_layer(work):
    """A one-layer tar of PROBE_SYMLINKS plus an empty /run/layers (the
    mount's real destination inside the container), built with `uvm layer`."""
    tar_path = work / "probe.tar"
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        def add(name, kind, target=""):
            info = tarfile.TarInfo(name)
            info.type, info.mtime, info.linkname = kind, 1700000000, target
            info.mode = 0o777 if kind == tarfile.SYMTYPE else 0o755
            tar.addfile(info)
        for d in ("evil", "run", "run/layers"):
            add(d, tarfile.DIRTYPE)
        for name, target in PROBE_SYMLINKS.items():
            add(name, tarfile.SYMTYPE, target)
    out = work / "probe"
    r = sh(UVM, "layer", "--tar", tar_path, "--out", out)
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads((out / "layers.json").read_text())
    return entry, out / entry["path"]


def sample_layers(work):
    """The demo's sample OCI image (tools/demo/sample-image.sh) in work/oci,
    converted by `uvm layer` into work/layers; returns layers.json."""
    r = sh("bash", "tools/demo/sample-image.sh", work)
    assert r.returncode == 0, r.stderr
    r = sh(UVM, "layer", "--image", work / "oci", "--out", work / "layers")
    assert r.returncode == 0, r.stderr
    return json.loads((work / "layers" / "layers.json").read_text())


def generated_policy(work, layers):
    """`uvm policy gen` from the image and its layers.json."""
    r = sh(UVM, "policy", "gen", "--image", work / "oci", "--layers", work / "layers" / "layers.json")
    assert r.returncode == 0, f"uvm policy gen failed: {r.stderr}"
    policy = json.loads(r.stdout)
    assert policy["containers"][0]["layers"] == [l["root_hash"] for l in layers]
    return policy


def probe_container(base_hash, probe_hash):
    return {"name": "probe", "layers": [base_hash, probe_hash], "argv": PROBE_ARGV, "env": [],
            "working_dir": "/evil/proc1root", "mounts": [PROBE_MOUNT],
            "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": CAPS_NONE,
            "no_new_privileges": True, "allow_stdio_access": True}


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    work = tmp_path_factory.mktemp("e2e")
    layers = sample_layers(work)
    assert len(layers) == 2
    probe, probe_img = probe_layer(work)
    policy = generated_policy(work, layers)
    policy["containers"].append(probe_container(layers[0]["root_hash"], probe["root_hash"]))
    policy_bytes = json.dumps(policy, indent=1).encode()
    (work / "policy.json").write_bytes(policy_bytes)
    r = sh(UVM, "policy", "check", work / "policy.json")
    assert r.returncode == 0, r.stdout + r.stderr
    manifest = json.loads(open(os.path.join(IMAGE, "manifest.json")).read())
    r = sh(UVM, "measure", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
           "--ovmf", f"{IMAGE}/OVMF.amdsev.fd", "--kernel", f"{IMAGE}/bzImage", "--initrd", f"{IMAGE}/initrd",
           "--append", manifest["kernel_cmdline"])
    assert r.returncode == 0, r.stderr
    measurement = r.stdout.split()[0]
    scratch = work / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(32 << 20)
    disks = [(f"layer{i}", work / "layers" / l["path"], "ro") for i, l in enumerate(layers)]
    disks += [("probe", probe_img, "ro"), ("scratch", scratch)]
    vm = Vm.launch(work, image=IMAGE, policy=work / "policy.json", disks=disks).start()
    try:
        vm.wait_ready()
        yield {"vm": vm, "work": work, "layers": layers, "probe": probe, "policy": policy,
               "policy_bytes": policy_bytes, "measurement": measurement, "state": {}}
    finally:
        vm.kill()


def target(entry):
    return "/run/layers/" + entry["root_hash"]


def create_args(spec, cid, **override):
    """The create request that asks for exactly what the policy container allows."""
    args = {"container_id": cid, "argv": spec["argv"], "env": [e["rule"] for e in spec["env"]],
            "working_dir": spec["working_dir"], "mounts": spec.get("mounts", []),
            "user": {k: spec["user"][k] for k in ("uid", "gid", "name", "group", "umask") if k in spec["user"]}, "capabilities": spec["capabilities"],
            "no_new_privileges": spec.get("no_new_privileges", False), "stdio": True}
    args.update(override)
    return args


def run_to_exit(vm, cid):
    """Starts a created container, waits for its exit, returns (status, stdout)."""
    ok(vm.request("start_container", {"container_id": cid}))
    status = poll(vm, "wait_process", {"container_id": cid}, lambda r: r["state"] == "exited")
    return status, read_stream(vm, {"container_id": cid, "stream": "stdout"})


def verify(report_path, measurement, policy_path, report_data, trust_root=True, certs=None, extra=()):
    certs = certs if certs is not None else ["--vcek", PKI["vcek"], "--chain", PKI["chain"]]
    cmd = [UVM, "verify", "--report", report_path, *certs,
           "--measurement", measurement, "--policy", policy_path, "--report-data", report_data, "--json", *extra]
    if trust_root:
        cmd += ["--trust-root", PKI["ark"]]
    r = sh(*cmd)
    try:
        checks = {c["name"]: c["result"] for c in json.loads(r.stdout)["checks"]}
    except ValueError:
        checks = {}
    return r, checks


# ----------------------------------------------------------------- before the policy

def test_the_whole_flow_before_the_policy_is_denied(flow):
    """Proves: before set_policy, every request of the real flow, with valid
    arguments for disks that exist, is denied with "no policy" (not just
    empty requests: test_binding covers those), and none of them left
    state behind (the same mounts succeed after binding, next tests)."""
    vm, layers = flow["vm"], flow["layers"]
    steps = [
        ("mount_device", {"serial": "layer0", "root_hash": layers[0]["root_hash"]}),
        ("scratch_mount", {"serial": "scratch", "encrypted": True}),
        ("mount_overlay", {"container_id": "demo", "layers": [target(l) for l in layers],
                           "scratch": "/run/scratch/scratch"}),
        ("create_container", create_args(flow["policy"]["containers"][0], "demo")),
        ("start_container", {"container_id": "demo"}),
        ("exec_external", {"process_id": "x", "argv": ["/bin/sh"], "working_dir": "/"}),
        ("get_report", {"nonce": "00" * 32}),
        ("read_output", {"container_id": "demo", "stream": "stdout"}),
    ]
    for op, args in steps:
        err = denied(vm.request(op, args))
        assert "no policy" in err["message"], (op, err)
    assert ok(vm.request("ping")) == {"pong": True}


# ----------------------------------------------------------------- the flow

def test_generated_policy_binds(flow):
    """Proves: the policy `uvm policy gen` wrote (plus the probe) is the one
    `uvm launch` put in HOST_DATA, and the guest binds it."""
    result = ok(flow["vm"].request("set_policy",
                                   {"policy_base64": base64.b64encode(flow["policy_bytes"]).decode()}))
    assert result["policy_sha256"] == hashlib.sha256(flow["policy_bytes"]).hexdigest()
    assert result["containers"] == 2


def test_layers_scratch_and_overlays_mount(flow):
    """Proves: the image's layers mount through dm-verity (each read in full
    against its tree), an encrypted scratch mounts, and overlays from the
    policy's layer lists are accepted."""
    vm, layers, probe = flow["vm"], flow["layers"], flow["probe"]
    for i, entry in enumerate(layers):
        r = ok(vm.request("mount_device", {"serial": f"layer{i}", "root_hash": entry["root_hash"], "verify": True}))
        assert r["target"] == target(entry) and r["verified"] is True
    ok(vm.request("mount_device", {"serial": "probe", "root_hash": probe["root_hash"]}))
    scratch = ok(vm.request("scratch_mount", {"serial": "scratch", "encrypted": True}))
    assert scratch["encrypted"] is True
    flow["state"]["scratch"] = scratch["target"]
    # Two writable layers of 8 MiB share the 32 MiB scratch (without
    # scratch_bytes the first would take all of it).
    r = ok(vm.request("mount_overlay", {"container_id": "demo", "layers": [target(l) for l in layers],
                                        "scratch": scratch["target"], "scratch_bytes": 8 << 20}))
    assert r["rootfs"] == "/run/containers/demo/rootfs" and r["upper_bytes"] == 8 << 20, r
    ok(vm.request("mount_overlay", {"container_id": "probe", "layers": [target(layers[0]), target(probe)],
                                    "scratch": scratch["target"], "scratch_bytes": 8 << 20}))


@pytest.mark.parametrize("name,bad", [
    # container ids that would put the overlay somewhere else
    ("id_dotdot", ("mount_overlay", {"container_id": "..", "layers": "LAYERS", "scratch": "SCRATCH"})),
    ("id_climb", ("mount_overlay", {"container_id": "../../layers/x", "layers": "LAYERS", "scratch": "SCRATCH"})),
    ("id_slash", ("mount_overlay", {"container_id": "demo/rootfs", "layers": "LAYERS", "scratch": "SCRATCH"})),
    # layer and scratch paths that name a mounted layer by a detour
    ("layer_detour", ("mount_overlay", {"container_id": "d2", "layers": ["/run/layers/../layers/L0", "/run/layers/L1"],
                                        "scratch": "SCRATCH"})),
    ("layer_in_layer", ("mount_overlay", {"container_id": "d2", "layers": ["/run/layers/L0/..", "/run/layers/L1"],
                                          "scratch": "SCRATCH"})),
    ("scratch_detour", ("mount_overlay", {"container_id": "d2", "layers": "LAYERS",
                                          "scratch": "/run/scratch/scratch/../../layers/L0"})),
    # unmounts of something in use, reached by another path
    ("unmount_device_detour", ("unmount_device", {"target": "/run/layers/../layers/L0"})),
    ("unmount_device_climb", ("unmount_device", {"target": "/run/containers/demo/rootfs/../../../layers/L0"})),
    ("unmount_device_trailing", ("unmount_device", {"target": "/run/layers/L0/."})),
    ("unmount_overlay_detour", ("unmount_overlay", {"target": "/run/containers/probe/../demo/rootfs"})),
    ("unmount_overlay_layer", ("unmount_overlay", {"target": "/run/containers/../layers/L0"})),
    ("scratch_unmount_detour", ("scratch_unmount", {"target": "/run/scratch/../scratch/scratch"})),
    ("unmount_root", ("unmount_device", {"target": "/"})),
])
def test_path_traversal_in_storage_targets_is_refused(flow, name, bad):
    """Proves: a host-named path with "..", "." or a detour to something that
    exists is refused before anything is touched: malformed or denied, or
    for the scratch "failed: no scratch disk is mounted at ..." (the agent
    looks the path up among its own mounts, exactly). The agent and engine
    compare exact guest-chosen paths, they never resolve the host's. The
    next test shows nothing was mounted or unmounted."""
    vm, layers = flow["vm"], flow["layers"]
    text = json.dumps(bad[1])
    text = text.replace('"LAYERS"', json.dumps([target(l) for l in layers]))
    text = text.replace('"SCRATCH"', json.dumps(flow["state"]["scratch"]))
    text = text.replace("L0", layers[0]["root_hash"]).replace("L1", layers[1]["root_hash"])
    err = denied(vm.request(bad[0], json.loads(text)), kinds=("denied", "malformed", "failed"))
    if err["kind"] == "failed":
        assert "no scratch disk is mounted" in err["message"], err


def test_storage_state_survived_the_traversal_attempts(flow):
    """Proves: after the refused paths, the layers are still mounted and in
    use (unmounting the base layer is denied because an overlay uses it) and
    no stray overlay was created (a second overlay for an id the attempts
    named is still possible)."""
    vm, layers = flow["vm"], flow["layers"]
    err = denied(vm.request("unmount_device", {"target": target(layers[0])}))
    assert "overlay" in json.dumps(err).lower(), err
    ok(vm.request("mount_overlay", {"container_id": "d2", "layers": [target(l) for l in layers],
                                    "scratch": flow["state"]["scratch"], "scratch_bytes": 8 << 20}))
    ok(vm.request("unmount_overlay", {"target": "/run/containers/d2/rootfs"}))


@pytest.mark.parametrize("name,change", [
    ("value_changed", lambda env: [e if not e.startswith("GREETING=") else "GREETING=hello2" for e in env]),
    ("path_extended", lambda env: [e if not e.startswith("PATH=") else "PATH=/bin:/tmp" for e in env]),
    ("one_added", lambda env: env + ["LD_PRELOAD=/tmp/x.so"]),
    ("one_replaced", lambda env: env[:-1] + ["HOME=/"]),
])
def test_env_differing_by_one_item_is_denied(flow, name, change):
    """Proves: against the generated policy, a create whose environment
    differs from the image's by one item (changed value, extended PATH,
    added or replaced variable) is denied with the env rule as reason, and
    the value itself is not echoed back (redacted)."""
    spec = flow["policy"]["containers"][0]
    args = create_args(spec, "demo")
    args["env"] = change(args["env"])
    err = denied(flow["vm"].request("create_container", args))
    cand = [c for c in err["reason"]["candidates"] if c.get("name") == spec["name"]]
    assert cand and "env" in {f["rule"] for f in cand[0]["failed"]}, err["reason"]


def test_allowed_command_runs_and_its_output_reaches_the_host(flow):
    """Proves: the image's own command, asked for exactly as the generated
    policy allows, runs from the verity layers on the encrypted scratch as
    the image's user, in its working dir, with its environment, and its
    output reaches the host."""
    vm, spec = flow["vm"], flow["policy"]["containers"][0]
    ok(vm.request("create_container", create_args(spec, "demo")))
    status, out = run_to_exit(vm, "demo")
    assert status == {"state": "exited", "exit_code": 0}
    assert out == HELLO


def test_denied_action_carries_its_reason(flow):
    """Proves (the demo's denial): a shell in the container is denied, and
    the reason names the failed rule for the container's candidate."""
    err = denied(flow["vm"].request("exec_in_container", {
        "container_id": "demo", "process_id": "sh", "argv": ["/bin/sh", "-c", "cat /etc/passwd"],
        "working_dir": "/"}))
    assert err["reason"], err


def test_symlinks_in_a_layer_stay_inside_the_container(flow):
    """Proves: symlinks an image plants (a relative climb past /, a working
    dir that is /proc/1/root, a mount destination that is an absolute link
    to /run/layers) all resolve inside the container's own root: the
    working dir and the climb list the container root (the probe layer's
    evil/, not the UVM's /init), and the policy's tmpfs lands on the
    container's /run/layers (empty), not on the UVM's, whose layers stay
    mounted (unmounting one is still refused as in use)."""
    vm, layers = flow["vm"], flow["layers"]
    spec = flow["policy"]["containers"][1]
    ok(vm.request("create_container", create_args(spec, "probe")))
    status, out = run_to_exit(vm, "probe")
    text = out.decode()
    assert status == {"state": "exited", "exit_code": 0}, text
    cwd = text.split("cwd:\n", 1)[1].split("up:\n", 1)[0].split()
    up = text.split("up:\n", 1)[1].split("layers:\n", 1)[0].split()
    run_layers = text.split("layers:\n", 1)[1].split("mountinfo:\n", 1)[0].split()
    mountinfo = text.split("mountinfo:\n", 1)[1].splitlines()
    container_root = {"bin", "etc", "evil", "run"}
    for listing in (cwd, up):
        assert container_root <= set(listing) and "init" not in listing, text
    assert set(run_layers) == {".", ".."}, text  # no layer hashes: not the UVM's /run/layers
    tmpfs = [m for m in mountinfo if m.split()[4] == "/run/layers"]
    assert tmpfs and " - tmpfs " in tmpfs[-1], text
    # The UVM's layer mounts are not in the container's namespace (their
    # paths appear only in the overlay's options: layer hashes are public).
    assert not any(m.split()[4].startswith("/run/layers/") for m in mountinfo if m.strip()), text
    denied(vm.request("unmount_device", {"target": target(layers[0])}))


# ----------------------------------------------------------------- attestation

def test_host_cannot_choose_report_data(flow):
    """Proves: get_report has no way to carry host-chosen REPORT_DATA: a
    request with "report_data" (or any extra argument) is malformed, nonces
    outside 1..64 bytes are malformed, and the returned REPORT_DATA is
    always SHA-512("uvm-host-nonce-v1\\0" || nonce), even when the nonce is
    the very value the host would like as REPORT_DATA (e.g. the hash of a
    workload's key): it is hashed under the label, never used as is."""
    vm = flow["vm"]
    wanted = hashlib.sha512(b"a workload's public key").digest()
    for args in ({"nonce": "00", "report_data": wanted.hex()}, {"report_data": wanted.hex()},
                 {"nonce": ""}, {"nonce": "00" * 65}, {"nonce": "zz"}):
        denied(vm.request("get_report", args), kinds=("malformed",))
    result = ok(vm.request("get_report", {"nonce": wanted.hex()}))
    report = base64.b64decode(result["report_base64"])
    labelled = hashlib.sha512(NONCE_LABEL + wanted).digest()
    assert report[0x50:0x90] == labelled != wanted
    assert result["report_data"] == labelled.hex()


def test_fresh_report_verifies_with_every_expectation(flow):
    """Proves (the demo's last step): a report for a fresh nonce passes `uvm
    verify` with the test root, the predicted measurement, the policy (its
    hash = HOST_DATA) and the nonce's labelled report data; every check
    named passes."""
    vm, work = flow["vm"], flow["work"]
    nonce = os.urandom(32)
    result = ok(vm.request("get_report", {"nonce": nonce.hex()}))
    path = work / "report.bin"
    path.write_bytes(base64.b64decode(result["report_base64"]))
    flow["state"]["report"] = path
    rd = hashlib.sha512(NONCE_LABEL + nonce).hexdigest()
    r, checks = verify(path, flow["measurement"], work / "policy.json", rd)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("chain.ark_trusted", "report.signature", "identity", "measurement", "host_data", "report_data",
                 "tcb.order", "tcb.provisional"):
        assert checks.get(name) == "pass", (name, checks)


def test_replayed_report_fails_against_a_new_nonce(flow):
    """Proves: the host cannot answer a new challenge with an old report:
    verified against a new nonce's report data it is rejected (exit 1) on
    report_data alone; the signature, chain and bindings still pass, so the
    nonce is the only thing that makes it stale."""
    nonce = os.urandom(32)
    rd = hashlib.sha512(NONCE_LABEL + nonce).hexdigest()
    r, checks = verify(flow["state"]["report"], flow["measurement"], flow["work"] / "policy.json", rd)
    assert r.returncode == 1, r.stdout + r.stderr
    assert checks["report_data"] == "fail"
    assert [n for n, v in checks.items() if v == "fail"] == ["report_data"], checks


def test_test_flavour_report_without_the_test_root_fails_on_the_chain(flow):
    """Proves: a report signed by the test flavour's simulated PSP is
    rejected by a verifier that trusts only AMD's pinned roots (no
    --trust-root): the ARK is not AMD's, so chain.ark_trusted fails."""
    path = flow["state"]["report"]
    rd = base64.b16encode(open(path, "rb").read()[0x50:0x90]).decode().lower()
    r, checks = verify(path, flow["measurement"], flow["work"] / "policy.json", rd, trust_root=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert checks["chain.ark_trusted"] == "fail", checks


@pytest.mark.parametrize("crl, exit_code, failed", [
    ("test-crl-valid.pem", 0, []),
    ("test-crl-vcek.pem", 1, ["crl.vcek_not_revoked"]),
    ("test-crl-ask.pem", 1, ["crl.ask_not_revoked"]),
    ("test-crl-wrong-key.pem", 1, ["crl.signed_by_ark"]),
    ("test-crl-expired.pem", 1, ["crl.valid"]),
])
def test_revocation_of_the_reports_signer_is_checked(flow, crl, exit_code, failed):
    """Proves: the image's real report, otherwise acceptable, is rejected when the test root's CRL
    revokes its VCEK or ASK, or when the CRL handed over is expired or not signed by the ARK; the
    failing check is the only one."""
    path = flow["state"]["report"]
    rd = base64.b16encode(open(path, "rb").read()[0x50:0x90]).decode().lower()
    r, checks = verify(path, flow["measurement"], flow["work"] / "policy.json", rd,
                       extra=("--crl", "tests/pki/" + crl))
    assert r.returncode == exit_code, r.stdout + r.stderr
    assert [n for n, v in checks.items() if v == "fail"] == failed, checks


def test_certificates_in_any_order_and_no_silent_accept(flow):
    """Proves: the certificates the host hands over in one shuffled bundle (ARK, VCEK, ASK, in the
    --vcek file alone) verify the image's report, each picked by its role; the same report with no
    expectation about the guest is refused (exit 2), never ACCEPTED."""
    path, work = flow["state"]["report"], flow["work"]
    rd = base64.b16encode(open(path, "rb").read()[0x50:0x90]).decode().lower()
    bundle = work / "shuffled.pem"
    bundle.write_text(open(PKI["ark"]).read() + open(PKI["vcek"]).read() + open("tests/pki/test-ask.pem").read())
    r, checks = verify(path, flow["measurement"], work / "policy.json", rd, certs=["--vcek", str(bundle)])
    assert r.returncode == 0, r.stdout + r.stderr
    roles = {c["role"]: c["subject"] for c in json.loads(r.stdout)["certificates"]}
    assert roles["VCEK"].endswith("SEV-VCEK") and roles["ARK"].startswith("CN=ARK"), roles
    r = sh(UVM, "verify", "--report", path, "--vcek", PKI["vcek"], "--chain", PKI["chain"], "--trust-root",
           PKI["ark"])
    assert r.returncode == 2 and "--no-expectations" in r.stderr and "ACCEPTED" not in r.stdout, r.stdout + r.stderr


# ----------------------------------------------------------------- the channel

def reconnect(vm):
    """Closes the channel and reconnects once the guest has seen the hang-up
    (virtio-serial reports it as a port state: see test_runtime)."""
    vm.sock.close()
    vm.sock = None
    time.sleep(2)
    deadline = time.monotonic() + WAIT_DEADLINE
    while True:
        try:
            vm.connect()
            return ok(vm.request("ping"))
        except (OSError, AssertionError):
            if time.monotonic() > deadline:
                raise
            vm.sock = None
            time.sleep(0.5)


def test_truncated_messages_then_reconnect(flow):
    """Proves: a header alone, then half a body, each followed by a
    disconnect, leave the agent answering the next connection's requests;
    a complete frame whose JSON is cut short is answered malformed on the
    same connection; and the bound policy and containers survive it all."""
    vm = flow["vm"]
    vm.send_raw((200).to_bytes(4, "big"))
    assert reconnect(vm) == {"pong": True}
    body = json.dumps({"id": 9, "op": "get_report", "args": {"nonce": "00"}}).encode()
    vm.send_raw(len(body).to_bytes(4, "big") + body[: len(body) // 2])
    assert reconnect(vm) == {"pong": True}
    vm.send_frame(body[: len(body) // 2])
    denied(vm.recv_frame(), kinds=("malformed",))
    result = ok(vm.request("wait_process", {"container_id": "demo"}))
    assert result == {"state": "exited", "exit_code": 0}
    err = denied(vm.request("set_policy", {"policy_base64": base64.b64encode(flow["policy_bytes"]).decode()}))
    assert "already bound" in err["message"]


def test_shutdown_is_clean(flow):
    """Proves: the flow ends with a clean power-off: QEMU exits 0."""
    vm = flow["vm"]
    assert ok(vm.request("shutdown")) == {"powering_off": True}
    assert vm.wait_exit() == 0
