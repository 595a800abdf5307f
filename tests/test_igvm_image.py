"""uvm igvm on the real test-flavour kernel and initrd (out/image-test), and uvm launch --igvm.

The IGVM file is read here by a reader written from the format (microsoft/igvm igvm_defs, version
1: fixed header, zlib CRC-32, TLVs), its launch digests derived from its directives with the
PAGE_INFO rules of docs/measure.md ("IGVM") and compared with `uvm measure --igvm`; the pages are
compared with the bzImage, initrd and command line and with the boot protocol's fields. Needs
out/bin/uvm and out/image-test (make image-test).
"""
import base64
import hashlib
import json
import re
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from snp_pages import page_info

ROOT = Path(__file__).resolve().parent.parent
UVM = ROOT / "out/bin/uvm"
IMAGE = ROOT / "out/image-test"
# make's IGVM command line: the image's, plus what leaves vsock to hv_sock on
# Hyper-V (docs/hyperv.md, "Devices"); the file carries it, so it is measured.
CMDLINE = "console=ttyS0 panic=-1 initcall_blacklist=virtio_vsock_init"
POLICY = ROOT / "tests/data/policy/sample.json"
PAGE = 4096
VMSA_GPA = 0xFFFFFFFFF000
SNP_NORMAL, SNP_VMSA, SNP_ZERO, SNP_UNMEASURED, SNP_SECRETS, SNP_CPUID = 1, 2, 3, 4, 5, 6


def uvm(*args):
    return subprocess.run([str(UVM), *map(str, args)], capture_output=True, text=True, timeout=120)


def build(out, kernel=IMAGE / "bzImage", initrd=IMAGE / "initrd", cmdline=CMDLINE, memory=None):
    extra = ["--memory", memory] if memory is not None else []
    return uvm("igvm", "--kernel", kernel, "--initrd", initrd, "--cmdline", cmdline, *extra, "-o", out)


# ---------------------------------------------------------------- an IGVM reader of our own

def read_igvm(blob):
    """The file's TLV entries, after the checks of the fixed header and its CRC-32."""
    magic, version, vh_off, vh_size, total, crc = struct.unpack_from("<6I", blob)
    assert (magic, version, vh_off, total) == (0x4D564749, 1, 24, len(blob))
    assert zlib.crc32(blob[:20] + bytes(4) + blob[vh_off:vh_off + vh_size]) == crc
    entries, pos = [], vh_off
    while pos < vh_off + vh_size:
        typ, length = struct.unpack_from("<II", blob, pos)
        entries.append((typ, blob[pos + 8:pos + 8 + length]))
        assert blob[pos + 8 + length:pos + 8 + length + (-length % 8)] == bytes(-length % 8)
        pos += 8 + length + (-length % 8)
    assert pos == vh_off + vh_size
    return entries


def snp_mask(entries):
    masks = [struct.unpack_from("<I", v)[0] for t, v in entries if t == 0x1 and v[5] == 2]
    assert len(masks) == 1
    return masks[0]


def page_entries(entries):
    """(gpa, mask, file_offset, flags, data_type) of every PAGE_DATA."""
    return [struct.unpack("<QIIIHH", v)[:5] for t, v in entries if t == 0x302]


def vp_contexts(entries):
    """(gpa, mask, file_offset, vp_index) of every VP_CONTEXT."""
    return [struct.unpack("<QIIH", v[:18]) for t, v in entries if t == 0x304]


_DERIVED = {}


def derive(blob, vmm, vcpus=1):
    """The launch digest, from the directives in file order (docs/measure.md, "IGVM")."""
    key = (hashlib.sha256(blob).digest(), vmm, vcpus)
    if key not in _DERIVED:
        _DERIVED[key] = _derive(blob, vmm, vcpus)
    return _DERIVED[key]


