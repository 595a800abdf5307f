"""Guest storage under QEMU (TCG): dm-verity layers whose root hash must be
in the policy, overlays in policy order, and the dm-integrity + dm-crypt
scratch (docs/storage.md). One VM serves the whole module (a boot costs
about a minute under TCG); the tests run in file order and each states what
it proves.

The last tests use the test flavour's fault seam (test_inject_fault, absent
from the production image) to make dm removals fail with EBUSY, as a dying
container's mount namespace does, and check that every storage op either
completes or leaves the guest as it was, or in a state the agent knows and
refuses to build on (docs/storage.md, "When a step fails half-way").

UVM_TEST_IMAGE selects the image directory (default out/image-test)."""
import base64
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import time

import pytest

from uvmvm import UVM, Vm

IMAGE = os.environ.get("UVM_TEST_IMAGE", "out/image-test")
SCRATCH_BYTES = 32 << 20
MARKER = "marker-" + os.urandom(8).hex()
WAIT_DEADLINE = 60
CAPS_NONE = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
READER_ARGV = ["/bin/cat", "/etc/hello.txt"]
SLEEPER_ARGV = ["/bin/sleep", "1000"]
# Writes 4 MiB in one file and 300 small ones, deletes a third, then syncs: the kernel's ext2
# allocates, frees and writes as a real workload does.
WRITER_ARGV = ["/bin/busybox", "sh", "-c",
               "/bin/busybox dd if=/dev/zero of=/big bs=64k count=64 2>/dev/null && i=0 && "
               "while [ $i -lt 300 ]; do echo $i > /f$i; i=$((i+1)); done && "
               "/bin/busybox rm /f1* && /bin/busybox sync && echo written"]
HELLO = b"hello from the base layer\n"


def make_tar(path, files, links=None):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o755 if name.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime, info.mode = tarfile.SYMTYPE, target, 1700000000, 0o777
            tar.addfile(info)


def build_layer(workdir, name, files, links=None):
    tar = workdir / f"{name}.tar"
    make_tar(tar, files, links)
    out = workdir / name
    subprocess.run([UVM, "layer", "--tar", str(tar), "--out", str(out)], check=True, capture_output=True)
    (entry,) = json.loads((out / "layers.json").read_text())
    entry["file"] = out / entry["path"]
    return entry


def flipped_copy(src, dst, offset):
    shutil.copyfile(src, dst)
    with open(dst, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))
    return dst


def policy_for(layers, tools_layers):
    """"app": the layers under test. "reader" and "sleeper" (busybox below the
    base layer) prove in a container that a layer is mounted and readable."""
    def container(name, layer_list, argv):
        return {"name": name, "layers": layer_list, "argv": argv, "working_dir": "/",
                "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": CAPS_NONE,
                "allow_stdio_access": True}
    return json.dumps({"version": "1", "containers": [
        container("app", layers, ["/bin/app"]), container("reader", tools_layers, READER_ARGV),
        container("sleeper", tools_layers, SLEEPER_ARGV), container("writer", tools_layers, WRITER_ARGV)]}).encode()


