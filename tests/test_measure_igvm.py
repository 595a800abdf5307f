"""uvm measure --igvm: the SEV-SNP digest of an IGVM file, for the hyperv and qemu loader
conventions. Needs only out/bin/uvm (not the image build that test_measure_image.py needs)."""
import base64
import hashlib
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from snp_pages import page_info as _page_info

ROOT = Path(__file__).resolve().parent.parent
UVM = ROOT / "out/bin/uvm"


def uvm(*args):
    return subprocess.run([str(UVM), *args], capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------- --igvm
# An IGVM file written here from the format definition (microsoft/igvm igvm_defs, version 1),
# and its digest derived from the SNP PAGE_INFO rules of docs/measure.md ("IGVM"), independently
# of the C code.

IGVM_SNP_MASK = 0x2
IGVM_PAGE = 4096


def _tlv(typ, value):
    return struct.pack("<II", typ, len(value)) + value + bytes(-len(value) % 8)


def _igvm_file(vps=((0, 0xFFFFFFFFF000),), corrupt_crc=False, extra=()):
    """Platform, policy, then: two data pages, a data-less page, an unmeasured page, a secrets page,
    a CPUID page, a 2-page parameter area inserted, and VP contexts (vp_index, gpa)."""
    datas = [bytes([0x11]) * IGVM_PAGE, bytes(range(256)) * 16]
    vmsas = [bytes([0x40 + i]) * IGVM_PAGE for i in range(len(vps))]
    entries = [
        (0x1, struct.pack("<IBBHQ", IGVM_SNP_MASK, 0, 2, 1, 0)),
        (0x1, struct.pack("<IBBHQ", 0x1, 0, 3, 1, 0)),  # TDX: its directives are skipped
        (0x101, struct.pack("<QII", 0x30000, IGVM_SNP_MASK, 0)),
        (0x301, struct.pack("<QII", 2 * IGVM_PAGE, 7, 0)),
    ]
    data_slots = []  # (entry index, data) to patch the file offsets in
    pages = [(0x1000, 0, 0, datas[0]), (0x2000, 0, 0, datas[1]), (0x3000, 0, 0, None),
             (0x4000, 2, 0, None), (0x5000, 0, 1, None), (0x6000, 0, 2, None), (0x9000, 4, 0, datas[0])]
    for gpa, flags, dtype, data in pages:
        data_slots.append((len(entries), data))
        entries.append((0x302, [gpa, IGVM_SNP_MASK, flags, dtype]))
    entries.append((0x302, struct.pack("<QIIIHH", 0x1000, 0x1, 0, 0, 0, 0)))  # TDX only
    entries.append((0x303, struct.pack("<QII", 0x7000, IGVM_SNP_MASK, 7)))
    entries.append((0x80000555, b"ignorable"))
    for i, (vp, gpa) in enumerate(vps):
        data_slots.append((len(entries), vmsas[i]))
        entries.append((0x304, [gpa, IGVM_SNP_MASK, vp]))
    entries.extend(extra)
    vh_size = sum(8 + len(v) + (-len(v) % 8) if isinstance(v, bytes) else 32 for _, v in entries)
    offset = 24 + vh_size
    blobs, vh = b"", b""
    slots = dict(data_slots)
    for n, (typ, v) in enumerate(entries):
        if isinstance(v, list):
            data = slots[n]
            off = 0 if data is None else offset + len(blobs)
            blobs += data or b""
            v = (struct.pack("<QIIIHH", v[0], v[1], off, v[2], v[3], 0) if typ == 0x302
                 else struct.pack("<QIIHH", v[0], v[1], off, v[2], 0))
        vh += _tlv(typ, v)
    total = 24 + len(vh) + len(blobs)
    head = struct.pack("<IIIIII", 0x4D564749, 1, 24, len(vh), total, 0)
    crc = zlib.crc32(head + vh) ^ (1 if corrupt_crc else 0)
    return head[:20] + struct.pack("<I", crc) + vh + blobs, vmsas


def _igvm_expected(vmm, vps=((0, 0xFFFFFFFFF000),), vcpus=1):
    _, vmsas = _igvm_file(vps)
    sha = lambda b: hashlib.sha384(b).digest()  # noqa: E731
    ld = bytes(48)
    ld = _page_info(ld, sha(bytes([0x11]) * IGVM_PAGE), 1, 0x1000)
    ld = _page_info(ld, sha(bytes(range(256)) * 16), 1, 0x2000)
    ld = (_page_info(ld, sha(bytes(IGVM_PAGE)), 1, 0x3000) if vmm == "hyperv"
          else _page_info(ld, bytes(48), 3, 0x3000))
    ld = _page_info(ld, bytes(48), 4, 0x4000)
    ld = _page_info(ld, bytes(48), 5, 0x5000)
    ld = _page_info(ld, bytes(48), 6, 0x6000)
    # 0x9000 is shared: not measured
    ld = _page_info(ld, bytes(48), 4, 0x7000)
    ld = _page_info(ld, bytes(48), 4, 0x8000)
    if vmm == "hyperv":
        for (vp, gpa), vmsa in zip(vps, vmsas):
            ld = _page_info(ld, sha(vmsa), 2, gpa)
    else:
        by_index = {vp: vmsa for (vp, _), vmsa in zip(vps, vmsas)}
        for n in range(vcpus):
            ld = _page_info(ld, sha(by_index[n]), 2, 0xFFFFFFFFF000)
    return ld.hex()


def _write_igvm(tmp_path, **kw):
    path = tmp_path / "guest.igvm"
    path.write_bytes(_igvm_file(**kw)[0])
    return str(path)


def test_igvm_hyperv_digest_derived_from_the_format(tmp_path):
    vps = ((0, 0x10000), (1, 0x11000))
    f = _write_igvm(tmp_path, vps=vps)
    p = uvm("measure", "--igvm", f, "--vmm-type", "hyperv")
    assert p.returncode == 0 and p.stdout == _igvm_expected("hyperv", vps) + "\n", p.stderr
    p = uvm("measure", "--igvm", f, "--vmm-type", "HyperV", "-v", "--output-format", "base64")
    want = base64.b64encode(bytes.fromhex(_igvm_expected("hyperv", vps))).decode()
    assert p.stdout == f"Calculated SEV_SNP guest measurement: {want}\n", p.stderr


def test_igvm_qemu_digest_measures_vmsas_last(tmp_path):
    vps = ((1, 0xFFFFFFFFF000), (0, 0xFFFFFFFFF000))
    f = _write_igvm(tmp_path, vps=vps)
    p = uvm("measure", "--igvm", f, "--vmm-type", "qemu", "--vcpus", "2")
    assert p.returncode == 0 and p.stdout == _igvm_expected("qemu", vps, 2) + "\n", p.stderr
    assert p.stderr == ""
    p = uvm("measure", "--igvm", f, "--vmm-type", "QEMU", "-v")
    assert p.stdout == f"Calculated SEV_SNP guest measurement: {_igvm_expected('qemu', vps, 1)}\n"
    p = uvm("measure", "--igvm", f, "--vmm-type", "qemu", "--vcpus", "3")
    assert p.returncode == 1 and "vp_index 2" in p.stderr and p.stdout == "", p.stderr


def test_igvm_qemu_notes_another_vmsa_gpa(tmp_path):
    f = _write_igvm(tmp_path, vps=((0, 0x10000),))
    p = uvm("measure", "--igvm", f, "--vmm-type", "qemu", "--explain")
    assert p.returncode == 0 and p.stdout == _igvm_expected("qemu", ((0, 0x10000),)) + "\n"
    assert "note: a VP context is at GPA 0x10000" in p.stderr
    assert "PAGE_DATA 0x3000 ZERO (no data)" in p.stderr and "launch digest" in p.stderr


def test_igvm_refusals(tmp_path):
    f = _write_igvm(tmp_path, corrupt_crc=True)
    p = uvm("measure", "--igvm", f, "--vmm-type", "hyperv")
    assert p.returncode == 1 and f"uvm measure: {f}: checksum mismatch" in p.stderr, p.stderr
    f = _write_igvm(tmp_path, extra=[(0x302, struct.pack("<QIIIHH", 0x2000, IGVM_SNP_MASK, 0, 0, 0, 0))])
    p = uvm("measure", "--igvm", f, "--vmm-type", "hyperv")
    assert p.returncode == 1 and "GPA 0x2000 is measured twice" in p.stderr, p.stderr


@pytest.mark.parametrize("extra,msg", [
    ([], "--igvm needs --vmm-type hyperv or --vmm-type qemu"),
    (["--vmm-type", "ec2"], "--vmm-type 'ec2' does not apply to --igvm: use hyperv or qemu"),
    (["--vmm-type", "hyperv", "--vcpus", "2"], "--vcpus does not apply to --vmm-type hyperv"),
    (["--vmm-type", "qemu", "--ovmf", "x"], "--igvm and --ovmf conflict"),
    (["--vmm-type", "qemu", "--kernel", "x"], "--igvm and --kernel conflict"),
    (["--vmm-type", "qemu", "--vcpus", "0"], "--vcpus '0'"),
    (["--vmm-type", "qemu", "--mode", "sev"], "--igvm measures SEV-SNP only"),
])
def test_igvm_usage_errors(tmp_path, extra, msg):
    p = uvm("measure", "--igvm", _write_igvm(tmp_path), *extra)
    assert p.returncode == 2 and p.stdout == "" and msg in p.stderr, p.stderr