def _derive(blob, vmm, vcpus):
    entries = read_igvm(blob)
    mask = snp_mask(entries)
    sha = lambda b: hashlib.sha384(b).digest()  # noqa: E731
    zero_page = sha(bytes(PAGE))
    ld, vps = bytes(48), {}
    for typ, v in entries:
        if typ == 0x302:
            gpa, m, off, flags, dtype = struct.unpack("<QIIIHH", v)[:5]
            if not m & mask or flags & 4:
                continue
            for i in range((512 if flags & 1 else 1)):
                at = gpa + i * PAGE
                if dtype == 1:
                    ld = page_info(ld, bytes(48), SNP_SECRETS, at)
                elif dtype in (2, 3):
                    ld = page_info(ld, bytes(48), SNP_CPUID, at)
                elif flags & 2:
                    ld = page_info(ld, bytes(48), SNP_UNMEASURED, at)
                elif off:
                    ld = page_info(ld, sha(blob[off + i * PAGE:off + (i + 1) * PAGE]), SNP_NORMAL, at)
                elif vmm == "hyperv":
                    ld = page_info(ld, zero_page, SNP_NORMAL, at)
                else:
                    ld = page_info(ld, bytes(48), SNP_ZERO, at)
        elif typ == 0x304:
            gpa, m, off, vp = struct.unpack("<QIIH", v[:18])
            if not m & mask:
                continue
            if vmm == "hyperv":
                ld = page_info(ld, sha(blob[off:off + PAGE]), SNP_VMSA, gpa)
            else:
                vps[vp] = sha(blob[off:off + PAGE])
    if vmm == "qemu":
        for n in range(vcpus):
            ld = page_info(ld, vps[n], SNP_VMSA, VMSA_GPA)
    return ld.hex()


def data_pages(blob):
    """{gpa: 4 KiB of file data} of the pages that carry data."""
    return {gpa: blob[off:off + PAGE] for gpa, _, off, flags, _ in page_entries(read_igvm(blob))
            if off and not flags & 1}


@pytest.fixture(scope="module")
def image_igvm(tmp_path_factory):
    out = tmp_path_factory.mktemp("igvm") / "uvm.igvm"
    p = build(out)
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stderr
    return out.read_bytes()


# ---------------------------------------------------------------- the file

@pytest.mark.parametrize("vmm", ["hyperv", "qemu"])
def test_digest_is_the_one_derived_from_the_directives(image_igvm, tmp_path, vmm):
    f = tmp_path / "uvm.igvm"
    f.write_bytes(image_igvm)
    p = uvm("measure", "--igvm", f, "--vmm-type", vmm)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout == derive(image_igvm, vmm) + "\n"


def test_directives_cover_the_layout(image_igvm):
    entries = read_igvm(image_igvm)
    assert [t for t, _ in entries[:2]] == [0x1, 0x101]
    mask, vtl, platform, version, boundary = struct.unpack("<IBBHQ", entries[0][1])
    assert (mask, vtl, platform, version, boundary) == (1, 0, 2, 1, 0)
    assert struct.unpack("<QII", entries[1][1]) == (0x30000, 1, 0)
    pages = page_entries(entries)
    assert all(m == 1 for _, m, _, _, _ in pages)
    gpas = [g for g, *_ in pages]
    assert gpas == sorted(gpas) and len(set(gpas)) == len(gpas)
    covered = sum(2 << 20 if flags & 1 else PAGE for _, _, _, flags, _ in pages)
    # RAM 0..512 KiB and 1 MiB..2 GiB, plus the 14 boot pages at 512 KiB
    assert covered == 0x80000 + 14 * PAGE + (2048 << 20) - 0x100000
    types = {g: t for g, _, _, _, t in pages}
    assert types[0x8a000] == 2 and types[0x8b000] == 1
    assert sum(1 for t in types.values() if t) == 2
    assert vp_contexts(entries) == [(VMSA_GPA, 1, vp_contexts(entries)[0][2], 0)]
    assert entries[-1][0] == 0x304


def test_kernel_initrd_and_command_line_pages(image_igvm):
    kernel = (IMAGE / "bzImage").read_bytes()
    initrd = (IMAGE / "initrd").read_bytes()
    pages = data_pages(image_igvm)
    sects = kernel[0x1f1] or 4
    payload = kernel[(sects + 1) * 512:]
    loaded = b"".join(pages[0x100000 + i] for i in range(0, len(payload), PAGE))
    assert loaded[:len(payload)] == payload and loaded[len(payload):] == bytes(len(loaded) - len(payload))
    in_file = b"".join(pages[0x4000000 + i] for i in range(0, len(initrd), PAGE))
    assert in_file[:len(initrd)] == initrd and not any(in_file[len(initrd):])
    assert pages[0x88000] == CMDLINE.encode() + bytes(PAGE - len(CMDLINE))