SIZED = [("s64m", 64 << 20), ("s1g", 1 << 30), ("s16g", 16 << 30)]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("storage")
    rng = random.Random(4)
    base = build_layer(work, "base", {"etc/hello.txt": b"hello from the base layer\n",
                                      "big.bin": bytes(rng.getrandbits(8) for _ in range(1 << 20))})
    top = build_layer(work, "top", {"app/marker.txt": b"top layer\n"})
    stranger = build_layer(work, "stranger", {"x": b"not in the policy\n"})
    with open("/bin/busybox", "rb") as f:  # Debian busybox-static, as in the initrd
        tools = build_layer(work, "tools", {"bin/busybox": f.read()}, {"bin/cat": "busybox", "bin/sleep": "busybox"})
    assert base["data_blocks"] > 128, "the base layer needs a two-level tree for the hash-area flip"
    hash_off = base["hash_offset"]
    # Data: the middle of the file system. Hash: the first leaf hash block
    # (superblock, then the one top block, then the leaves).
    dataflip = flipped_copy(base["file"], work / "dataflip.img", hash_off // 2)
    hashflip = flipped_copy(base["file"], work / "hashflip.img", hash_off + 4096 + 4096 + 100)
    scratch = work / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(SCRATCH_BYTES)

    policy = policy_for([base["root_hash"], top["root_hash"]], [tools["root_hash"], base["root_hash"]])
    (work / "policy.json").write_bytes(policy)
    disks = [("base", base["file"], "ro"), ("top", top["file"], "ro"), ("stranger", stranger["file"], "ro"),
             ("dataflip", dataflip, "ro"), ("hashflip", hashflip, "ro"), ("scratch", scratch),
             ("tools", tools["file"], "ro")]
    vm = Vm.launch(work, image=IMAGE, policy=work / "policy.json", disks=disks).start()
    try:
        vm.wait_ready()
        resp = vm.request("set_policy", {"policy_base64": base64.b64encode(policy).decode()})
        assert resp["ok"], resp
        yield {"vm": vm, "base": base, "top": top, "stranger": stranger, "scratch": scratch, "tools": tools,
               "policy": policy, "work": work}
    finally:
        vm.kill()


def layer_target(entry):
    return "/run/layers/" + entry["root_hash"]


def test_good_layer_mounts_and_reads_through_verity(env):
    vm, base = env["vm"], env["base"]
    resp = vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"], "verify": True})
    assert resp["ok"], resp
    r = resp["result"]
    assert r["target"] == layer_target(base) and r["verified"] is True
    assert r["data_blocks"] == base["data_blocks"] and r["mapped"].startswith("/dev/dm-")


def test_root_hash_not_in_policy_is_denied(env):
    vm, stranger = env["vm"], env["stranger"]
    resp = vm.request("mount_device", {"serial": "stranger", "root_hash": stranger["root_hash"]})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    fails = resp["error"]["reason"]["failed"]
    assert any(f["rule"] == "layers" and f["value"] == stranger["root_hash"] for f in fails), resp


def test_claimed_hash_that_differs_from_the_device_is_denied(env):
    # The host claims the (allowed) top layer's hash for the base disk.
    vm, base, top = env["vm"], env["base"], env["top"]
    resp = vm.request("mount_device", {"serial": "base", "root_hash": top["root_hash"]})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    reason = resp["error"]["reason"]
    assert reason["rule"] == "device_root_hash"
    assert reason["device_root_hash"] == base["root_hash"] and reason["root_hash"] == top["root_hash"]


@pytest.mark.parametrize("serial", ["dataflip", "hashflip"])
def test_one_flipped_byte_reads_as_eio_in_the_guest(env, serial):
    vm, base = env["vm"], env["base"]
    # The second layer with the same hash would collide with the mounted
    # base at /run/layers/HASH: unmount it first, remount afterwards.
    assert vm.request("unmount_device", {"target": layer_target(base)})["ok"]
    resp = vm.request("mount_device", {"serial": serial, "root_hash": base["root_hash"], "verify": True})
    assert not resp["ok"] and resp["error"]["kind"] == "failed", resp
    assert "I/O error" in resp["error"]["message"], resp  # musl strerror(EIO)
    # Rolled back: the good disk mounts again at the same place.
    resp = vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"]})
    assert resp["ok"], resp


def test_layers_in_the_wrong_order_are_denied(env):
    vm, base, top = env["vm"], env["base"], env["top"]
    assert vm.request("mount_device", {"serial": "top", "root_hash": top["root_hash"]})["ok"]
    resp = vm.request("mount_overlay", {"container_id": "wrong", "layers": [layer_target(top), layer_target(base)]})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp


def test_unencrypted_scratch_needs_the_policy(env):
    resp = env["vm"].request("scratch_mount", {"serial": "scratch", "encrypted": False})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp


def test_overlay_on_encrypted_scratch_and_busy_unmounts(env):
    vm, base, top = env["vm"], env["base"], env["top"]
    resp = vm.request("scratch_mount", {"serial": "scratch"})
    assert resp["ok"], resp
    assert resp["result"]["target"] == "/run/scratch/scratch" and resp["result"]["encrypted"] is True
    resp = vm.request("mount_overlay", {"container_id": MARKER, "layers": [layer_target(base), layer_target(top)],
                                        "scratch": "/run/scratch/scratch"})
    assert resp["ok"], resp
    assert resp["result"]["rootfs"] == f"/run/containers/{MARKER}/rootfs"
    # Without scratch_bytes the writable layer is the default (256 MiB)
    # capped by the largest free run: here all of the 32 MiB pool but the
    # integrity tags' share, in whole MiB.
    assert resp["result"]["upper"] == f"/run/containers/{MARKER}/rw", resp
    assert 24 << 20 <= resp["result"]["upper_bytes"] < SCRATCH_BYTES, resp
    assert resp["result"]["upper_bytes"] % (1 << 20) == 0, resp
    # In use: a layer of the overlay, and the scratch holding its upper dir.
    resp = vm.request("unmount_device", {"target": layer_target(base)})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    resp = vm.request("scratch_unmount", {"target": "/run/scratch/scratch"})
    assert not resp["ok"] and resp["error"]["kind"] == "failed" and "unmount its overlay first" in resp["error"]["message"]
    assert vm.request("unmount_overlay", {"target": f"/run/containers/{MARKER}/rootfs"})["ok"]
    resp = vm.request("scratch_unmount", {"target": "/run/scratch/scratch", "verify": True})
    assert resp["ok"], resp
    # verify read the writable layer's blocks in use (metadata, its directories), not the pool
    assert 64 << 10 < resp["result"]["verified_bytes"] < 4 << 20, resp


def test_scratch_holds_no_plaintext(env):
    data = env["scratch"].read_bytes()
    for plain in (MARKER.encode(), b"uvm-upper", b"lost+found", b"upper", b"work"):
        assert plain not in data, plain
    # Never zeroed (setup costs the same at any size): what no file system on the pool wrote is
    # still what the host left there, zeros, and reads in the guest as an error, never as data.
    tail = data[SCRATCH_BYTES * 3 // 4:SCRATCH_BYTES * 3 // 4 + 65536]
    assert tail == bytes(len(tail))
    # What the writable layer's file system wrote (its metadata, near the start) is ciphertext.
    written = sum(1 for off in range(0, 4 << 20, 4096) if len(set(data[off:off + 4096])) > 200)
    assert written >= 16, f"only {written} pages of ciphertext in the first 4 MiB"


def test_byte_flipped_on_the_host_reads_as_eio(env):
    vm, base, top = env["vm"], env["base"], env["top"]
    assert vm.request("scratch_mount", {"serial": "scratch"})["ok"]
    rootfs = "/run/containers/flipped/rootfs"
    assert vm.request("mount_overlay", {"container_id": "flipped", "layers": [layer_target(base), layer_target(top)],
                                        "scratch": "/run/scratch/scratch"})["ok"]
    assert vm.request("unmount_overlay", {"target": rootfs})["ok"]
    # The host changes one byte in every 4 KiB of the first 4 MiB: the writable layer's metadata
    # (superblock, bitmaps, inode table: all in use) lies there.
    with open(env["scratch"], "r+b") as f:
        for off in range(4096 + 123, 4 << 20, 4096):
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 0x80]))
    resp = vm.request("scratch_unmount", {"target": "/run/scratch/scratch", "verify": True})
    assert not resp["ok"] and resp["error"]["kind"] == "failed", resp
    # dm-crypt's AEAD failure reaches the reader as BLK_STS_PROTECTION = EILSEQ
    # (musl: "Illegal byte sequence"); dm-integrity's own tag mismatch as EIO.
    msg = resp["error"]["message"]
    assert "the writable layer formatted at byte 0" in msg, resp
    assert "Illegal byte sequence" in msg or "I/O error" in msg, resp
    # Nothing was unmounted; without the check it goes.
    assert vm.request("scratch_unmount", {"target": "/run/scratch/scratch"})["ok"]


