"""Policy binding in the real image under QEMU (TCG): no policy governs the
guest unless SHA-256 of its exact bytes equals HOST_DATA of a fresh report.
The test flavour's simulated PSP takes HOST_DATA from the launcher, as the
real PSP takes it from the SNP launch."""
import base64
import hashlib
import json
import os
import subprocess

import pytest

from uvmvm import Vm

POLICY = json.dumps({"version": "1", "containers": []}, sort_keys=True).encode()
NO_POLICY = "no policy"


@pytest.fixture
def vms(tmp_path):
    started = []

    def start(**kw):
        vm = Vm.launch(tmp_path, **kw).start()
        started.append(vm)
        vm.wait_ready()
        return vm

    yield start
    for vm in started:
        vm.kill()


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policy.json"
    path.write_bytes(POLICY)
    return path


def set_policy(vm, data):
    return vm.request("set_policy", {"policy_base64": base64.b64encode(data).decode()})


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def test_matching_policy_is_bound_exactly_once(vms, policy_file):
    vm = vms(policy=policy_file)
    resp = set_policy(vm, POLICY)
    assert resp["ok"], resp
    assert resp["result"]["policy_sha256"] == sha256_hex(POLICY)
    vm.wait_console(r"uvm-init: policy bound: sha256 " + sha256_hex(POLICY))
    vm.wait_console(r"uvm-init: timestamp policy_bound \d+\.\d+")
    # The same policy again, or another one: refused, the bound one stays.
    for again in (POLICY, POLICY + b" "):
        resp = set_policy(vm, again)
        assert not resp["ok"] and resp["error"]["kind"] == "denied"
        assert "already bound" in resp["error"]["message"]
        assert sha256_hex(POLICY) in resp["error"]["message"]
    assert vm.request("get_report", {"nonce": "00"})["ok"]


def test_one_flipped_bit_in_host_data_denies_everything(vms):
    good = bytearray(hashlib.sha256(POLICY).digest())
    good[7] ^= 0x10
    host_data = good.hex()
    vm = vms(host_data=host_data)
    resp = set_policy(vm, POLICY)
    assert not resp["ok"] and resp["error"]["kind"] == "denied"
    reason = resp["error"]["reason"]
    assert reason == {"rule": "host_data_binding", "policy_sha256": sha256_hex(POLICY), "host_data": host_data}
    assert sha256_hex(POLICY) in resp["error"]["message"] and host_data in resp["error"]["message"]
    # Deny-all afterwards, every answer carrying both hashes.
    resp = vm.request("get_report", {"nonce": "01"})
    assert not resp["ok"] and resp["error"]["kind"] == "denied"
    assert sha256_hex(POLICY) in resp["error"]["message"] and host_data in resp["error"]["message"]
    # A different policy does not match either.
    resp = set_policy(vm, POLICY + b"\n")
    assert not resp["ok"] and "does not match HOST_DATA" in resp["error"]["message"]


def test_requests_before_a_policy_are_denied(vms, policy_file):
    vm = vms(policy=policy_file)
    for op, args in [("get_report", {"nonce": "aa"}), ("mount_device", {}), ("create_container", {})]:
        resp = vm.request(op, args)
        assert not resp["ok"], (op, resp)
        assert resp["error"]["kind"] in ("denied", "unknown_op"), resp
        if resp["error"]["kind"] == "denied":
            assert NO_POLICY in resp["error"]["message"]
    assert vm.request("ping")["ok"]


def test_oversize_policy_is_rejected_without_harm(vms, policy_file):
    vm = vms(policy=policy_file)
    big = b" " * (512 * 1024 + 1)
    resp = set_policy(vm, big)
    assert not resp["ok"] and resp["error"]["kind"] == "malformed"
    assert "policy limit" in resp["error"]["message"]
    # A frame over the 1 MiB limit: answered, skipped, the channel survives.
    vm.send_raw((2 * 1024 * 1024).to_bytes(4, "big") + b"x" * (2 * 1024 * 1024))
    resp = vm.recv_frame()
    assert not resp["ok"] and "outside 1..1048576" in resp["error"]["message"]
    assert set_policy(vm, POLICY)["ok"]


def test_report_through_the_agent_binds_host_data_and_nonce(vms, policy_file, tmp_path):
    vm = vms(policy=policy_file)
    assert set_policy(vm, POLICY)["ok"]
    nonce = os.urandom(32)
    resp = vm.request("get_report", {"nonce": nonce.hex()})
    assert resp["ok"], resp
    result = resp["result"]
    assert result["backend"] == "simulated-psp"
    report = base64.b64decode(result["report_base64"])
    assert len(report) == 1184
    assert int.from_bytes(report[0:4], "little") == 3
    assert report[0xC0:0xE0] == hashlib.sha256(POLICY).digest(), "HOST_DATA is the policy hash"
    want_rd = hashlib.sha512(b"uvm-host-nonce-v1\0" + nonce).digest()
    assert report[0x50:0x90] == want_rd and result["report_data"] == want_rd.hex()
    path = tmp_path / "report.bin"
    path.write_bytes(report)
    verify = subprocess.run(["out/bin/uvm", "verify", "--report", str(path), "--trust-root", "tests/pki/test-ark.pem",
                             "--vcek", "tests/pki/test-vcek.pem", "--chain", "tests/pki/test-ask-ark.pem",
                             "--policy", str(policy_file), "--report-data", want_rd.hex()],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_production_image_without_snp_fails_closed(vms, policy_file):
    vm = vms(image="out/image", policy=policy_file)
    vm.wait_console(r"uvm-init: fail closed: no SNP attestation back-end")
    resp = set_policy(vm, POLICY)
    assert not resp["ok"] and resp["error"]["kind"] == "denied"
    assert "fail closed" in resp["error"]["message"]
    resp = vm.request("get_report", {"nonce": "00"})
    assert not resp["ok"] and "fail closed" in resp["error"]["message"]


TEST_ONLY_MARKERS = [b"simulated PSP", b"simulated-psp", b"opt/uvm/host_data"]


def test_production_binary_has_no_simulated_psp():
    prod = open("out/guest/init", "rb").read()
    test = open("out/guest-test/init", "rb").read()
    for marker in TEST_ONLY_MARKERS:
        assert marker in test, f"marker {marker!r} should identify the test flavour's simulated PSP"
        assert marker not in prod, f"production PID 1 contains test-only {marker!r}"
    # The test VCEK private key (its DER prefix after the PKCS#8 header) is absent too.
    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_private_key(open("tests/pki/test-vcek-key.pem", "rb").read(), None)
    scalar = key.private_numbers().private_value.to_bytes(48, "big")
    assert scalar in test and scalar not in prod
