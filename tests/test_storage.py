"""Guest storage under QEMU (TCG): dm-verity layers whose root hash must be
in the policy, overlays in policy order, and the dm-integrity + dm-crypt
scratch (docs/storage.md). One VM serves the whole module (a boot costs
about a minute under TCG); the tests run in file order and each states what
it proves.

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

import pytest

from uvmvm import UVM, Vm

IMAGE = os.environ.get("UVM_TEST_IMAGE", "out/image-test")
SCRATCH_BYTES = 32 << 20
MARKER = "marker-" + os.urandom(8).hex()


def make_tar(path, files):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1700000000, 0o644
            tar.addfile(info, io.BytesIO(data))


def build_layer(workdir, name, files):
    tar = workdir / f"{name}.tar"
    make_tar(tar, files)
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


def policy_for(layers):
    caps = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
    return json.dumps({"version": "1", "containers": [{
        "name": "app", "layers": layers, "argv": ["/bin/app"], "working_dir": "/",
        "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": caps}]}).encode()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    work = tmp_path_factory.mktemp("storage")
    rng = random.Random(4)
    base = build_layer(work, "base", {"etc/hello.txt": b"hello from the base layer\n",
                                      "big.bin": bytes(rng.getrandbits(8) for _ in range(1 << 20))})
    top = build_layer(work, "top", {"app/marker.txt": b"top layer\n"})
    stranger = build_layer(work, "stranger", {"x": b"not in the policy\n"})
    assert base["data_blocks"] > 128, "the base layer needs a two-level tree for the hash-area flip"
    hash_off = base["hash_offset"]
    # Data: the middle of the file system. Hash: the first leaf hash block
    # (superblock, then the one top block, then the leaves).
    dataflip = flipped_copy(base["file"], work / "dataflip.img", hash_off // 2)
    hashflip = flipped_copy(base["file"], work / "hashflip.img", hash_off + 4096 + 4096 + 100)
    scratch = work / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(SCRATCH_BYTES)
    policy = policy_for([base["root_hash"], top["root_hash"]])
    (work / "policy.json").write_bytes(policy)
    disks = [("base", base["file"], "ro"), ("top", top["file"], "ro"), ("stranger", stranger["file"], "ro"),
             ("dataflip", dataflip, "ro"), ("hashflip", hashflip, "ro"), ("scratch", scratch)]
    vm = Vm.launch(work, image=IMAGE, policy=work / "policy.json", disks=disks).start()
    try:
        vm.wait_ready()
        resp = vm.request("set_policy", {"policy_base64": base64.b64encode(policy).decode()})
        assert resp["ok"], resp
        yield {"vm": vm, "base": base, "top": top, "stranger": stranger, "scratch": scratch}
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
    # In use: a layer of the overlay, and the scratch holding its upper dir.
    resp = vm.request("unmount_device", {"target": layer_target(base)})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    resp = vm.request("scratch_unmount", {"target": "/run/scratch/scratch"})
    assert not resp["ok"] and resp["error"]["kind"] == "failed" and "unmount its overlay first" in resp["error"]["message"]
    assert vm.request("unmount_overlay", {"target": f"/run/containers/{MARKER}/rootfs"})["ok"]
    resp = vm.request("scratch_unmount", {"target": "/run/scratch/scratch", "verify": True})
    assert resp["ok"], resp


def test_scratch_holds_no_plaintext(env):
    data = env["scratch"].read_bytes()
    for plain in (MARKER.encode(), b"uvm-scratch", b"lost+found", b"containers"):
        assert plain not in data, plain
    # Written everywhere (zeroed through dm-crypt): ciphertext, not zeros.
    tail = data[SCRATCH_BYTES // 2:SCRATCH_BYTES // 2 + 65536]
    assert len(set(tail)) > 200 and tail.count(0) < 2048


def test_byte_flipped_on_the_host_reads_as_eio(env):
    vm = env["vm"]
    assert vm.request("scratch_mount", {"serial": "scratch"})["ok"]
    with open(env["scratch"], "r+b") as f:
        off = SCRATCH_BYTES * 3 // 4
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x80]))
    resp = vm.request("scratch_unmount", {"target": "/run/scratch/scratch", "verify": True})
    assert not resp["ok"] and resp["error"]["kind"] == "failed", resp
    # dm-crypt's AEAD failure reaches the reader as BLK_STS_PROTECTION = EILSEQ
    # (musl: "Illegal byte sequence"); dm-integrity's own tag mismatch as EIO.
    msg = resp["error"]["message"]
    assert "Illegal byte sequence" in msg or "I/O error" in msg, resp
    # Nothing was unmounted; without the check it goes.
    assert vm.request("scratch_unmount", {"target": "/run/scratch/scratch"})["ok"]


def test_layers_unmount_when_unused(env):
    vm = env["vm"]
    for entry in (env["top"], env["base"]):
        resp = vm.request("unmount_device", {"target": layer_target(entry)})
        assert resp["ok"], resp
