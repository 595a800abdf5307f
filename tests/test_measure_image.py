"""uvm measure on the real firmware (out/image/OVMF.amdsev.fd, fetched by the image build).

Run by `make test` after the image is built, with /usr/bin/python3 -m pytest. Checks the Debian
OVMF.amdsev.fd vector of tests/data/measurement/README.md, the step-by-step trace of docs/measure.md,
the --matrix JSON against single runs, and refusal of damaged copies of the firmware.
"""
import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from snp_pages import guid_le as _guid_le, page_info as _page_info

ROOT = Path(__file__).resolve().parent.parent
UVM = ROOT / "out/bin/uvm"
OVMF = ROOT / "out/image/OVMF.amdsev.fd"
DATA = ROOT / "tests/data/measurement"
OVMF_SHA256 = "3e4fd0b3fe3b2dbe481c3d9e99418a034174f26cbe1f55aa212b0f18c12d2d6f"
# sev-snp-measure's value for kernel.bin (README); uvm measure now refuses kernel.bin (not a
# bzImage), so the CLI is checked with bzimage.bin against EXPECTED, derived below by a separate
# Python computation from the trace (whose steps up to the hashes page are shared by both kernels).
SEV_SNP_MEASURE_KERNEL_BIN = ("633f707ee1a5a751a99a296573c98653f2aaf34a367003c8469dbd477df9a69a"
                              "97921c7e1f8a59613f661b4920b4f774")
EXPECTED = ("b95e37fe6634706a917bec6727c3f868008a83e8c2ccd30ff4a7e506ad7587733d4bc059b3d8006c1d254f09112c2d8a")

# The trace for that computation (docs/measure.md; Debian OVMF.amdsev.fd, 1 vCPU, EPYC-v4, 0x1).
TRACE = [
    ("after the 1024 firmware pages (GPA 0xffc00000)",
     "9d0dd8be18c86e3fe3bf0038ed75ebf5340bee69fd2632c8ff9409964575960ae1f7e84be387d2e3467bc3508d1e4806"),
    ("after SNP_SEC_MEM 0x800000+0x9000",
     "9cbd59c713518d50c986aac8db659bb9f624e0f61801fd69b28ad5692251933fd4b27aecf37842bea36f924c8fa61eac"),
    ("after SNP_SEC_MEM 0x80a000+0x3000",
     "c0f1d25230f7591f8601c0466f9b21adddc7ac78bff392e56145485542f4d8fb53fd3e1a31ac5d329286efec7aa82cef"),
    ("after SNP_SECRETS 0x80d000+0x1000",
     "c8904ca5466fb1d6edaa0a66ce58fb77195dba1086853ba3e59dfe566644ce6a17fca2c1efc2f1f21e3a7a29bc436434"),
    ("after CPUID 0x80e000+0x1000",
     "af6b338251f48b6a59d1cd2ee92eb475ed5df4378a55022c46e03fadebb4847853769d33b0db68942827a213cfdb7abf"),
    ("after SVSM_CAA 0x80f000+0x1000",
     "bb4c3d11241155a4cae9363779a4c5e50a95c10a7b32d8829f7e0ab89322f8f45dd8d0074b7e0897a041eeca679fa8de"),
    ("after SNP_SEC_MEM 0x811000+0x1f000",
     "2f44f8584a7c2a7e78da84de46a02138ba8701c74746e323f397beffbb4451f05bd3684da9d07db8a1d955bd818dc3b5"),
    ("cmdline sha256", "f18aae9b3c09e55bc3047ad361e2442d7c53372470b2958fb83293209a784f71"),
    ("SHA-384 of the BSP VMSA",
     "77920c4c629ff47e90c0e174fc1ad0eb6fa664f88cd4739488058a8c6cb1a77b3856f55378e9518d0da99452d51c553a"),
    ("SHA-384 of an AP VMSA",
     "8413b852790765a310d95867a8b00bfca3a802b5a80830044b45e253fe96222657e11e53fcf63eb0e0afd722385bf7b4"),
]


def base_args(ovmf=OVMF, vcpus=1, cpu="EPYC-v4"):
    return ["measure", "--mode", "snp", "--vcpus", str(vcpus), "--vcpu-type", cpu,
            "--ovmf", str(ovmf), "--kernel", str(DATA / "bzimage.bin"),
            "--initrd", str(DATA / "initrd.cpio"), "--append", "console=ttyS0"]


