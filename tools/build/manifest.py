#!/usr/bin/python3
"""Write out/image*/manifest.json: what the image is made of and what it is.

usage: manifest.py IMAGE_DIR FLAVOUR KERNEL_CMDLINE INIT_BINARY UVM_BINARY IGVM_MEMORY_MB

Lists the sha256 and size of every artifact, the pinned inputs (from
tools/build/pins.sh and ovmf/pin.sh, plus the toolchain versions), the
kernel command line the image is meant to boot with (it is measured), and
the IGVM file's predicted SEV-SNP launch digests for both loader conventions
(`uvm measure --igvm FILE --vmm-type hyperv|qemu`, docs/hyperv.md).
Output is deterministic: sorted keys, no time stamps, no host names."""
import base64
import hashlib
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def pins(script):
    """Variables assigned in a pin file, read by the shell itself."""
    out = subprocess.run(["bash", "-c", f". {script}; set -o posix; set"],
                         capture_output=True, text=True, check=True).stdout
    values = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        values[key] = value.strip("'")
    return values


def first_line(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[0]


def dpkg_version(pkg):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                          capture_output=True, text=True, check=True).stdout


def igvm_digest(uvm, path, vmm):
    """The launch digest `uvm measure --igvm` predicts, hex and base64."""
    out = subprocess.run([uvm, "measure", "--igvm", path, "--vmm-type", vmm],
                         capture_output=True, text=True, check=True).stdout.strip()
    return {"hex": out, "base64": base64.b64encode(bytes.fromhex(out)).decode()}


def igvm_section(image_dir, uvm, memory_mb, cmdline):
    path = os.path.join(image_dir, "uvm.igvm")
    return {
        "file": "uvm.igvm",
        "kernel_cmdline": cmdline,
        "memory_mb": int(memory_mb),
        "vcpus": 1,
        "measurement": {"hyperv": igvm_digest(uvm, path, "hyperv"), "qemu": igvm_digest(uvm, path, "qemu")},
        "predicted_by": "uvm measure --igvm uvm.igvm --vmm-type hyperv|qemu",
    }


def main():
    image_dir, flavour, cmdline, init_binary, uvm, igvm_memory_mb, igvm_cmdline = sys.argv[1:8]
    p = pins(os.path.join(REPO, "tools/build/pins.sh"))
    o = pins(os.path.join(REPO, "ovmf/pin.sh"))
    artifacts = {}
    for name in ("bzImage", "initrd", "OVMF.amdsev.fd", "uvm.igvm"):
        path = os.path.join(image_dir, name)
        artifacts[name] = {"sha256": sha256(path), "size": os.path.getsize(path)}
    artifacts["init"] = {"sha256": sha256(init_binary), "size": os.path.getsize(init_binary),
                         "note": "PID 1, inside the initrd"}
    manifest = {
        "flavour": flavour,
        "kernel_cmdline": cmdline,
        "qemu_direct_boot": f"-kernel bzImage -initrd initrd -append '{cmdline}'",
        "artifacts": artifacts,
        "igvm": igvm_section(image_dir, uvm, igvm_memory_mb, igvm_cmdline),
        "inputs": {
            "source_date_epoch": int(p["SOURCE_DATE_EPOCH"]),
            "linux": {"package": p["LINUX_PKG"], "version": p["LINUX_PKG_VERSION"],
                      "tarball_sha256": p["LINUX_TARBALL_SHA256"],
                      "config_fragment_sha256": sha256(os.path.join(REPO, "kernel-config/uvm.config"))},
            "openssl": {"source_package": "openssl", "version": p["OPENSSL_SRC_VERSION"],
                        "orig_sha256": p["OPENSSL_ORIG_SHA256"],
                        "debian_sha256": p["OPENSSL_DEBIAN_SHA256"]},
            "ovmf": {"package": o["OVMF_PKG"], "version": o["OVMF_PKG_VERSION"], "suite": o["OVMF_SUITE"],
                     "deb_sha256": o["OVMF_DEB_SHA256"], "fd_sha256": o["OVMF_FD_SHA256"]},
            "busybox": {"package": p["BUSYBOX_PKG"], "version": p["BUSYBOX_PKG_VERSION"],
                        "sha256": p["BUSYBOX_SHA256"], "used_for": "/bin in the initrd (external processes, docs/runtime.md) and the demo's sample image"},
            "toolchain": {"musl-tools": dpkg_version("musl-tools"), "gcc": first_line(["gcc", "--version"]),
                          "binutils": first_line(["ld", "--version"])},
        },
    }
    json.dump(manifest, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
