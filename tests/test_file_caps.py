"""File capabilities and set-uid in a non-root container (enforcement issue,
item 10), in the real test image under QEMU: a binary with
`cap_net_bind_service+ep` in its image gets that capability at execve when
the policy leaves no_new_privileges false and keeps the capability in the
bounding set (what `uvm policy gen` now gives non-root images), gets nothing
with no_new_privileges, and gets nothing beyond the bounding set."""
import io
import json
import struct
import tarfile

import pytest

from test_e2e import create_args, sample_layers, sh, target
from uvmvm import UVM, Vm, bind_and_mount, ok, poll, read_stream

# vfs_cap_data revision 2: effective flag, permitted = CAP_NET_BIND_SERVICE (10).
CAP_NET_BIND_SERVICE = 1 << 10
XATTR = struct.pack("<IIIII", 0x02000001, CAP_NET_BIND_SERVICE, 0, 0, 0)
ARGV = ["/bin/grep", "CapEff", "/proc/self/status"]  # busybox picks the applet by name
NONE = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}


def fcap_layer(work):
    """A layer whose /bin/grep is busybox with the file capability."""
    busybox = open("out/busybox", "rb").read()
    path = work / "fcap.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo("bin")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        tar.addfile(d)
        f = tarfile.TarInfo("bin/grep")
        f.size, f.mode, f.mtime = len(busybox), 0o755, 1700000000
        f.pax_headers = {"SCHILY.xattr.security.capability": XATTR.decode("utf-8", "surrogateescape")}
        tar.addfile(f, io.BytesIO(busybox))
    r = sh(UVM, "layer", "--tar", path, "--out", work / "fcap")
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads((work / "fcap" / "layers.json").read_text())
    return entry, work / "fcap" / entry["path"]


def container(name, bounding, nnp):
    return {"name": name, "layers": [], "argv": ARGV, "env": [], "working_dir": "/", "mounts": [],
            "user": {"uid": 1000, "gid": 1000, "umask": "0022"},
            "capabilities": dict(NONE, bounding=bounding), "no_new_privileges": nnp,
            "allow_stdio_access": True}


CASES = {
    "fcap-works": (["CAP_NET_BIND_SERVICE"], False, CAP_NET_BIND_SERVICE),
    "fcap-nnp": (["CAP_NET_BIND_SERVICE"], True, 0),
    # Outside the bounding set the kernel refuses the execve of a binary
    # whose effective file capabilities it cannot grant (EPERM).
    "fcap-bounded": ([], False, None),
}


@pytest.fixture(scope="module")
def uvm(tmp_path_factory):
    work = tmp_path_factory.mktemp("fcap")
    layers = sample_layers(work)
    fcap, fcap_img = fcap_layer(work)
    layers.append(fcap)
    specs = [container(n, b, nnp) for n, (b, nnp, _) in CASES.items()]
    for s in specs:
        s["layers"] = [l["root_hash"] for l in layers]
    policy = {"version": "1", "containers": specs}
    (work / "policy.json").write_text(json.dumps(policy))
    scratch = work / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(32 << 20)
    disks = [(f"layer{i}", work / "layers" / l["path"], "ro") for i, l in enumerate(layers[:2])]
    disks += [("layer2", fcap_img, "ro"), ("scratch", scratch)]
    vm = Vm.launch(work, policy=work / "policy.json", disks=disks).start()
    try:
        vm.wait_ready()
        scratch_target = bind_and_mount(vm, work / "policy.json", layers)
        yield {"vm": vm, "layers": layers, "policy": policy, "scratch": scratch_target}
    finally:
        vm.kill()


@pytest.mark.parametrize("name", list(CASES))
def test_file_capabilities_follow_the_policy(uvm, name):
    """Proves: uid 1000 with empty effective/permitted sets gets
    CAP_NET_BIND_SERVICE from the binary's file capability only when the
    policy keeps it in the bounding set and leaves no_new_privileges false;
    with no_new_privileges (the root is then also nosuid) the process has no
    capability at all, and without it in the bounding set the kernel refuses
    the execve (EPERM), as it does under Docker."""
    vm = uvm["vm"]
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == name)
    ok(vm.request("mount_overlay", {"container_id": name, "layers": [target(l) for l in uvm["layers"]],
                                    "scratch": uvm["scratch"], "scratch_bytes": 4 << 20}))
    ok(vm.request("create_container", create_args(spec, name)))
    resp = vm.request("start_container", {"container_id": name})
    if CASES[name][2] is None:
        assert not resp["ok"] and "Operation not permitted" in resp["error"]["message"], resp
        return
    ok(resp)
    status = poll(vm, "wait_process", {"container_id": name}, lambda r: r["state"] == "exited")
    out = read_stream(vm, {"container_id": name, "stream": "stdout"})
    assert status["exit_code"] == 0, out
    eff = int(out.decode().split()[1], 16)
    assert eff == CASES[name][2], out