def test_boot_params_cc_blob_and_vmsa(image_igvm):
    kernel = (IMAGE / "bzImage").read_bytes()
    pages = data_pages(image_igvm)
    bp = pages[0x87000]
    end = 0x202 + kernel[0x201]
    hdr = bytearray(kernel[0x1f1:end])
    hdr[0x210 - 0x1f1] = 0xff                                   # type_of_loader
    hdr[0x211 - 0x1f1] |= 0x80                                  # CAN_USE_HEAP
    struct.pack_into("<H", hdr, 0x224 - 0x1f1, 0xfe00)          # heap_end_ptr
    struct.pack_into("<II", hdr, 0x218 - 0x1f1, 0x4000000, (IMAGE / "initrd").stat().st_size)
    struct.pack_into("<I", hdr, 0x228 - 0x1f1, 0x88000)         # cmd_line_ptr
    struct.pack_into("<Q", hdr, 0x250 - 0x1f1, 0x89040)         # setup_data
    assert bp[0x1f1:end] == bytes(hdr)
    # below 0x1f1 only acpi_rsdp_addr (0x70) and e820_entries (0x1e8) are set
    assert bp[:0x1f1] == bytes(0x70) + struct.pack("<Q", 0x8d000) + bytes(0x1e8 - 0x78) + bytes([5]) + bytes(8)
    e820 = [struct.unpack_from("<QQI", bp, 0x2d0 + 20 * i) for i in range(6)]
    assert e820 == [(0, 0x80000, 1), (0x80000, 0xd000, 2), (0x8d000, 0x1000, 3), (0x8e000, 0x72000, 2),
                    (0x100000, (2048 << 20) - 0x100000, 1), (0, 0, 0)]
    acpi = pages[0x8d000]
    checksum_ok = lambda b: sum(b) % 256 == 0  # noqa: E731
    assert acpi[:8] == b"RSD PTR " and acpi[15] == 2 and checksum_ok(acpi[:20]) and checksum_ok(acpi[:36])
    assert struct.unpack_from("<IQ", acpi, 20) == (36, 0x8d040)
    xsdt, madt = acpi[0x40:0x40 + 52], acpi[0x80:0x80 + 52]
    assert xsdt[:4] == b"XSDT" and struct.unpack_from("<I", xsdt, 4)[0] == 52 and checksum_ok(xsdt)
    assert struct.unpack_from("<QQ", xsdt, 36) == (0x8d100, 0x8d080)    # FADT, MADT (tests/test_igvm_acpi.py)
    assert madt[:4] == b"APIC" and checksum_ok(madt)
    assert struct.unpack_from("<IIBBBBI", madt, 36) == (0xfee00000, 0, 0, 8, 0, 0, 1)
    cc = pages[0x89000]
    assert struct.unpack_from("<IHHQIIQI", cc) == (0x45444d41, 1, 0, 0x8b000, PAGE, 0, 0x8a000, PAGE)
    assert struct.unpack_from("<QIII", cc, 0x40) == (0, 7, 4, 0x89000)
    gdt = pages[0x80000]
    assert struct.unpack_from("<4Q", gdt) == (0, 0, 0x00af9b000000ffff, 0x00cf93000000ffff)
    blob_vps = vp_contexts(read_igvm(image_igvm))
    vmsa = image_igvm[blob_vps[0][2]:blob_vps[0][2] + PAGE]
    q = lambda off: struct.unpack_from("<Q", vmsa, off)[0]  # noqa: E731
    assert struct.unpack_from("<HHI", vmsa, 0x10) == (0x10, 0xa9b, 0xffffffff)
    assert (q(0x178), q(0x1d8), q(0x330)) == (0x100200, 0x8d000, 0x87000)      # RIP RSP RSI
    assert (q(0xd0), q(0x158), q(0x148), q(0x150)) == (0x1500, 0x80000011, 0x60, (1 << 51) | 0x81000)
    assert q(0x3b0) == 1                                                     # SNPActive only