def data_extents(path):
    """(offset, length) of the allocated parts of a sparse file."""
    out = []
    with open(path, "rb") as f:
        fd, end, off = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while off < end:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            off = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, off - start))
    return out


@pytest.fixture(scope="module")
def sized(env):
    """A second VM with the two layers and sparse scratch disks of each size
    (uvm launch takes at most 8 disks; env's VM has 7)."""
    work, base, top = env["work"], env["base"], env["top"]
    paths = {}
    for serial, size in SIZED:  # sparse: only what the guest writes takes room on the host
        paths[serial] = work / f"{serial}.img"
        with open(paths[serial], "wb") as f:
            f.truncate(size)
    disks = [("base", base["file"], "ro"), ("top", top["file"], "ro"), ("tools", env["tools"]["file"], "ro")] + \
        [(s, paths[s]) for s, _ in SIZED]
    (work / "sized").mkdir(exist_ok=True)
    vm = Vm.launch(work / "sized", image=IMAGE, policy=work / "policy.json", disks=disks).start()
    try:
        vm.wait_ready()
        assert vm.request("set_policy", {"policy_base64": base64.b64encode(env["policy"]).decode()})["ok"]
        for name, entry in (("base", base), ("top", top), ("tools", env["tools"])):
            assert vm.request("mount_device", {"serial": name, "root_hash": entry["root_hash"]})["ok"]
        yield {"vm": vm, "base": base, "top": top, "tools": env["tools"], "paths": paths}
    finally:
        vm.kill()


