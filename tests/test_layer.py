"""uvm layer: reproducible dm-verity protected erofs layer images.

Builds small tars and OCI layouts itself, runs `uvm layer`, and checks the
result with the real tools: veritysetup (cryptsetup), fsck.erofs/dump.erofs
(erofs-utils) and, where the host allows it, a read-only loop mount of the
erofs image. Needs root (the tool stages files with their ownership and
creates whiteout device nodes)."""
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def uvm_bin():
    for p in (os.environ.get("UVM_BIN", ""), "out/asan/bin/uvm", "out/bin/uvm"):
        if p and os.path.exists(os.path.join(ROOT, p)):
            return os.path.join(ROOT, p)
    pytest.fail("uvm not built (make out/asan/bin/uvm)")


# What these tests need is installed by `make deps` and `make test` runs as
# root: a missing prerequisite is a failure, never a silent skip.
@pytest.fixture(autouse=True)
def prerequisites():
    if os.geteuid() != 0:
        pytest.fail("uvm layer needs root: run make test as root")
    if not shutil.which("mkfs.erofs"):
        pytest.fail("erofs-utils missing: run make deps")
    if not shutil.which("veritysetup"):
        pytest.fail("cryptsetup-bin missing: run make deps")


def add(tf, name, kind="file", data=b"", mode=0o644, uid=0, gid=0, mtime=1600000000,
        link="", pax=None, dev=(0, 0)):
    ti = tarfile.TarInfo(name)
    ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, mtime
    ti.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
               "hard": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE,
               "blk": tarfile.BLKTYPE}[kind]
    ti.devmajor, ti.devminor = dev
    ti.linkname = link
    if pax:
        ti.pax_headers = pax
    if kind == "file":
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def sample_tar(path, fmt=tarfile.PAX_FORMAT, big=0):
    with tarfile.open(path, "w", format=fmt) as tf:
        add(tf, "./", "dir", mode=0o755, mtime=1500000000)
        add(tf, "etc", "dir", mode=0o755)
        add(tf, "etc/hosts", data=b"127.0.0.1 localhost\n", uid=1000, gid=1001)
        add(tf, "etc/.wh.passwd")                      # hides a lower etc/passwd
        add(tf, "opt", "dir", mode=0o750)
        add(tf, "opt/.wh..wh..opq")                    # opt replaces the lower opt
        add(tf, "opt/keep", data=b"kept")
        add(tf, "usr/bin/tool", data=b"#!/bin/sh\n", mode=0o4755)   # implicit parents
        add(tf, "usr/bin/alias", "sym", link="tool")
        add(tf, "usr/bin/hardtool", "hard", link="usr/bin/tool")
        add(tf, "run/fifo", "fifo")
        add(tf, "x" * 150 + "/" + "long-name-" + "y" * 120, data=b"long")
        add(tf, "data/xattr", data=b"x", pax={"SCHILY.xattr.user.note": "hello"})
        if big:
            add(tf, "data/big", data=bytes(range(256)) * (big // 256))
    return path


def run_layer(args, check=True):
    p = subprocess.run([uvm_bin(), "layer"] + args, capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def layers_json(out):
    with open(os.path.join(out, "layers.json")) as f:
        return json.load(f)


def verity_verify(img, entry):
    return subprocess.run(["veritysetup", "verify", img, img, entry["root_hash"],
                           "--hash-offset=%d" % entry["hash_offset"]],
                          capture_output=True, text=True)


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def test_reproducible_and_verifiable(tmp_path):
    tar = sample_tar(str(tmp_path / "l.tar"), big=300000)
    run_layer(["--tar", tar, "--out", str(tmp_path / "a")])
    run_layer(["--tar", tar, "--out", str(tmp_path / "b")])
    ja, jb = layers_json(tmp_path / "a"), layers_json(tmp_path / "b")
    assert ja == jb and len(ja) == 1
    e = ja[0]
    assert list(e) == ["digest", "path", "root_hash", "salt", "data_blocks",
                       "hash_offset", "size"]
    assert e["digest"] == "sha256:" + hashlib.sha256(open(tar, "rb").read()).hexdigest()
    # documented salt: SHA-256 of the digest string
    assert e["salt"] == hashlib.sha256(e["digest"].encode()).hexdigest()
    a, b = tmp_path / "a" / e["path"], tmp_path / "b" / e["path"]
    assert open(a, "rb").read() == open(b, "rb").read()
    assert (open(tmp_path / "a" / "layers.json", "rb").read()
            == open(tmp_path / "b" / "layers.json", "rb").read())
    assert e["hash_offset"] == e["data_blocks"] * 4096
    assert os.path.getsize(a) == e["size"]
    assert not [n for n in os.listdir(tmp_path / "a") if n.startswith(".")], "temp files left"
    p = verity_verify(str(a), e)
    assert p.returncode == 0, p.stderr
    # the verity superblock sits right after the erofs image
    with open(a, "rb") as f:
        f.seek(e["hash_offset"])
        assert f.read(8) == b"verity\0\0"


@pytest.mark.parametrize("where", ["data", "hash"])
def test_flipped_byte_fails_verification(tmp_path, where):
    tar = sample_tar(str(tmp_path / "l.tar"), big=600000)
    run_layer(["--tar", tar, "--out", str(tmp_path / "o")])
    e = layers_json(tmp_path / "o")[0]
    img = str(tmp_path / "o" / e["path"])
    assert verity_verify(img, e).returncode == 0
    # data: inside the file data; hash: in the tree, after the superblock block
    flip(img, e["hash_offset"] // 2 if where == "data" else e["hash_offset"] + 4096 + 5)
    p = verity_verify(img, e)
    assert p.returncode != 0, "veritysetup accepted a modified " + where + " area"


def test_wrong_root_hash_rejected(tmp_path):
    tar = sample_tar(str(tmp_path / "l.tar"))
    run_layer(["--tar", tar, "--out", str(tmp_path / "o")])
    e = dict(layers_json(tmp_path / "o")[0])
    e["root_hash"] = ("0" if e["root_hash"][0] != "0" else "1") + e["root_hash"][1:]
    assert verity_verify(str(tmp_path / "o" / e["path"]), e).returncode != 0


def extract(img, dest):
    subprocess.run(["fsck.erofs", "--extract=" + str(dest), img], check=True,
                   capture_output=True)


def test_contents_whiteouts_and_metadata(tmp_path):
    tar = sample_tar(str(tmp_path / "l.tar"), fmt=tarfile.GNU_FORMAT)
    run_layer(["--tar", tar, "--out", str(tmp_path / "o")])
    e = layers_json(tmp_path / "o")[0]
    img = str(tmp_path / "o" / e["path"])
    x = tmp_path / "x"
    extract(img, x)
    wh = os.lstat(x / "etc" / "passwd")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0, "OCI whiteout not converted"
    assert not os.path.exists(x / "etc" / ".wh.passwd")
    assert not os.path.exists(x / "opt" / ".wh..wh..opq")
    assert open(x / "opt" / "keep", "rb").read() == b"kept"
    h = os.lstat(x / "etc" / "hosts")
    assert (h.st_uid, h.st_gid, h.st_mtime) == (1000, 1001, 1600000000)
    assert os.readlink(x / "usr" / "bin" / "alias") == "tool"
    assert stat.S_ISFIFO(os.lstat(x / "run" / "fifo").st_mode)
    assert os.lstat(x).st_mtime == 1500000000
    assert os.lstat(x / "usr").st_mtime == 0, "implicit directory time not fixed"
    assert open(x / ("x" * 150) / ("long-name-" + "y" * 120), "rb").read() == b"long"


def test_mounted_xattrs_modes_links(tmp_path):
    """What fsck.erofs 1.5 does not extract (xattrs, set-id bits, hard links),
    seen through the kernel's erofs on a read-only loop mount."""
    tar = sample_tar(str(tmp_path / "l.tar"))
    run_layer(["--tar", tar, "--out", str(tmp_path / "o")])
    img = str(tmp_path / "o" / layers_json(tmp_path / "o")[0]["path"])
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "erofs", "-o", "loop,ro", img, str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.fail("cannot loop-mount erofs on this host (needs root and loop devices)")
    try:
        assert os.getxattr(mnt / "opt", "trusted.overlay.opaque") == b"y"
        assert os.getxattr(mnt / "data" / "xattr", "user.note") == b"hello"
        t = os.lstat(mnt / "usr" / "bin" / "tool")
        assert stat.S_IMODE(t.st_mode) == 0o4755
        assert os.lstat(mnt / "usr" / "bin" / "hardtool").st_ino == t.st_ino
        assert stat.S_IMODE(os.lstat(mnt / "opt").st_mode) == 0o750
        wh = os.lstat(mnt / "etc" / "passwd")
        assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def oci_layout(d, layers):
    """A minimal OCI image layout (as skopeo writes it) from (bytes, media_type)."""
    blobs = d / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        (blobs / h).write_bytes(data)
        return "sha256:" + h

    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    descs = [{"mediaType": mt, "digest": put(b), "size": len(b)} for b, mt in layers]
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put(config), "size": len(config)},
        "layers": descs}).encode()
    index = {"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(manifest), "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    (d / "index.json").write_text(json.dumps(index))
    (d / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return [x["digest"] for x in descs]


def test_oci_layout_two_layers(tmp_path):
    base = open(sample_tar(str(tmp_path / "base.tar")), "rb").read()
    top_buf = io.BytesIO()
    with tarfile.open(fileobj=top_buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        add(tf, "etc/.wh.hosts")
        add(tf, "app", "dir", mode=0o755)
        add(tf, "app/main", data=b"main", mode=0o755)
    top = gzip.compress(top_buf.getvalue(), mtime=0)
    lay = tmp_path / "layout"
    digests = oci_layout(lay, [(base, "application/vnd.oci.image.layer.v1.tar"),
                               (top, "application/vnd.oci.image.layer.v1.tar+gzip")])
    run_layer(["--image", str(lay), "--out", str(tmp_path / "o")])
    j = layers_json(tmp_path / "o")
    assert [e["digest"] for e in j] == digests, "layers.json not in manifest order"
    for e in j:
        assert verity_verify(str(tmp_path / "o" / e["path"]), e).returncode == 0
    x = tmp_path / "x"
    extract(str(tmp_path / "o" / j[1]["path"]), x)
    assert open(x / "app" / "main", "rb").read() == b"main"
    assert stat.S_ISCHR(os.lstat(x / "etc" / "hosts").st_mode)


def test_oci_blob_tampered(tmp_path):
    data = open(sample_tar(str(tmp_path / "l.tar")), "rb").read()
    lay = tmp_path / "layout"
    [d] = oci_layout(lay, [(data, "application/vnd.oci.image.layer.v1.tar")])
    blob = lay / "blobs" / "sha256" / d[7:]
    flip(str(blob), 600)
    p = run_layer(["--image", str(lay), "--out", str(tmp_path / "o")], check=False)
    assert p.returncode == 1 and "does not match" in p.stderr


def test_oci_unsupported_media_type(tmp_path):
    data = open(sample_tar(str(tmp_path / "l.tar")), "rb").read()
    lay = tmp_path / "layout"
    oci_layout(lay, [(data, "application/vnd.oci.image.layer.v1.tar+zstd")])
    p = run_layer(["--image", str(lay), "--out", str(tmp_path / "o")], check=False)
    assert p.returncode == 1 and "not supported" in p.stderr


def hostile(tmp_path, build):
    path = str(tmp_path / "h.tar")
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        build(tf)
    return path


@pytest.mark.parametrize("case,needle", [
    ("absolute", "absolute path"),
    ("dotdot", "'..'"),
    ("symlink_escape", "symlink"),
    ("hardlink_escape", "'..'"),
    ("trusted_xattr", "refused"),
    ("truncated", "truncated"),
    ("gzip_corrupt", "gzip"),
    ("block_device", "'dev/vdb': block device 254:16 refused"),
    ("char_device", "'dev/mem': character device 1:1 refused"),
    ("whiteout_device", "'etc/passwd': character device 0:0 refused"),
    ("hardlink_to_whiteout", "a whiteout, refused"),
])
def test_hostile_tars_rejected(tmp_path, case, needle):
    victim = tmp_path / "victim"
    victim.mkdir()
    if case == "absolute":
        # tarfile strips nothing on write; force a leading slash
        path = hostile(tmp_path, lambda tf: add(tf, "/etc/evil", data=b"x"))
    elif case == "dotdot":
        path = hostile(tmp_path, lambda tf: add(tf, "a/../../evil", data=b"x"))
    elif case == "symlink_escape":
        def b(tf):
            add(tf, "a", "sym", link=str(victim))
            add(tf, "a/evil", data=b"x")
        path = hostile(tmp_path, b)
    elif case == "hardlink_escape":
        path = hostile(tmp_path, lambda tf: add(tf, "h", "hard", link="../../etc/passwd"))
    elif case == "block_device":
        # the attack: a block device opening another container's scratch
        def b(tf):
            add(tf, "dev", "dir", mode=0o755)
            add(tf, "dev/vdb", "blk", mode=0o666, uid=1000, dev=(254, 16))
        path = hostile(tmp_path, b)
    elif case == "char_device":
        path = hostile(tmp_path, lambda tf: add(tf, "dev/mem", "chr", mode=0o666, dev=(1, 1)))
    elif case == "whiteout_device":
        # an overlayfs whiteout is not how OCI layers delete (.wh.NAME is)
        path = hostile(tmp_path, lambda tf: add(tf, "etc/passwd", "chr", mode=0))
    elif case == "hardlink_to_whiteout":
        def b(tf):
            add(tf, "etc/.wh.passwd")
            add(tf, "etc/shadow", "hard", link="etc/passwd")
        path = hostile(tmp_path, b)
    elif case == "trusted_xattr":
        path = hostile(tmp_path, lambda tf: add(
            tf, "f", data=b"x", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc"}))
    elif case == "truncated":
        full = open(sample_tar(str(tmp_path / "l.tar"), big=100000), "rb").read()
        path = str(tmp_path / "t.tar")
        open(path, "wb").write(full[:len(full) // 2])
    else:
        full = gzip.compress(open(sample_tar(str(tmp_path / "l.tar")), "rb").read())
        path = str(tmp_path / "c.tar.gz")
        b = bytearray(full)
        b[len(b) // 2] ^= 0xff
        open(path, "wb").write(bytes(b))
    out = tmp_path / "o"
    p = run_layer(["--tar", path, "--out", str(out)], check=False)
    assert p.returncode == 1, p.stdout
    assert needle in p.stderr, p.stderr
    if case.endswith("_device"):
        # the message names the layer and says what to do
        assert "layer sha256:" in p.stderr and "remove it from the image" in p.stderr, p.stderr
    assert os.listdir(victim) == [], "wrote outside the staging directory"
    assert not os.path.exists(out / "layers.json")
    assert [n for n in os.listdir(out)] == [], "left files behind: %s" % os.listdir(out)


def test_usage_errors():
    assert run_layer([], check=False).returncode == 2
    assert run_layer(["--tar", "x", "--image", "y", "--out", "z"], check=False).returncode == 2
    p = run_layer(["--help"])
    assert "exit status" in p.stdout
