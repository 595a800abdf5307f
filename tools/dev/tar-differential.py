#!/usr/bin/env python3
"""Why the layer tar reader is ours and not libarchive's (docs/layers.md,
"Why not libarchive"): crafts tars whose meaning a reader must decide, and
prints, for each, what libarchive (bsdtar -tv, Debian's libarchive-tools)
and `uvm layer` do with it.

    apt-get install libarchive-tools && make host && python3 tools/dev/tar-differential.py

A development measurement, not a test: run it again when libarchive or the
reader changes. Needs root (uvm layer extracts with ownership)."""
import io
import os
import subprocess
import sys
import tarfile
import tempfile

UVM = os.environ.get("UVM_BIN", "out/bin/uvm")


def header(name, typeflag=b"0", size=0, magic=b"ustar\x0000", linkname=b""):
    """One 512-byte header with a correct checksum."""
    b = bytearray(512)
    b[0:len(name)] = name
    b[100:108] = b"0000644\0"
    b[108:116] = b"0000000\0"
    b[116:124] = b"0000000\0"
    b[124:136] = b"%011o\0" % size
    b[136:148] = b"00000000000\0"
    b[156:157] = typeflag
    b[157:157 + len(linkname)] = linkname
    b[257:265] = magic
    b[148:156] = b" " * 8
    b[148:156] = b"%06o\0 " % sum(b)
    return bytes(b)


def body(data):
    return data + b"\0" * (-len(data) % 512)


def pax(records):
    text = b""
    for k, v in records:
        rec = b" %s=%s\n" % (k, v)
        n = len(rec) + 1
        n = len(rec) + len(str(n))
        text += str(n).encode() + rec
    return text


def tar_of(*blocks):
    return b"".join(blocks) + b"\0" * 1024


def with_pax(typeflag, records, name=b"f", data=b"hello\n"):
    p = pax(records)
    return tar_of(header(b"PaxHeaders/f", typeflag, len(p)), body(p), header(name, b"0", len(data)), body(data))


CASES = [
    ("plain file (control)", tar_of(header(b"f", b"0", 6), body(b"hello\n"))),
    ("unknown typeflag 'Z'", tar_of(header(b"f", b"Z", 6), body(b"hello\n"))),
    ("contiguous file '7'", tar_of(header(b"f", b"7", 6), body(b"hello\n"))),
    ("pre-POSIX (v7) header, no magic", tar_of(header(b"f", b"0", 6, magic=b"\0" * 8), body(b"hello\n"))),
    ("global pax header setting path", with_pax(b"g", [(b"path", b"etc/passwd")])),
    ("global pax header setting uid", with_pax(b"g", [(b"uid", b"0")])),
    ("pax GNU.sparse.* keys", with_pax(b"x", [(b"GNU.sparse.major", b"1"), (b"GNU.sparse.minor", b"0"),
                                             (b"GNU.sparse.name", b"f"), (b"GNU.sparse.realsize", b"6")])),
    ("pax vendor key LIBARCHIVE.xattr.trusted.overlay.opaque",
     with_pax(b"x", [(b"LIBARCHIVE.xattr.trusted.overlay.opaque", b"eQ")])),
    ("pax SCHILY.xattr.trusted.overlay.opaque", with_pax(b"x", [(b"SCHILY.xattr.trusted.overlay.opaque", b"y")])),
    ("pax RHT.security.selinux", with_pax(b"x", [(b"RHT.security.selinux", b"system_u:object_r:x:s0")])),
    ("pax SCHILY.fflags (immutable)", with_pax(b"x", [(b"SCHILY.fflags", b"schg")])),
    ("pax SCHILY.acl.access", with_pax(b"x", [(b"SCHILY.acl.access", b"user::rwx,group::r-x,other::r-x")])),
    ("pax unknown vendor key", with_pax(b"x", [(b"VENDOR.anything", b"1")])),
    ("Solaris ACL entry 'A'", tar_of(header(b"f", b"A", 0), header(b"f", b"0", 6), body(b"hello\n"))),
]


def bsdtar(tar_path):
    p = subprocess.run(["bsdtar", "-tvf", tar_path], capture_output=True, text=True)
    if p.returncode:
        return "refused: " + " ".join(p.stderr.split())[:100]
    return "accepted: " + " | ".join(line.split()[-1] + " " + line.split()[0] for line in p.stdout.splitlines())


def uvm_layer(tar_path, out):
    p = subprocess.run([UVM, "layer", "--tar", tar_path, "--out", out], capture_output=True, text=True)
    if p.returncode:
        msg = p.stderr.strip().splitlines()[-1]
        return "refused: " + msg.split(": ", 2)[-1][:100]
    return "accepted"


def main():
    if not os.path.exists(UVM):
        sys.exit(f"{UVM} not built (make host)")
    with tempfile.TemporaryDirectory() as tmp:
        print("| tar | libarchive 3.6 (bsdtar -tv) | uvm layer |")
        print("|---|---|---|")
        for i, (what, data) in enumerate(CASES):
            path = os.path.join(tmp, f"{i}.tar")
            with open(path, "wb") as f:
                f.write(data)
            print(f"| {what} | {bsdtar(path)} | {uvm_layer(path, os.path.join(tmp, f'out{i}'))} |")


if __name__ == "__main__":
    main()
