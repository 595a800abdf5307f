"""out/image*/manifest.json describes exactly the artifacts on disk and the
pinned inputs, and says which kernel command line the image boots with."""
import hashlib
import json
import os

import pytest


@pytest.mark.parametrize("image_dir,flavour", [("out/image", "production"), ("out/image-test", "test")])
def test_manifest_matches_artifacts(image_dir, flavour):
    with open(os.path.join(image_dir, "manifest.json")) as f:
        m = json.load(f)
    assert m["flavour"] == flavour
    assert m["kernel_cmdline"] == os.environ.get("KERNEL_CMDLINE", "console=ttyS0 panic=-1")
    for name in ("bzImage", "initrd", "OVMF.amdsev.fd", "uvm.igvm"):
        path = os.path.join(image_dir, name)
        with open(path, "rb") as f:
            data = f.read()
        assert m["artifacts"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    inputs = m["inputs"]
    assert inputs["ovmf"]["fd_sha256"] == m["artifacts"]["OVMF.amdsev.fd"]["sha256"]
    for key in ("linux", "openssl", "ovmf", "busybox", "toolchain", "source_date_epoch"):
        assert key in inputs, f"manifest lacks pinned input {key}"
    assert len(inputs["linux"]["tarball_sha256"]) == 64
    assert len(inputs["openssl"]["orig_sha256"]) == 64


def test_flavours_share_kernel_and_firmware_but_not_initrd():
    prod = json.load(open("out/image/manifest.json"))["artifacts"]
    test = json.load(open("out/image-test/manifest.json"))["artifacts"]
    assert prod["bzImage"] == test["bzImage"]
    assert prod["OVMF.amdsev.fd"] == test["OVMF.amdsev.fd"]
    assert prod["initrd"]["sha256"] != test["initrd"]["sha256"]


def test_flavours_have_different_launch_measurements():
    """A verifier pinning the production measurement can never accept the
    test flavour (whose simulated PSP signs with test keys)."""
    prod = json.load(open("out/image/measurement.json"))["measurements"]
    test = json.load(open("out/image-test/measurement.json"))["measurements"]
    assert len(prod) == len(test) == 16 * 5
    prod_digests = {json.dumps(m["measurement"], sort_keys=True) for m in prod}
    test_digests = {json.dumps(m["measurement"], sort_keys=True) for m in test}
    assert len(prod_digests) == len(prod), "every vCPU count / CPU type has its own measurement"
    assert not prod_digests & test_digests


def test_flavours_igvm_images_have_different_measurements():
    """The same holds for the IGVM images (docs/hyperv.md), under both loaders."""
    prod = json.load(open("out/image/manifest.json"))["igvm"]["measurement"]
    test = json.load(open("out/image-test/manifest.json"))["igvm"]["measurement"]
    digests = [m[vmm]["hex"] for m in (prod, test) for vmm in ("hyperv", "qemu")]
    assert len(set(digests)) == 4 and all(len(d) == 96 for d in digests)
