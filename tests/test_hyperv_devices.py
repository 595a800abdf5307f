"""What the UVM needs on Hyper-V's VMBus, tested where QEMU can show it
(docs/hyperv.md, "Devices").

Disks on a SCSI bus, found by controller and LUN: Hyper-V gives the UVM its
layer and scratch disks on storvsc SCSI controllers, not as virtio-blk. Under QEMU the same guest code runs against virtio-scsi
controllers: `uvm launch --disk scsi<C>-lun<L>=PATH` attaches a disk there,
and requests name it "scsi<C>-lun<L>" (lib/disk_name.h,
agent/blockdev_scsi.c).

The host is the attacker: it chooses which disk sits at which address, may
give a virtio disk a serial that looks like a SCSI address, and may name an
address where nothing is. A layer is still only what dm-verity accepts with
the policy's root hash, and the scratch only what the guest's own key
authenticates."""
import base64
import json
import os
import re
import shlex
import subprocess

import pytest

from test_storage import CAPS_NONE, build_layer
from uvmvm import KERNEL_CMDLINE, UVM, Vm, ok, poll, qemu_command, read_stream

IMAGE = os.environ.get("UVM_TEST_IMAGE", "out/image-test")


def failed(resp, *words):
    assert not resp["ok"], resp
    for w in words:
        assert w in resp["error"]["message"], resp
    return resp["error"]["message"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("scsi")
    base = build_layer(work, "base", {"etc/hello.txt": b"hello over SCSI\n"})
    with open("/bin/busybox", "rb") as f:
        tools = build_layer(work, "tools", {"bin/busybox": f.read()}, {"bin/cat": "busybox"})
    stranger = build_layer(work, "stranger", {"x": b"not in the policy\n"})
    scratch = work / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(64 << 20)
    policy = json.dumps({"version": "1", "containers": [{
        "name": "reader", "layers": [tools["root_hash"], base["root_hash"]], "argv": ["/bin/cat", "/etc/hello.txt"],
        "working_dir": "/", "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": CAPS_NONE,
        "allow_stdio_access": True}]}).encode()
    (work / "policy.json").write_bytes(policy)
    # Controller 1 only for the layers: controller 0 still exists (uvm launch
    # creates every controller up to the highest), so the numbering holds.
    disks = [("scsi1-lun5", base["file"], "ro"), ("scsi1-lun0", tools["file"], "ro"),
             ("scsi0-lun3", scratch), ("scsi1-lun9", stranger["file"], "ro")]
    cmd = [UVM, "launch", "--image", IMAGE, "--socket", str(work / "agent.sock"), "--policy",
           str(work / "policy.json"), "--dry-run"]
    for d in disks:
        cmd += ["--disk", f"{d[0]}={d[1]}" + (":ro" if len(d) > 2 else "")]
    qemu = shlex.split(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    # The host also attaches a virtio-blk disk whose serial claims a SCSI
    # address where no disk is (uvm launch would not: it reads the name as
    # an address). The guest must not take it for that address.
    qemu += ["-drive", f"file={stranger['file']},if=none,id=liar,format=raw,readonly=on",
             "-device", "virtio-blk-pci,drive=liar,serial=scsi0-lun1"]
    vm = Vm(qemu, work, str(work / "agent.sock")).start()
    try:
        vm.wait_ready()
        ok(vm.request("set_policy", {"policy_base64": base64.b64encode(policy).decode()}))
        yield {"vm": vm, "base": base, "tools": tools, "stranger": stranger}
    finally:
        vm.kill()


def test_layers_at_scsi_addresses_mount_through_verity_and_a_container_reads_them(env):
    vm = env["vm"]
    for name, layer in (("scsi1-lun5", env["base"]), ("scsi1-lun0", env["tools"])):
        res = ok(vm.request("mount_device", {"serial": name, "root_hash": layer["root_hash"], "verify": True}))
        assert res["target"] == "/run/layers/" + layer["root_hash"], res
    layers = ["/run/layers/" + env["tools"]["root_hash"], "/run/layers/" + env["base"]["root_hash"]]
    scratch = ok(vm.request("scratch_mount", {"serial": "scsi0-lun3", "encrypted": True}))
    ok(vm.request("mount_overlay", {"container_id": "r", "layers": layers, "scratch": scratch["target"]}))
    ok(vm.request("create_container", {
        "container_id": "r", "argv": ["/bin/cat", "/etc/hello.txt"], "env": [], "working_dir": "/",
        "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": CAPS_NONE, "stdio": True}))
    ok(vm.request("start_container", {"container_id": "r"}))
    status = poll(vm, "wait_process", {"container_id": "r"}, lambda r: r["state"] == "exited")
    assert status["exit_code"] == 0, status
    assert read_stream(vm, {"container_id": "r", "stream": "stdout"}) == b"hello over SCSI\n"
    ok(vm.request("shutdown_container", {"container_id": "r"}))
    ok(vm.request("unmount_overlay", {"target": "/run/containers/r/rootfs"}))
    res = ok(vm.request("scratch_unmount", {"target": scratch["target"], "verify": True}))
    assert res, res


def test_the_wrong_disk_at_an_address_is_refused_by_its_root_hash(env):
    """The host put the stranger layer at scsi1-lun9 and claims it is base."""
    resp = env["vm"].request("mount_device", {"serial": "scsi1-lun9", "root_hash": env["base"]["root_hash"]})
    assert not resp["ok"], resp
    resp = env["vm"].request("mount_device", {"serial": "scsi1-lun9", "root_hash": env["stranger"]["root_hash"]})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp


def test_a_virtio_serial_never_answers_for_a_scsi_address(env):
    """scsi0-lun1 is empty on the SCSI bus; the virtio disk claiming that
    name is not used in its place."""
    msg = failed(env["vm"].request("mount_device", {"serial": "scsi0-lun1",
                                                      "root_hash": env["stranger"]["root_hash"]}))
    assert "0:0:1" in msg or "no disk" in msg, msg


@pytest.mark.parametrize("name,words", [
    ("scsi1-lun6", ["no disk at SCSI address", ":0:0:6"]),
    ("scsi2-lun0", ["no SCSI controller 2", "b5d2d8d4-3a75-51bf-945b-3444dc6b8579"]),
    ("scsi0-lun03", ["scsi<C>-lun<L>"]),
    ("scsi4-lun0", ["scsi<C>-lun<L>"]),
])
def test_hostile_addresses_are_refused_with_the_reason(env, name, words):
    failed(env["vm"].request("scratch_mount", {"serial": name, "encrypted": True}), *words)
    failed(env["vm"].request("mount_device", {"serial": name, "root_hash": env["base"]["root_hash"]}), *words)


def test_launch_refuses_a_malformed_or_repeated_scsi_address(tmp_path):
    img = tmp_path / "d.img"
    img.write_bytes(b"\0" * 4096)
    hd = ["--host-data", "00" * 32, "--dry-run"]
    r = subprocess.run([UVM, "launch", "--disk", f"scsi0-lun64={img}", *hd], capture_output=True, text=True)
    assert r.returncode == 1 and "scsi<C>-lun<L>" in r.stderr, r
    r = subprocess.run([UVM, "launch", "--disk", f"scsi0-lun1={img}", "--disk", f"scsi0-lun1={img}", *hd],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "given twice" in r.stderr, r
    r = subprocess.run([UVM, "launch", "--disk", f"scsi2-lun1={img}", *hd], capture_output=True, text=True)
    assert r.returncode == 0, r
    args = shlex.split(r.stdout)
    assert [a for a in args if a.startswith("virtio-scsi-pci")] == \
        ["virtio-scsi-pci,id=scsi0", "virtio-scsi-pci,id=scsi1", "virtio-scsi-pci,id=scsi2"], args
    assert "scsi-hd,bus=scsi2.0,channel=0,scsi-id=0,lun=1,drive=disk0" in args, args


def test_hyperv_command_line_leaves_vsock_to_hv_sock_and_the_channel_works(tmp_path):
    """vsock takes one guest-to-host transport and virtio's registers first:
    the Hyper-V command line (uvm.igvm's) blacklists virtio_vsock_init so
    that hv_sock gets it. Booted here with that line plus initcall_debug:
    the kernel resolves initcall names (CONFIG_KALLSYMS), calls hv_sock's
    init (which steps aside without VMBus, -ENODEV), never calls virtio's,
    and the agent still answers on virtio-serial."""
    sock = str(tmp_path / "agent.sock")
    cmd = qemu_command(IMAGE, sock)
    i = cmd.index("-append")
    cmd[i + 1] = KERNEL_CMDLINE + " initcall_blacklist=virtio_vsock_init initcall_debug loglevel=8"
    vm = Vm(cmd, tmp_path, sock).start()
    try:
        vm.wait_ready()
        assert ok(vm.request("ping"))["pong"] is True
        console = vm.console
    finally:
        vm.kill()
    assert "calling  vsock_init+" in console, "initcall_debug shows named initcalls"
    assert re.search(r"initcall hvs_init\+\S+ returned -19 ", console), "hv_sock's init ran and found no VMBus"
    assert "calling  virtio_vsock_init" not in console, "virtio's vsock transport was never initialised"