def uvm(*args):
    return subprocess.run([str(UVM), *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module", autouse=True)
def firmware():
    assert UVM.exists(), f"{UVM} is missing: build it with 'make out/bin/uvm'"
    assert OVMF.exists(), f"{OVMF} is missing: the image build fetches it ('make image')"
    digest = hashlib.sha256(OVMF.read_bytes()).hexdigest()
    assert digest == OVMF_SHA256, f"{OVMF} is not the pinned Debian ovmf-amdsev build"


def test_debian_ovmf_vector():
    r = uvm(*base_args(), "--guest-features", "0x1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == EXPECTED + "\n"


def test_defaults_are_sev_snp_measure_defaults():
    # guest features 0x1, QEMU, hex
    r = uvm(*base_args())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == EXPECTED


def test_base64_and_verbose_output():
    r = uvm(*base_args(), "--output-format", "base64")
    assert r.returncode == 0, r.stderr
    assert base64.b64decode(r.stdout.strip()).hex() == EXPECTED
    r = uvm(*base_args(), "-v")
    assert r.stdout == f"Calculated SEV_SNP guest measurement: {EXPECTED}\n"


def test_explain_shows_the_reference_trace():
    r = uvm(*base_args(), "--explain")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == EXPECTED, "--explain must not change stdout"
    lines = r.stderr.splitlines()
    for label, value in TRACE:
        assert any(label in line and line.rstrip().endswith(value) for line in lines), \
            f"--explain lacks '{label} ... {value}'\n{r.stderr}"
    assert lines[-1].rstrip().endswith(EXPECTED), "the last step is the final digest"


def test_firmware_digest_mode():
    r = uvm("measure", "--mode", "snp:ovmf-hash", "--ovmf", str(OVMF))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == TRACE[0][1]
    # and feeding it back skips hashing the pages but gives the same measurement
    r = uvm(*base_args(), "--snp-ovmf-hash", TRACE[0][1])
    assert r.stdout.strip() == EXPECTED


def test_matrix_matches_single_runs():
    r = uvm("measure", "--mode", "snp", "--matrix", "--ovmf", str(OVMF),
            "--kernel", str(DATA / "bzimage.bin"), "--initrd", str(DATA / "initrd.cpio"),
            "--append", "console=ttyS0")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    entries = doc["measurements"]
    assert len(entries) == 16 * 5
    assert {e["vcpu_type"] for e in entries} == {
        "EPYC-v4", "EPYC-Rome", "EPYC-Milan", "EPYC-Genoa", "EPYC-Turin"}
    assert doc["artifacts"]["ovmf"]["sha256"] == OVMF_SHA256
    assert doc["artifacts"]["kernel"]["sha256"] == hashlib.sha256(
        (DATA / "bzimage.bin").read_bytes()).hexdigest()
    assert entries[0]["measurement"]["hex"] == EXPECTED
    for e in (entries[0], entries[16 + 6], entries[3 * 16 + 15], entries[4 * 16 + 1]):
        r1 = uvm(*base_args(vcpus=e["vcpus"], cpu=e["vcpu_type"]))
        assert r1.stdout.strip() == e["measurement"]["hex"], e
        assert base64.b64decode(e["measurement"]["base64"]).hex() == e["measurement"]["hex"]
        args = e["qemu_args"]
        assert args[args.index("-smp") + 1] == str(e["vcpus"])
        assert args[args.index("-cpu") + 1] == e["vcpu_type"]
        assert "kernel-hashes=on" in args[args.index("-object") + 1]
    # deterministic bytes
    r2 = uvm("measure", "--mode", "snp", "--matrix", "--ovmf", str(OVMF),
             "--kernel", str(DATA / "bzimage.bin"), "--initrd", str(DATA / "initrd.cpio"),
             "--append", "console=ttyS0")
    assert r2.stdout == r.stdout


@pytest.mark.parametrize("cut, message", [
    (lambda b: b[:-1], "multiple of 4096"),               # truncated by a byte
    (lambda b: b[:-4096], "no OVMF footer table"),        # the last page (table) cut off
    (lambda b: b[:len(b) // 2], "no OVMF footer table"),  # half a download
    (lambda b: b[:-64] + bytes(64), "no OVMF footer table"),  # footer zeroed
])
def test_damaged_firmware_is_refused(tmp_path, cut, message):
    bad = tmp_path / "bad.fd"
    bad.write_bytes(cut(OVMF.read_bytes()))
    r = uvm(*base_args(ovmf=bad))
    assert r.returncode == 1, r.stdout
    assert r.stdout == ""
    assert r.stderr.startswith(f"uvm measure: {bad}: ") and message in r.stderr, r.stderr


def test_usage_errors_exit_2():
    assert uvm("measure", "--mode", "snp", "--ovmf", str(OVMF)).returncode == 2  # no --vcpus
    assert uvm(*base_args(), "--vcpu-sig", "0x800f12").returncode == 2            # two CPU forms
    assert uvm(*base_args(cpu="EPYC-v9")).returncode == 2
    assert uvm(*base_args(vcpus=0)).returncode == 2
    assert uvm(*base_args(), "--output-format", "raw").returncode == 2
    assert uvm("measure", "--mode", "csv", "--ovmf", str(OVMF)).returncode == 2       # not a mode we know
    assert uvm("measure", "--help").returncode == 0


def test_sev_digest_of_the_firmware_alone_is_its_sha256():
    """SEV (not SNP) measures the firmware's bytes, then the hashes table when a kernel is given:
    without one, the digest is the firmware's SHA-256 (sev-snp-measure's sev mode)."""
    r = uvm("measure", "--mode", "sev", "--ovmf", str(OVMF))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == hashlib.sha256(OVMF.read_bytes()).hexdigest()


def _last_steps(kernel):
    """The SNP steps after the last SNP_SEC_MEM section (trace value, from docs/measure.md), written
    independently of the C code: the hashes page at 0x810000 (table at 0xc00), then one BSP VMSA."""
    ld = bytes.fromhex(TRACE[6][1])
    table = _guid_le("9438d606-4f22-4cc9-b479-a793d411fd21") + (168).to_bytes(2, "little")
    for guid, value in (("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", b"console=ttyS0\0"),
                        ("44baf731-3a2f-4bd7-9af1-41e29169781d", (DATA / "initrd.cpio").read_bytes()),
                        ("4de79437-abd2-427f-b835-d5b172d2045b", (DATA / kernel).read_bytes())):
        table += _guid_le(guid) + (50).to_bytes(2, "little") + hashlib.sha256(value).digest()
    page = bytes(0xc00) + table + bytes(4096 - 0xc00 - len(table))
    ld = _page_info(ld, hashlib.sha384(page).digest(), 1, 0x810000)
    vmsa = (DATA / "vmsa_bsp_epycv4_feat0x1.bin").read_bytes()
    return _page_info(ld, hashlib.sha384(vmsa).digest(), 2, 0xFFFFFFFFF000).hex()


def test_expected_derivation():
    # the derivation reproduces sev-snp-measure's own number for kernel.bin ...
    assert _last_steps("kernel.bin") == SEV_SNP_MEASURE_KERNEL_BIN
    # ... and gives EXPECTED for the bzImage fixture
    assert _last_steps("bzimage.bin") == EXPECTED


def test_kernel_not_bzimage_refused():
    args = base_args()
    args[args.index("--kernel") + 1] = str(DATA / "kernel.bin")
    p = uvm(*args)
    assert p.returncode == 1 and p.stdout == "", p
    assert "kernel.bin: not a bzImage" in p.stderr and "HdrS" in p.stderr, p.stderr


# ---------------------------------------------------------------- --mode snp:svsm
#
# No COCONUT-SVSM image is packaged for Debian, so the SVSM is a hand-made image in the format
# sev-snp-measure reads (footer table with an SVSM info entry and ASEV metadata), placed under the
# real firmware; the expected digest is derived here from the SNP ABI's PAGE_INFO chain, starting
# at the trace's firmware digest, with the VMSA laid out from the field list of Linux's
# struct sev_es_save_area (not from the C code's offsets).

VARS_SIZE = 0x84000                        # Debian's OVMF_VARS (540672 bytes)
SVSM_PAGES = 4
SVSM_GPA = 0xFFC00000 - VARS_SIZE - SVSM_PAGES * 4096
SVSM_ENTRY = 0x1230                        # offset of the entry point in the image
SVSM_SECTIONS = [(0x805000, 0x1000, 3), (0x800000, 0x3000, 1), (0x803000, 0x1000, 2), (0x804000, 0x1000, 4)]

SAVE_AREA = [(n, 16) for n in ("es", "cs", "ss", "ds", "fs", "gs", "gdtr", "ldtr", "idtr", "tr")] + [
    ("vmpl_ssp", 32), ("u_cet", 8), ("reserved_1", 2), ("vmpl", 1), ("cpl", 1), ("reserved_2", 4),
    ("efer", 8), ("reserved_3", 104), ("xss", 8), ("cr4", 8), ("cr3", 8), ("cr0", 8), ("dr7", 8),
    ("dr6", 8), ("rflags", 8), ("rip", 8), ("dr0_3", 32), ("dr_masks", 32), ("reserved_4", 24),
    ("rsp", 8), ("s_cet", 8), ("ssp", 8), ("isst_addr", 8), ("rax", 8), ("star", 8), ("lstar", 8),
    ("cstar", 8), ("sfmask", 8), ("kernel_gs_base", 8), ("sysenter", 24), ("cr2", 8),
    ("reserved_5", 32), ("g_pat", 8), ("dbgctrl", 8), ("br", 16), ("last_excp", 16),
    ("reserved_7", 80), ("pkru", 4), ("reserved_8", 20), ("reserved_9", 8), ("rcx", 8), ("rdx", 8),
    ("rbx", 8), ("reserved_10", 8), ("rbp", 8), ("rsi", 8), ("rdi", 8), ("r8_15", 64),
    ("reserved_11", 16), ("exit_info", 24), ("guest_nrip", 8), ("sev_features", 8)]


def _svsm_vmsa(eip, sig):
    off, pos = {}, 0
    for name, size in SAVE_AREA:
        off[name] = pos
        pos += size
    off["xcr0"] = pos + 6 * 8   # vintr_ctrl, exit code, virtual_tom, tlb_id, pcpu_id, event_inj
    page = bytearray(4096)
    segs = {"es": (16, 0xc93, 0xffffffff), "cs": (8, 0xc9b, 0xffffffff), "ss": (16, 0xc93, 0xffffffff),
            "ds": (16, 0xc93, 0xffffffff), "fs": (16, 0xc93, 0xffffffff), "gs": (0, 0x93, 0xffff),
            "gdtr": (0, 0, 0xffff), "ldtr": (0, 0x82, 0xffff), "idtr": (0, 0, 0xffff), "tr": (0, 0x8b, 0xffff)}
    for name, (sel, attr, limit) in segs.items():
        page[off[name]:off[name] + 8] = sel.to_bytes(2, "little") + attr.to_bytes(2, "little") + \
            limit.to_bytes(4, "little")
    for name, value in (("efer", 0x1000), ("cr4", 0x40), ("cr0", 0x11), ("dr7", 0x400), ("dr6", 0xffff0ff0),
                        ("rflags", 2), ("rip", eip), ("g_pat", 0x7040600070406), ("rdx", sig),
                        ("sev_features", 1), ("xcr0", 1)):
        page[off[name]:off[name] + 8] = value.to_bytes(8, "little")
    return bytes(page)


def _svsm_image(sections=SVSM_SECTIONS, info=True, entry=SVSM_ENTRY):
    img = bytearray(SVSM_PAGES * 4096)
    for i in range(SVSM_PAGES):
        img[i * 4096] = 0xA0 + i                   # every page differs
    meta_at = 0x2000
    img[meta_at:meta_at + 16] = b"ASEV" + (16 + 12 * len(sections)).to_bytes(4, "little") + \
        (1).to_bytes(4, "little") + len(sections).to_bytes(4, "little")
    for i, (gpa, size, kind) in enumerate(sections):
        img[meta_at + 16 + 12 * i:meta_at + 28 + 12 * i] = b"".join(v.to_bytes(4, "little") for v in (gpa, size, kind))
    entries = b""
    if info:
        entries += entry.to_bytes(4, "little") + (22).to_bytes(2, "little") + \
            _guid_le("a789a612-0597-4c4b-a49f-cbb1fe9d1ddd")
    entries += (len(img) - meta_at).to_bytes(4, "little") + (22).to_bytes(2, "little") + \
        _guid_le("dc886566-984a-4798-a75e-5585a7bf67cc")
    footer = (len(entries) + 18).to_bytes(2, "little") + _guid_le("96b582de-1fb2-45f7-baea-a366c55a082d")
    table = entries + footer
    end = len(img) - 32
    img[end - len(table):end] = table
    return bytes(img)


def _svsm_expected(svsm, vcpus, sig=0x800f12):
    ld = bytes.fromhex(TRACE[0][1])                              # the 1024 firmware pages
    for i in range(len(svsm) // 4096):
        ld = _page_info(ld, hashlib.sha384(svsm[i * 4096:(i + 1) * 4096]).digest(), 1, SVSM_GPA + i * 4096)
    for gpa, size, kind in SVSM_SECTIONS:                        # table order, not address order
        page_type = {1: 3, 2: 5, 3: 6, 4: 3}[kind]               # SEC_MEM, CAA: ZERO; SECRETS; CPUID
        for p in range(0, size if kind in (1, 4) else 4096, 4096):
            ld = _page_info(ld, bytes(48), page_type, gpa + p)
    vmsa = hashlib.sha384(_svsm_vmsa(SVSM_GPA + SVSM_ENTRY, sig)).digest()
    for _ in range(vcpus):
        ld = _page_info(ld, vmsa, 2, 0xFFFFFFFFF000)
    return ld.hex()


def svsm_args(svsm, vcpus=1, *extra):
    return ["measure", "--mode", "snp:svsm", "--vcpus", str(vcpus), "--vcpu-type", "EPYC-v4",
            "--ovmf", str(OVMF), "--svsm", str(svsm), *extra]


@pytest.mark.parametrize("vcpus", [1, 4])
def test_svsm_digest_derived_from_the_abi(tmp_path, vcpus):
    svsm = tmp_path / "svsm.bin"
    svsm.write_bytes(_svsm_image())
    expected = _svsm_expected(svsm.read_bytes(), vcpus)
    p = uvm(*svsm_args(svsm, vcpus, "--vars-size", str(VARS_SIZE)))
    assert p.returncode == 0 and p.stdout == expected + "\n", (p, expected)
    # --vars-file gives the same placement; -v names the mode as sev-snp-measure does
    vars_file = tmp_path / "OVMF_VARS.fd"
    vars_file.write_bytes(bytes(VARS_SIZE))
    p = uvm(*svsm_args(svsm, vcpus, "--vars-file", str(vars_file), "-v"))
    assert p.returncode == 0 and p.stdout == f"Calculated SEV_SNP_SVSM guest measurement: {expected}\n", p


def test_svsm_placement_and_vmsa_are_what_is_measured(tmp_path):
    svsm = tmp_path / "svsm.bin"
    svsm.write_bytes(_svsm_image())
    # another vars size moves the SVSM: another digest
    p = uvm(*svsm_args(svsm, 1, "--vars-size", str(VARS_SIZE + 4096)))
    assert p.returncode == 0 and p.stdout != _svsm_expected(svsm.read_bytes(), 1) + "\n", p
    p = uvm(*svsm_args(svsm, 2, "--vars-size", str(VARS_SIZE), "--explain", f"--dump-vmsa={tmp_path}"))
    assert p.returncode == 0, p
    vmsa = _svsm_vmsa(SVSM_GPA + SVSM_ENTRY, 0x800f12)
    assert (tmp_path / "vmsa0.bin").read_bytes() == vmsa and (tmp_path / "vmsa1.bin").read_bytes() == vmsa
    assert TRACE[0][1] in p.stderr and f"at GPA 0x{SVSM_GPA:x}, entry point 0x{SVSM_GPA + SVSM_ENTRY:x}" in p.stderr
    assert "CPUID              0x805000+0x1000" in p.stderr.splitlines()[4], p.stderr


@pytest.mark.parametrize("change,message", [
    (dict(info=False), "no SVSM info entry"),
    (dict(entry=SVSM_PAGES * 4096), "entry point offset 0x4000 lies outside"),
    (dict(sections=[(0xFFFFF000, 0x1000, 2)]), "overlaps the firmware"),
    (dict(sections=[(SVSM_GPA, 0x1000, 2)]), "overlaps the firmware image"),
    (dict(sections=[(0x800000, 0x1000, 9)]), "unknown type 0x9"),
])
def test_svsm_image_refused(tmp_path, change, message):
    svsm = tmp_path / "svsm.bin"
    svsm.write_bytes(_svsm_image(**change))
    p = uvm(*svsm_args(svsm, 1, "--vars-size", str(VARS_SIZE)))
    assert p.returncode == 1 and p.stdout == "" and f"{svsm}: " in p.stderr and message in p.stderr, p.stderr


def test_svsm_vars_store_refused(tmp_path):
    svsm = tmp_path / "svsm.bin"
    svsm.write_bytes(_svsm_image())
    odd = tmp_path / "vars"
    odd.write_bytes(bytes(1000))
    p = uvm(*svsm_args(svsm, 1, "--vars-file", str(odd)))
    assert p.returncode == 1 and "1000 bytes is not a vars store" in p.stderr, p
    p = uvm(*svsm_args(svsm, 1, "--vars-file", str(tmp_path / "none")))
    assert p.returncode == 1 and "No such file" in p.stderr, p
    p = uvm(*svsm_args(svsm, 1, "--vars-size", str((1 << 30) + 4096)))
    assert p.returncode == 2 and "at most 1 GiB" in p.stderr, p
    p = uvm(*svsm_args(svsm, 1, "--vars-size", "4097"))
    assert p.returncode == 2 and "not a multiple of 4096" in p.stderr, p