@pytest.mark.parametrize("serial,size", SIZED)
def test_scratch_guarantees_at_each_size(sized, serial, size):
    """Setup writes nothing that grows with the disk, and the guarantees hold
    at 64 MiB, 1 GiB and 16 GiB: an overlay works, nothing on the host is
    plaintext, verify reads the layer back, a byte the host changes fails, and
    a sector put back to its never-written state fails too."""
    vm, base, top, path = sized["vm"], sized["base"], sized["top"], sized["paths"][serial]
    resp = vm.request("scratch_mount", {"serial": serial})
    assert resp["ok"], resp
    pool = resp["result"]["bytes"]
    assert size * 0.95 < pool < size, resp
    written = sum(n for _, n in data_extents(path))
    assert written < 1 << 20, f"setup wrote {written} bytes of a {size}-byte disk"
    cid = f"sized-{serial}"
    resp = vm.request("mount_overlay", {"container_id": cid, "layers": [layer_target(base), layer_target(top)],
                                        "scratch": f"/run/scratch/{serial}", "scratch_bytes": 8 << 20})
    assert resp["ok"] and resp["result"]["upper_bytes"] == 8 << 20, resp
    assert vm.request("unmount_overlay", {"target": f"/run/containers/{cid}/rootfs"})["ok"]
    extents = data_extents(path)
    with open(path, "rb") as f:
        for off, n in extents:
            f.seek(off)
            chunk = f.read(n)
            for plain in (cid.encode(), b"uvm-upper", b"lost+found"):
                assert plain not in chunk, (plain, off)
    # The host changes one byte in every 4 KiB of what was written.
    with open(path, "r+b") as f:
        for off, n in extents:
            for at in range(off + 4096 + 321, off + n, 4096):
                f.seek(at)
                b = f.read(1)
                f.seek(at)
                f.write(bytes([b[0] ^ 0x01]))
    resp = vm.request("scratch_unmount", {"target": f"/run/scratch/{serial}", "verify": True})
    assert not resp["ok"] and "the writable layer formatted at byte 0" in resp["error"]["message"], resp
    assert vm.request("scratch_unmount", {"target": f"/run/scratch/{serial}"})["ok"]
    # The same disk again, untouched since: a new key; the old layer's sectors are now unreadable
    # noise, and a new layer on them verifies.
    assert vm.request("scratch_mount", {"serial": serial})["ok"]
    assert vm.request("mount_overlay", {"container_id": cid, "layers": [layer_target(base), layer_target(top)],
                                        "scratch": f"/run/scratch/{serial}", "scratch_bytes": 8 << 20})["ok"]
    assert vm.request("unmount_overlay", {"target": f"/run/containers/{cid}/rootfs"})["ok"]
    resp = vm.request("scratch_unmount", {"target": f"/run/scratch/{serial}", "verify": True})
    assert resp["ok"] and resp["result"]["verified_bytes"] > 64 << 10, resp
    # A sector as it was before anyone wrote it reads as an error, never as data: the host turns
    # what the new layer wrote back into zeros (what a fresh sparse disk holds), past the
    # integrity superblock, and verify fails on it.
    assert vm.request("scratch_mount", {"serial": serial})["ok"]
    assert vm.request("mount_overlay", {"container_id": cid, "layers": [layer_target(base), layer_target(top)],
                                        "scratch": f"/run/scratch/{serial}", "scratch_bytes": 8 << 20})["ok"]
    assert vm.request("unmount_overlay", {"target": f"/run/containers/{cid}/rootfs"})["ok"]
    with open(path, "r+b") as f:
        for off, n in data_extents(path):
            start = max(off, 8192)
            if start < off + n:
                f.seek(start)
                f.write(bytes(off + n - start))
    resp = vm.request("scratch_unmount", {"target": f"/run/scratch/{serial}", "verify": True})
    assert not resp["ok"] and "the writable layer formatted at byte 0" in resp["error"]["message"], resp
    assert vm.request("scratch_unmount", {"target": f"/run/scratch/{serial}"})["ok"]


