"""The ACPI tables of `uvm igvm`'s image, read by a reference tool.

The tables are taken from the ACPI page (GPA 0x8d000) of the IGVM file built from the real
test-flavour kernel and initrd (our Python IGVM reader, tests/test_igvm_image.py), followed from the
RSDP through the XSDT and the FADT's X_DSDT, written to files and disassembled by ACPICA's `iasl -d`
(Debian's acpica-tools, installed by `make deps`). Needs out/bin/uvm and out/image-test.
"""
import shutil
import struct
import subprocess

import pytest

from test_igvm_image import build, data_pages

ACPI = 0x8d000
PAGE = 4096
IASL = shutil.which("iasl")


def checksum_ok(b):
    return sum(b) % 256 == 0


def table_at(page, gpa):
    """The table at gpa, inside the ACPI page."""
    off = gpa - ACPI
    assert 0 <= off and off + 36 <= PAGE, hex(gpa)
    length = struct.unpack_from("<I", page, off + 4)[0]
    assert off + length <= PAGE, (page[off:off + 4], length)
    return page[off:off + length]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    out = tmp_path_factory.mktemp("acpi") / "uvm.igvm"
    p = build(out)
    assert p.returncode == 0, p.stderr
    page = data_pages(out.read_bytes())[ACPI]
    rsdp = page[:36]
    assert rsdp[:8] == b"RSD PTR " and rsdp[15] == 2 and checksum_ok(rsdp[:20]) and checksum_ok(rsdp)
    xsdt = table_at(page, struct.unpack_from("<Q", rsdp, 24)[0])
    entries = [struct.unpack_from("<Q", xsdt, 36 + 8 * i)[0] for i in range((len(xsdt) - 36) // 8)]
    found = {"XSDT": xsdt}
    for gpa in entries:
        t = table_at(page, gpa)
        found[t[:4].decode()] = t
    dsdt_gpa = struct.unpack_from("<Q", found["FACP"], 140)[0]
    found["DSDT"] = table_at(page, dsdt_gpa)
    found["entries"] = entries
    found["dsdt_gpa"] = dsdt_gpa
    return found


def iasl(tmp_path, name, table):
    if IASL is None:
        pytest.fail("iasl missing: run make deps (acpica-tools)")
    f = tmp_path / f"{name.lower()}.dat"
    f.write_bytes(table)
    p = subprocess.run([IASL, "-d", str(f)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "Error" not in out and "Warning" not in out and "Incorrect checksum" not in out, out
    return (tmp_path / f"{name.lower()}.dsl").read_text()


def test_every_table_has_its_checksum_and_the_xsdt_names_facp_and_apic(tables):
    assert sorted(k for k in tables if len(k) == 4) == ["APIC", "DSDT", "FACP", "XSDT"]
    assert tables["entries"] == [ACPI + 0x100, ACPI + 0x80]
    for sig in ("XSDT", "APIC", "FACP", "DSDT"):
        assert checksum_ok(tables[sig]), sig
    # all of them in the one e820 ACPI page (test_igvm_image.py checks the e820 table)
    assert tables["dsdt_gpa"] + len(tables["DSDT"]) <= ACPI + PAGE


def test_iasl_reads_the_fadt(tables, tmp_path):
    dsl = iasl(tmp_path, "FACP", tables["FACP"])
    lines = {" ".join(line.split()) for line in dsl.splitlines()}
    for want in ("[000h 0000 4] Signature : \"FACP\" [Fixed ACPI Description Table (FADT)]",
                 "[008h 0008 1] Revision : 06",
                 "Hardware Reduced (V5) : 1",
                 "[028h 0040 4] DSDT Address : 0008D240",
                 "[08Ch 0140 8] DSDT Address : 000000000008D240",
                 "[024h 0036 4] FACS Address : 00000000",
                 "Legacy Devices Supported (V2) : 0",
                 "8042 Present on ports 60/64 (V2) : 0",
                 "VGA Not Present (V4) : 1",
                 "MSI Not Supported (V4) : 0",
                 "[083h 0131 1] FADT Minor Revision : 05"):
        assert want in lines, (want, dsl)


def test_iasl_reads_the_dsdt(tables, tmp_path):
    dsl = iasl(tmp_path, "DSDT", tables["DSDT"])
    body = [line.split("//")[0].strip() for line in dsl.splitlines() if not line.lstrip().startswith(("*", "/*"))]
    body = [line for line in body if line]
    vmod = body.index("Device (VMOD)")
    vmbs = body.index("Device (VMBS)")
    assert body[body.index("Scope (\\_SB)") + 1] == "{" and vmod < vmbs
    assert 'Name (_HID, "ACPI0004" /* Module Device */)' == body[vmod + 2]
    assert "Name (_UID, Zero)" == body[vmod + 3]
    assert body[vmod + 4] == "Name (_CRS, ResourceTemplate ()"
    crs = body[vmod + 5:vmbs]
    assert crs.count("QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,") == 2
    for value in ("0x00000000F8000000,", "0x00000000FFFFFFFF,", "0x0000000FE0000000,", "0x0000000FFFFFFFFF,"):
        assert value in crs, (value, crs)
    assert body[vmbs + 1:vmbs + 6] == ["{", "Name (_STA, 0x0F)", 'Name (_HID, "VMBus")', "Name (_UID, Zero)",
                                       "Name (_CRS, Buffer (0x02)"]
    assert body[vmbs + 7] == "0x79, 0x87"         # an End Tag alone: an empty resource template


def test_iasl_reads_the_madt(tables, tmp_path):
    dsl = iasl(tmp_path, "APIC", tables["APIC"])
    lines = {" ".join(line.split()) for line in dsl.splitlines()}
    assert "[024h 0036 4] Local Apic Address : FEE00000" in lines
    assert "[02Fh 0047 1] Local Apic ID : 00" in lines