def test_same_inputs_same_bytes(image_igvm, tmp_path):
    a, b = tmp_path / "a" / "x.igvm", tmp_path / "b" / "deeper" / "y.igvm"
    for out in (a, b):
        out.parent.mkdir(parents=True)
        assert build(out).returncode == 0
    assert a.read_bytes() == b.read_bytes() == image_igvm
    # make's file (same kernel, initrd, command line, 2048 MiB) and what the manifest says of it
    made = (IMAGE / "uvm.igvm").read_bytes()
    assert made == image_igvm
    manifest = json.loads((IMAGE / "manifest.json").read_text())
    assert manifest["artifacts"]["uvm.igvm"] == {"sha256": hashlib.sha256(made).hexdigest(), "size": len(made)}
    ig = manifest["igvm"]
    assert (ig["file"], ig["memory_mb"], ig["vcpus"], ig["kernel_cmdline"]) == ("uvm.igvm", 2048, 1, CMDLINE)
    for vmm in ("hyperv", "qemu"):
        want = derive(made, vmm)
        assert ig["measurement"][vmm] == {"hex": want, "base64": base64.b64encode(bytes.fromhex(want)).decode()}
    # `uvm verify --measurements manifest.json` takes every run of exactly 96 hex digits: only these two
    text = (IMAGE / "manifest.json").read_text()
    tokens = re.findall(r"(?<![0-9a-fA-F])[0-9a-fA-F]{96}(?![0-9a-fA-F])", text)
    assert sorted(tokens) == sorted(derive(made, vmm) for vmm in ("hyperv", "qemu"))


def test_memory_size_is_laid_out_and_measured(image_igvm, tmp_path):
    out = tmp_path / "small.igvm"
    assert build(out, memory=128).returncode == 0
    small = out.read_bytes()
    bp = data_pages(small)[0x87000]
    assert struct.unpack_from("<QQI", bp, 0x2d0 + 80) == (0x100000, (128 << 20) - 0x100000, 1)
    assert max(g + (2 << 20 if fl & 1 else PAGE) for g, _, _, fl, _ in page_entries(read_igvm(small))) == 128 << 20
    p = uvm("measure", "--igvm", out, "--vmm-type", "qemu")
    assert p.stdout == derive(small, "qemu") + "\n" != derive(image_igvm, "qemu") + "\n"


# ---------------------------------------------------------------- hostile and odd input

def patched(tmp_path, edits, cut=None):
    kernel = bytearray((IMAGE / "bzImage").read_bytes())
    for off, value in edits:
        kernel[off:off + len(value)] = value
    path = tmp_path / "bzImage"
    path.write_bytes(bytes(kernel[:cut]))
    return path


@pytest.mark.parametrize("edits,cut,msg", [
    ([(0x202, b"HdrZ")], None, "not a bzImage (no \"HdrS\" setup header at 0x202)"),
    ([(0x1fe, b"\0\0")], None, "boot flag at 0x1fe is 0x0000"),
    ([(0x206, struct.pack("<H", 0x020b))], None, "boot protocol 2.11 is older than 2.12"),
    ([(0x236, b"\x02\x00")], None, "lack XLF_KERNEL_64"),
    ([(0x234, b"\0")], None, "relocatable_kernel is 0"),
    ([(0x211, b"\0")], None, "lack LOADED_HIGH"),
    ([(0x260, struct.pack("<I", 0x4000000))], None, "decompresses itself into 0x1000000-0x5000000"),
    ([], 0x1000, "setup sectors reach the end of the 4096-byte file"),
    ([], 0x230, "ends inside its setup header"),
])
def test_hostile_bzimage_is_refused(tmp_path, edits, cut, msg):
    kernel = patched(tmp_path, edits, cut)
    p = build(tmp_path / "out.igvm", kernel=kernel)
    assert p.returncode == 1 and msg in p.stderr and p.stdout == "", p.stderr
    assert p.stderr.count("\n") == 1
    assert not (tmp_path / "out.igvm").exists()


def test_odd_inputs_are_refused(tmp_path):
    out = tmp_path / "out.igvm"
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    cases = [
        (dict(kernel=IMAGE / "initrd"), f"{IMAGE / 'initrd'}: not a bzImage"),
        (dict(kernel=tmp_path / "missing"), "--kernel: cannot open"),
        (dict(initrd=empty), "the initrd is empty"),
        (dict(cmdline="x" * 2048), "the command line has 2048 bytes; the kernel takes at most 2047"),
        (dict(cmdline="console=ttyS0\ninit=/bin/sh"), "control character (0x0a) at byte 13"),
        (dict(memory=64), "64 MiB is too small for the layout"),
    ]
    for kw, msg in cases:
        p = build(out, **kw)
        assert p.returncode == 1 and msg in p.stderr and p.stdout == "", (kw, p.stderr)
        assert not out.exists()
    assert build(out, cmdline="x" * 2047).returncode == 0     # cmdline_size 0x7ff exactly
    p = build(tmp_path / "no" / "such" / "dir.igvm")
    assert p.returncode == 1 and "no/such/dir.igvm" in p.stderr, p.stderr