def test_hostile_requests_on_a_large_scratch_are_refused(sized):
    """What a host may try on the 16 GiB scratch now that setup is cheap and
    verify walks what was formatted: each is refused and nothing changes."""
    vm, base, top = sized["vm"], sized["base"], sized["top"]
    target = "/run/scratch/s16g"
    resp = vm.request("scratch_mount", {"serial": "s16g", "encrypted": False})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp  # the policy has no allow_unencrypted
    assert vm.request("scratch_mount", {"serial": "s16g"})["ok"]
    resp = vm.request("scratch_mount", {"serial": "s16g"})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp  # mounted already
    layers = [layer_target(base), layer_target(top)]
    resp = vm.request("mount_overlay", {"container_id": "big", "layers": layers, "scratch": target,
                                        "scratch_bytes": 17 << 30})
    assert not resp["ok"] and "bytes free in one piece" in resp["error"]["message"], resp
    for detour in ("/run/scratch/../scratch/s16g", "/run/scratch/s16g/", "/run/layers/" + base["root_hash"]):
        resp = vm.request("mount_overlay", {"container_id": "detour", "layers": layers, "scratch": detour})
        assert not resp["ok"] and resp["error"]["kind"] in ("denied", "malformed", "failed"), (detour, resp)
        resp = vm.request("scratch_unmount", {"target": detour, "verify": True})
        assert not resp["ok"] and resp["error"]["kind"] in ("denied", "malformed", "failed"), (detour, resp)
    ok(vm.request("mount_overlay", {"container_id": "held", "layers": layers, "scratch": target,
                                    "scratch_bytes": 8 << 20}))
    resp = vm.request("scratch_unmount", {"target": target, "verify": True})
    assert not resp["ok"] and "unmount its overlay first" in resp["error"]["message"], resp
    # nothing changed: the layer is still there, and once it goes the scratch verifies and unmounts
    ok(vm.request("unmount_overlay", {"target": "/run/containers/held/rootfs"}))
    resp = vm.request("scratch_unmount", {"target": target, "verify": True})
    assert resp["ok"] and resp["result"]["verified_bytes"] > 64 << 10, resp