@pytest.mark.parametrize("args,msg", [
    (["--memory", "0"], "--memory"),
    (["--memory", "2817"], "--memory"),
    (["--memory", "1g"], "--memory"),
])
def test_memory_outside_the_layout_is_a_usage_error(tmp_path, args, msg):
    p = uvm("igvm", "--kernel", IMAGE / "bzImage", "--initrd", IMAGE / "initrd", "--cmdline", CMDLINE,
            *args, "-o", tmp_path / "x.igvm")
    assert p.returncode == 2 and msg in p.stderr and "(try 'uvm igvm --help')" in p.stderr, p.stderr


# ---------------------------------------------------------------- uvm launch --igvm

def test_launch_prints_qemu_and_hyperv(image_igvm, tmp_path):
    f = tmp_path / "uvm.igvm"
    f.write_bytes(image_igvm)
    p = uvm("launch", "--igvm", f, "--policy", POLICY, "--cid", 7)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    host_data = base64.b64encode(hashlib.sha256(POLICY.read_bytes()).digest()).decode()
    commands = [line for line in p.stdout.splitlines() if not line.startswith("#")]
    assert len(commands) == 1
    args = commands[0].split()
    assert args[0] == "qemu-system-x86_64"
    assert args[args.index("-machine") + 1] == "q35,confidential-guest-support=sev0,igvm-cfg=igvm0"
    objects = [args[i + 1] for i, a in enumerate(args) if a == "-object"]
    assert objects[0] == f"igvm-cfg,id=igvm0,file={f}"
    props = dict(kv.split("=", 1) for kv in objects[1].split(",")[1:])
    assert objects[1].startswith("sev-snp-guest,id=sev0,")
    assert props == {"id": "sev0", "cbitpos": "51", "reduced-phys-bits": "1", "policy": "0x30000",
                     "host-data": host_data}
    assert (args[args.index("-m") + 1], args[args.index("-smp") + 1]) == ("2048", "1")
    assert "vhost-vsock-pci,guest-cid=7" in args
    for absent in ("-kernel", "-initrd", "-append", "-bios", "kernel-hashes=on"):
        assert absent not in commands[0]
    text = p.stdout
    assert f"#   {derive(image_igvm, 'qemu')}\n" in text
    assert f"#      {derive(image_igvm, 'hyperv')}\n" in text
    assert f'LaunchData "{host_data}"' in text
    assert "vmgstool write --filepath kernelinitrd.vmgs --datapath " + str(f) + " --fileid 8" in text
    assert "00000400-facb-11e6-bd58-64006a7986d3" in text
    # --dry-run and --snp change nothing: the command is only ever printed
    q = uvm("launch", "--snp", "--dry-run", "--igvm", f, "--policy", POLICY, "--cid", 7)
    assert (q.returncode, q.stdout) == (0, p.stdout)


def test_launch_igvm_refusals(image_igvm, tmp_path):
    f = tmp_path / "uvm.igvm"
    f.write_bytes(image_igvm)
    for opt, value in (("--image", "out/image"), ("--append", "x"), ("--socket", "s"), ("--vcpus", "2"),
                       ("--memory", "1024"), ("--id-block", "b")):
        p = uvm("launch", "--igvm", f, opt, value)
        assert p.returncode == 2 and f"--igvm and {opt} conflict" in p.stderr and p.stdout == "", p.stderr
    bad = tmp_path / "bad.igvm"
    bad.write_bytes(image_igvm[:-1])
    p = uvm("launch", "--igvm", bad)
    assert p.returncode == 1 and "total_file_size" in p.stderr and p.stdout == "", p.stderr
    p = uvm("launch", "--igvm", tmp_path / "missing.igvm")
    assert p.returncode == 1 and "cannot open" in p.stderr, p.stderr
    comma = tmp_path / "a,b.igvm"
    comma.write_bytes(image_igvm)
    p = uvm("launch", "--igvm", comma)
    assert p.returncode == 1 and "comma" in p.stderr, p.stderr
    p = uvm("launch", "--igvm", f, "--disk", "data=" + str(tmp_path / "nodisk"))
    assert p.returncode == 1 and "cannot access" in p.stderr, p.stderr