def test_verify_after_a_container_wrote(sized):
    """What the kernel's ext2 marks in use after a real workload wrote,
    deleted and synced is exactly what was written: verify reads it all back
    (none of it is a never-written sector) on the 16 GiB scratch."""
    vm, target = sized["vm"], "/run/scratch/s16g"
    assert vm.request("scratch_mount", {"serial": "s16g"})["ok"]
    ok(vm.request("mount_overlay", {"container_id": "vw", "layers": tools_layers(sized), "scratch": target,
                                    "scratch_bytes": 64 << 20}))
    ok(vm.request("create_container", {
        "container_id": "vw", "argv": WRITER_ARGV, "env": [], "working_dir": "/",
        "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": CAPS_NONE, "stdio": True}))
    ok(vm.request("start_container", {"container_id": "vw"}))
    status = poll(vm, "wait_process", {"container_id": "vw"}, lambda r: ok(r)["state"] == "exited")
    assert status["result"]["exit_code"] == 0, status
    ok(vm.request("shutdown_container", {"container_id": "vw"}))
    ok(vm.request("unmount_overlay", {"target": "/run/containers/vw/rootfs"}))
    resp = vm.request("scratch_unmount", {"target": target, "verify": True})
    assert resp["ok"], resp
    assert resp["result"]["verified_bytes"] > 4 << 20, resp


def test_layers_unmount_when_unused(env):
    vm = env["vm"]
    for entry in (env["top"], env["base"]):
        resp = vm.request("unmount_device", {"target": layer_target(entry)})
        assert resp["ok"], resp


# ------------------------------------------------ failures half-way (fault seam)

SCRATCH = "/run/scratch/scratch"


def ok(resp):
    assert resp["ok"], resp
    return resp["result"]


def failed(resp, *words):
    assert not resp["ok"] and resp["error"]["kind"] == "failed", resp
    for w in words:
        assert w in resp["error"]["message"], resp
    return resp["error"]["message"]


def inject(vm, point, count, after=0):
    """Arms the test flavour's seam; returns how many armed failures were left unused."""
    return ok(vm.request("test_inject_fault", {"point": point, "count": count, "after": after}))["previous"]


def poll(vm, op, args, done):
    deadline = time.monotonic() + WAIT_DEADLINE
    while time.monotonic() < deadline:
        resp = vm.request(op, args)
        if done(resp):
            return resp
        time.sleep(0.05)
    raise AssertionError(f"{op} {args} never finished; console:\n{vm.tail()}")


def tools_layers(env):
    return [layer_target(env["tools"]), layer_target(env["base"])]


def start_container(vm, env, cid, argv, scratch=None):
    args = {"container_id": cid, "layers": tools_layers(env)}
    if scratch:
        args["scratch"] = scratch
    ok(vm.request("mount_overlay", args))
    ok(vm.request("create_container", {
        "container_id": cid, "argv": argv, "env": [], "working_dir": "/",
        "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": CAPS_NONE, "stdio": True}))
    ok(vm.request("start_container", {"container_id": cid}))


def read_base_in_a_container(vm, env, cid, scratch=None):
    """A container on [tools, base] cats the base layer's file; returns its stdout.
    The overlay is unmounted again afterwards."""
    start_container(vm, env, cid, READER_ARGV, scratch)
    status = poll(vm, "wait_process", {"container_id": cid}, lambda r: ok(r)["state"] == "exited")
    assert status["result"]["exit_code"] == 0, status
    out = b""
    while True:
        r = ok(poll(vm, "read_output", {"container_id": cid, "stream": "stdout"},
                    lambda r: ok(r)["bytes"] > 0 or ok(r)["eof"]))
        out += base64.b64decode(r["data_base64"])
        if r["eof"]:
            break
    # The engine counts a container as running until it is shut down.
    ok(vm.request("shutdown_container", {"container_id": cid}))
    ok(vm.request("unmount_overlay", {"target": f"/run/containers/{cid}/rootfs"}))
    return out


def test_fault_seam_rejects_unknown_points(env):
    resp = env["vm"].request("test_inject_fault", {"point": "umount", "count": 1})
    assert not resp["ok"] and resp["error"]["kind"] == "malformed", resp


def test_a_mounted_layer_is_read_in_a_container(env):
    vm = env["vm"]
    for name in ("tools", "base"):
        ok(vm.request("mount_device", {"serial": name, "root_hash": env[name]["root_hash"]}))
    assert read_base_in_a_container(vm, env, "read0") == HELLO


def test_dm_removal_is_retried_while_the_device_is_busy(env):
    """A device still held for a moment (here: 3 EBUSY answers) is waited for."""
    vm, base = env["vm"], env["base"]
    inject(vm, "dm_remove", 3)
    ok(vm.request("unmount_device", {"target": layer_target(base)}))
    assert inject(vm, "dm_remove", 0) == 0
    ok(vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"]}))


def test_failed_dm_removal_mounts_the_layer_again(env):
    """The issue's case: umount works, the mapping stays busy. The layer is
    mounted again, so the engine's rollback ("still mounted") is true."""
    vm, base = env["vm"], env["base"]
    inject(vm, "dm_remove", 1000)
    msg = failed(vm.request("unmount_device", {"target": layer_target(base)}),
                 "busy", "mounted again")
    left = inject(vm, "dm_remove", 0)
    assert 3 <= 1000 - left <= 40, f"removal tried {1000 - left} times: {msg}"
    assert read_base_in_a_container(vm, env, "read1") == HELLO
    ok(vm.request("unmount_device", {"target": layer_target(base)}))
    ok(vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"]}))


def test_layer_that_cannot_be_mounted_again_is_refused_until_cleanly_unmounted(env):
    vm, base = env["vm"], env["base"]
    inject(vm, "dm_remove", 1000)
    inject(vm, "remount", 1)
    failed(vm.request("unmount_device", {"target": layer_target(base)}), "unusable", "retry")
    inject(vm, "dm_remove", 0)
    # The engine still lists it; the agent refuses to build on its empty directory.
    resp = vm.request("mount_overlay", {"container_id": "read2", "layers": tools_layers(env)})
    failed(resp, f"layer {layer_target(base)} is unusable", "unmount_device it and mount it again")
    resp = vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"]})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    # unmount_device finishes the removal; a clean mount makes it usable again.
    ok(vm.request("unmount_device", {"target": layer_target(base)}))
    ok(vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"]}))
    assert read_base_in_a_container(vm, env, "read2") == HELLO


def test_mapping_a_failed_mount_could_not_remove_goes_with_the_next_mount(env):
    vm, base = env["vm"], env["base"]
    ok(vm.request("unmount_device", {"target": layer_target(base)}))
    inject(vm, "dm_remove", 1000)
    resp = vm.request("mount_device", {"serial": "dataflip", "root_hash": base["root_hash"], "verify": True})
    failed(resp, "I/O error", "failed too", "the next mount_device of this root hash removes it")
    inject(vm, "dm_remove", 0)
    ok(vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"]}))
    assert read_base_in_a_container(vm, env, "read3") == HELLO


def test_failed_crypt_removal_leaves_the_scratch_whole(env):
    """Nothing is mounted on a scratch (it is a pool of extents), so a crypt
    mapping that stays busy changes nothing: the scratch is whole, usable
    and verifiable."""
    vm = env["vm"]
    ok(vm.request("scratch_mount", {"serial": "scratch"}))
    inject(vm, "dm_remove", 1000)
    failed(vm.request("scratch_unmount", {"target": SCRATCH}), "busy", "the scratch is unchanged")
    inject(vm, "dm_remove", 0)
    assert read_base_in_a_container(vm, env, "read4", scratch=SCRATCH) == HELLO
    ok(vm.request("scratch_unmount", {"target": SCRATCH, "verify": True}))


def test_writable_layer_mapping_held_at_unmount_keeps_its_extent_until_removed(env):
    """unmount_overlay whose writable layer's mapping stays busy (a dying
    container's namespace) still unmounts the overlay, but the extent stays
    reserved: a mount_overlay asking for the whole pool fails, naming what
    is free; scratch_unmount is refused while the mapping stays. Once it can
    go, the next mount_overlay removes it and gets the whole pool again."""
    vm = env["vm"]
    whole = ok(vm.request("scratch_mount", {"serial": "scratch"}))["bytes"] // (1 << 20) * (1 << 20)
    args = {"container_id": "held", "layers": tools_layers(env), "scratch": SCRATCH}
    assert ok(vm.request("mount_overlay", dict(args, scratch_bytes=8 << 20)))["upper_bytes"] == 8 << 20
    inject(vm, "dm_remove", 1000)
    ok(vm.request("unmount_overlay", {"target": "/run/containers/held/rootfs"}))
    vm.wait_console(r"unmount_overlay: held: .*extent stays reserved")
    failed(vm.request("mount_overlay", dict(args, container_id="big", scratch_bytes=whole)),
           f"has only {whole - (8 << 20)} bytes free in one piece")
    failed(vm.request("scratch_unmount", {"target": SCRATCH}), "writable layer of container held is still held")
    inject(vm, "dm_remove", 0)
    assert ok(vm.request("mount_overlay", dict(args, container_id="big", scratch_bytes=whole)))["upper_bytes"] == whole
    ok(vm.request("unmount_overlay", {"target": "/run/containers/big/rootfs"}))
    ok(vm.request("scratch_unmount", {"target": SCRATCH}))


def test_scratch_whose_integrity_mapping_stays_is_refused_until_cleanly_unmounted(env):
    """The crypt mapping (and the key) is gone, the integrity mapping stays:
    nothing can be put back, so the scratch is unusable until a retry of
    scratch_unmount removes what is left."""
    vm = env["vm"]
    ok(vm.request("scratch_mount", {"serial": "scratch"}))
    inject(vm, "dm_remove", 1000, after=1)
    failed(vm.request("scratch_unmount", {"target": SCRATCH}), "key is destroyed", "unusable")
    inject(vm, "dm_remove", 0)
    resp = vm.request("mount_overlay", {"container_id": "read5", "layers": tools_layers(env), "scratch": SCRATCH})
    failed(resp, f"scratch {SCRATCH} is unusable", "scratch_unmount it and mount it again")
    resp = vm.request("scratch_mount", {"serial": "scratch"})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    failed(vm.request("scratch_unmount", {"target": SCRATCH, "verify": True}), "without verify")
    ok(vm.request("scratch_unmount", {"target": SCRATCH}))
    ok(vm.request("scratch_mount", {"serial": "scratch"}))
    assert read_base_in_a_container(vm, env, "read5", scratch=SCRATCH) == HELLO
    ok(vm.request("scratch_unmount", {"target": SCRATCH}))


def test_shutdown_then_unmounts_back_to_back_never_lose_a_layer(env):
    """The issue's race without any injected fault: a container is killed and
    its overlay and layer are unmounted at once. Whatever unmount_device
    answers, the guest agrees with it: gone and mountable again, or still
    mounted and readable."""
    vm, base = env["vm"], env["base"]
    for i in range(3):
        cid = f"sleep{i}"
        start_container(vm, env, cid, SLEEPER_ARGV)
        ok(vm.request("shutdown_container", {"container_id": cid}))
        ok(poll(vm, "unmount_overlay", {"target": f"/run/containers/{cid}/rootfs"},
                lambda r: r["ok"] or "busy" not in r["error"]["message"]))
        resp = vm.request("unmount_device", {"target": layer_target(base)})
        if resp["ok"]:
            ok(vm.request("mount_device", {"serial": "base", "root_hash": base["root_hash"]}))
        else:
            failed(resp, "mounted again")
        assert read_base_in_a_container(vm, env, f"read-race{i}") == HELLO


def test_everything_unmounts_at_the_end(env):
    vm = env["vm"]
    for entry in (env["tools"], env["base"]):
        ok(vm.request("unmount_device", {"target": layer_target(entry)}))
