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
    assert list(e) == ["digest", "chain_id", "path", "root_hash", "salt", "data_blocks",
                       "hash_offset", "size"]
    assert e["digest"] == "sha256:" + hashlib.sha256(open(tar, "rb").read()).hexdigest()
    # one --tar has no layer below it: its chain is its digest
    assert e["chain_id"] == e["digest"] and e["path"] == e["digest"][7:] + ".img"
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


# --- implicit parent directories and chain ids --------------------------------

def tar_of(entries):
    """Tar bytes (pax) from (name, kind, keyword arguments of add) triples."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, kw in entries:
            add(tf, name, kind, **kw)
    return buf.getvalue()


def chain_ids(digests):
    """containerd's ChainID formula over the layer digests (docs/layers.md)."""
    out = []
    for d in digests:
        out.append(d if not out else
                   "sha256:" + hashlib.sha256((out[-1] + " " + d).encode()).hexdigest())
    return out


def convert(tmp_path, layers, name="o"):
    """An OCI layout of plain tar layers, converted; returns (layers.json, out dir)."""
    lay = tmp_path / ("layout-" + name)
    oci_layout(lay, [(tar_of(l), "application/vnd.oci.image.layer.v1.tar") for l in layers])
    out = tmp_path / name
    run_layer(["--image", str(lay), "--out", str(out)])
    return layers_json(out), out


T1 = 1500000000
UMOCI_BASE = [
    ("./", "dir", dict(mode=0o755, mtime=T1)),
    ("root", "dir", dict(mode=0o700, mtime=T1 + 1)),
    ("root/.profile", "file", dict(data=b"profile", mode=0o600)),
    ("srv", "dir", dict(mode=0o750, uid=1000, gid=1000, mtime=T1 + 2,
                        pax={"SCHILY.xattr.user.tag": "srv"})),
]
# What umoci writes for a layer that only appends: no parent entries.
UMOCI_TOP = [
    ("root/.bashrc", "file", dict(data=b"alias ll='ls -l'\n", mode=0o644)),
    ("srv/x/file", "file", dict(data=b"x", uid=1000, gid=1000)),
]


def test_implicit_parents_take_lower_metadata(tmp_path):
    j, out = convert(tmp_path, [UMOCI_BASE, UMOCI_TOP])
    assert [e["chain_id"] for e in j] == chain_ids([e["digest"] for e in j])
    assert j[1]["path"] == j[1]["chain_id"][7:] + ".img"
    x = tmp_path / "x"
    extract(str(out / j[1]["path"]), x)

    def meta(p):
        st = os.lstat(p)
        return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)
    assert meta(x / "root") == (0o700, 0, 0, T1 + 1), "/root lost layer 1's metadata"
    assert meta(x / "srv") == (0o750, 1000, 1000, T1 + 2), "/srv lost layer 1's metadata"
    assert meta(x) == (0o755, 0, 0, T1), "the root lost layer 1's metadata"
    # in no lower layer: the documented default
    assert meta(x / "srv" / "x") == (0o755, 0, 0, 0)
    assert open(x / "root" / ".bashrc", "rb").read() == b"alias ll='ls -l'\n"
    # the base layer is converted as before: nothing below it
    x0 = tmp_path / "x0"
    extract(str(out / j[0]["path"]), x0)
    assert meta(x0 / "root") == (0o700, 0, 0, T1 + 1)
    # xattrs come along (fsck.erofs 1.5 does not extract them: mount)
    with mounted(out / j[1]["path"], tmp_path / "m") as m:
        assert os.getxattr(m / "srv", "user.tag") == b"srv"
        assert not os.listxattr(m / "root")


def test_repeated_tar_is_one_image(tmp_path):
    """--tar repeated, base first, converts like --image; one --tar alone has no
    layer below it. The same top layer on another base is another image, with
    another name: nothing is overwritten."""
    j, _ = convert(tmp_path, [UMOCI_BASE, UMOCI_TOP])
    (tmp_path / "1.tar").write_bytes(tar_of(UMOCI_BASE))
    (tmp_path / "2.tar").write_bytes(tar_of(UMOCI_TOP))
    out = tmp_path / "t"
    run_layer(["--tar", str(tmp_path / "1.tar"), "--tar", str(tmp_path / "2.tar"),
               "--out", str(out)])
    assert layers_json(out) == j
    run_layer(["--tar", str(tmp_path / "2.tar"), "--out", str(out)])
    alone = layers_json(out)[0]
    assert alone["digest"] == j[1]["digest"] and alone["chain_id"] == alone["digest"]
    assert alone["root_hash"] != j[1]["root_hash"], "the base changes the image"
    for e in j[1:] + [alone]:  # both images of the top layer are there, intact
        assert verity_verify(str(out / e["path"]), e).returncode == 0


class mounted:
    """A read-only loop mount of an erofs image, or an overlay of several."""

    def __init__(self, img, mnt, lower=None):
        self.mnt = mnt
        mnt.mkdir()
        if lower:
            args = ["-t", "overlay", "overlay", "-o",
                    "ro,lowerdir=" + ":".join(str(m) for m in reversed(lower))]
        else:
            args = ["-t", "erofs", "-o", "loop,ro", str(img)]
        p = subprocess.run(["mount"] + args + [str(mnt)], capture_output=True, text=True)
        if p.returncode != 0:
            pytest.fail("cannot mount %s (needs root, loop devices, erofs and overlay): %s"
                        % (lower and "an overlay" or img, p.stderr))

    def __enter__(self):
        return self.mnt

    def __exit__(self, *exc):
        subprocess.run(["umount", str(self.mnt)], check=True)


def read_tree(top):
    """path -> node of a mounted tree, without following symlinks."""
    nodes = {}

    def visit(path, rel):
        st = os.lstat(path)
        node = dict(mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid,
                    mtime=int(st.st_mtime), xattrs={})
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            node = dict(kind="whiteout")
        elif stat.S_ISDIR(st.st_mode):
            node["kind"] = "dir"
            names = os.listxattr(path, follow_symlinks=False)
            node["opaque"] = "trusted.overlay.opaque" in names
            node["xattrs"] = {n: os.getxattr(path, n) for n in names if n.startswith("user.")}
        elif stat.S_ISLNK(st.st_mode):
            node = dict(kind="sym", link=os.readlink(path), uid=st.st_uid, gid=st.st_gid)
        elif stat.S_ISREG(st.st_mode):
            node["kind"], node["data"] = "file", open(path, "rb").read()
        else:
            node["kind"] = "other"
        nodes[rel] = node
        if node["kind"] == "dir":
            for name in sorted(os.listdir(path)):
                visit(os.path.join(path, name), rel + "/" + name if rel else name)
    visit(str(top), "")
    return nodes


def drop(state, path, keep_self=False):
    for p in list(state):
        if (p == path and not keep_self) or (p != "" and (not path or p.startswith(path + "/"))):
            del state[p]


def overlay_merge(trees):
    """The layers' trees merged bottom-up with overlayfs's rules: a 0:0 device
    hides the path, an opaque directory all below it, a non-directory the
    lower subtree; an upper directory's metadata wins."""
    state = {}
    for tree in trees:
        for path in sorted(tree, key=lambda p: p.split("/")):
            node = dict(tree[path])
            if node["kind"] == "whiteout":
                drop(state, path)
                continue
            if node["kind"] != "dir" or state.get(path, {}).get("kind") != "dir":
                drop(state, path)
            elif node.pop("opaque"):
                drop(state, path, keep_self=True)
            node.pop("opaque", None)
            state[path] = node
    return state


def norm(name):
    return "/".join(c for c in name.split("/") if c not in ("", "."))


def containerd_model(layers):
    """Applying the tars in order, as containerd unpacks (OCI layer.md): a
    layer's whiteouts hide only what lies below it; a parent directory the tar
    does not list keeps what the lower layers have, or else is made 0755
    root:root (time 0 here: containerd uses the current time)."""
    state = {"": dict(kind="dir", mode=0o755, uid=0, gid=0, mtime=0, xattrs={})}
    default = dict(kind="dir", mode=0o755, uid=0, gid=0, mtime=0, xattrs={})
    for entries in layers:
        for name, _, _ in entries:
            d, _, base = norm(name).rpartition("/")
            if base == ".wh..wh..opq":
                drop(state, d, keep_self=True)
            elif base.startswith(".wh."):
                drop(state, d + "/" + base[4:] if d else base[4:])
        for name, kind, kw in entries:
            path = norm(name)
            parts = path.split("/")
            for i in range(1, len(parts)):
                state.setdefault("/".join(parts[:i]), dict(default))
            if parts[-1].startswith(".wh."):
                continue
            node = dict(mode=kw.get("mode", 0o644), uid=kw.get("uid", 0), gid=kw.get("gid", 0),
                        mtime=kw.get("mtime", 1600000000),
                        xattrs={k[len("SCHILY.xattr."):]: v.encode()
                                for k, v in kw.get("pax", {}).items()})
            if kind == "dir":
                node["kind"] = "dir"
                if state.get(path, {}).get("kind") != "dir":
                    drop(state, path)
            elif kind == "sym":
                drop(state, path)
                node = dict(kind="sym", link=kw["link"], uid=node["uid"], gid=node["gid"])
            elif kind == "hard":
                drop(state, path)
                node = dict(state[norm(kw["link"])])
            else:
                drop(state, path)
                node.update(kind="file", data=kw.get("data", b""))
            state[path] = node
    return state


def F(data, **kw):
    return dict(kw, data=data)


MERGE_LAYERS = [
    [("./", "dir", dict(mode=0o755, mtime=T1)),
     ("root", "dir", dict(mode=0o700, mtime=T1)),
     ("root/.profile", "file", F(b"p", mode=0o600)),
     ("srv", "dir", dict(mode=0o750, uid=1000, gid=1000, mtime=T1 + 1,
                         pax={"SCHILY.xattr.user.tag": "srv"})),
     ("srv/data", "dir", dict(mode=0o770, uid=1000, gid=1000, mtime=T1 + 2)),
     ("srv/data/old", "file", F(b"old", uid=1000)),
     ("etc", "dir", dict(mode=0o755, mtime=T1)),
     ("etc/passwd", "file", F(b"root:x:0:0::/root:/bin/sh\n")),
     ("etc/app", "dir", dict(mode=0o751, uid=3, gid=3, mtime=T1 + 3)),
     ("etc/app/conf", "file", F(b"conf")),
     ("opt", "dir", dict(mode=0o755, uid=5, gid=5, mtime=T1 + 4)),
     ("opt/tool", "dir", dict(mode=0o711, uid=2, gid=2, mtime=T1 + 5)),
     ("opt/tool/bin", "file", F(b"#!/bin/sh\n", mode=0o755)),
     ("var/lib/gone", "dir", dict(mode=0o700, mtime=T1 + 6)),   # var, var/lib implicit
     ("var/lib/gone/f", "file", F(b"f")),
     ("home", "dir", dict(mode=0o755, mtime=T1)),
     ("home/u", "dir", dict(mode=0o700, uid=1000, gid=1000, mtime=T1 + 7)),
     ("bin", "dir", dict(mode=0o755, mtime=T1)),
     ("bin/sh", "file", F(b"sh", mode=0o755)),
     ("bin/ash", "hard", dict(link="bin/sh")),
     ("bin/ls", "sym", dict(link="sh"))],
    # umoci-like: no parent entries
    [("root/.bashrc", "file", F(b"bashrc")),
     ("srv/x/file", "file", F(b"x", uid=1000, gid=1000)),
     ("srv/data/.wh.old", "file", {}),
     ("etc/.wh.app", "file", {}),
     ("opt/.wh..wh..opq", "file", {}),
     ("opt/tool/again", "file", F(b"again")),     # lower opt/tool is hidden: default
     ("var/lib/gone", "file", F(b"now a file"))],
    [("etc/app/new", "file", F(b"new")),             # etc/app was whited out: default
     ("opt/tool/y", "file", F(b"y")),                # opt/tool of layer 2
     ("srv/x/more", "file", F(b"more")),
     ("home/u/.cache/f", "file", F(b"c", uid=1000)),
     ("home", "dir", dict(mode=0o711, mtime=T1 + 8)),
     ("bin/.wh.ls", "file", {}),
     ("bin/ls", "file", F(b"ls", mode=0o755))],
    # a whiteout and a directory of the same name in one layer: the lower one
    # is deleted, this layer's stays (OCI: a whiteout hides only lower layers)
    [(".wh.srv", "file", {}),                       # then listed
     ("srv", "dir", dict(mode=0o705, uid=1000, gid=1000, mtime=T1 + 9)),
     ("srv/new", "file", F(b"new")),
     ("etc/.wh.app", "file", {}),                   # then implicit: default
     ("etc/app/again", "file", F(b"again")),
     ("home/u/.cache/g", "file", F(b"g")),          # implicit, then whited out
     ("home/u/.wh..cache", "file", {}),
     ("bin", "dir", dict(mode=0o700, mtime=T1 + 10)),       # listed, then whited out
     ("bin/z", "file", F(b"z")),
     (".wh.bin", "file", {})],
]


def test_merged_root_matches_containerd(tmp_path):
    """The layer images merged as the guest's overlay merges them, both in
    Python with overlayfs's rules and by the kernel's overlayfs, equal the tars
    applied in order as containerd unpacks them: types, modes, owners, times,
    contents, xattrs, and what whiteouts and opaque directories hide."""
    j, out = convert(tmp_path, MERGE_LAYERS)
    want = containerd_model(MERGE_LAYERS)
    mnts = []
    try:
        for i, e in enumerate(j):
            mnts.append(mounted(out / e["path"], tmp_path / ("m%d" % i)))
            mnts[-1].__enter__()
        merged = overlay_merge([read_tree(m.mnt) for m in mnts])
        assert sorted(merged) == sorted(want)
        for p in want:
            assert merged[p] == want[p], p
        with mounted(None, tmp_path / "ovl", lower=[m.mnt for m in mnts]) as ovl:
            kernel = read_tree(ovl)
        for node in kernel.values():
            node.pop("opaque", None)
        assert sorted(kernel) == sorted(want)
        for p in want:
            assert kernel[p] == want[p], p
    finally:
        for m in reversed(mnts):
            m.__exit__()
    # the cases the layers were written for
    assert want["root"]["mode"] == 0o700 and want["home/u"]["uid"] == 1000
    assert want["opt/tool"]["mode"] == 0o755 and "opt/tool/bin" not in want
    assert want["etc/app"]["mode"] == 0o755 and "etc/app/conf" not in want
    assert want["opt"]["uid"] == 5 and want["var/lib/gone"]["kind"] == "file"


def test_whiteout_and_directory_in_one_layer():
    """The last layer of MERGE_LAYERS both whites out and has srv, etc/app,
    home/u/.cache and bin: what containerd would give, with none of the
    lower contents; test_merged_root_matches_containerd checks that our
    images give the same."""
    want = containerd_model(MERGE_LAYERS)
    assert sorted(p for p in want if p.startswith("srv")) == ["srv", "srv/new"]
    assert want["srv"]["mode"] == 0o705 and want["srv"]["xattrs"] == {}
    assert sorted(p for p in want if p.startswith("etc/app")) == ["etc/app", "etc/app/again"]
    assert want["home/u/.cache"]["mode"] == 0o755 and "home/u/.cache/f" not in want
    assert sorted(p for p in want if p.startswith("bin")) == ["bin", "bin/z"]
    assert want["bin"]["mode"] == 0o700


def test_whiteout_data_is_not_entries(tmp_path):
    """A whiteout written as a non-empty file: its data is skipped as Go's
    archive/tar (containerd, scanners) skips it, never read as entries."""
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        add(tf, "smuggled", data=b"only uvm would see this")
    hidden = inner.getvalue()[:1024]  # header + data block, no end marker
    path = hostile(tmp_path, lambda tf: (add(tf, "etc/.wh.passwd", data=hidden),
                                         add(tf, "etc/hosts", data=b"h")))
    with tarfile.open(path) as tf:  # what other readers see
        assert tf.getnames() == ["etc/.wh.passwd", "etc/hosts"]
    run_layer(["--tar", path, "--out", str(tmp_path / "o")])
    x = tmp_path / "x"
    extract(str(tmp_path / "o" / layers_json(tmp_path / "o")[0]["path"]), x)
    assert sorted(os.listdir(x)) == ["etc"]
    assert sorted(os.listdir(x / "etc")) == ["hosts", "passwd"]
    assert stat.S_ISCHR(os.lstat(x / "etc" / "passwd").st_mode)


@pytest.mark.parametrize("kind", ["sym", "dir", "fifo"])
def test_sized_header_only_entry_rejected(tmp_path, kind):
    """Readers disagree on whether data follows a symlink, directory... header
    with a size: refused rather than read one way."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        add(tf, "e", kind, link="target")
    raw = bytearray(buf.getvalue())
    raw[124:136] = b"%011o\0" % 512          # size field
    raw[148:156] = b" " * 8
    raw[148:155] = b"%06o\0" % sum(raw[:512])  # checksum
    path = tmp_path / "s.tar"
    path.write_bytes(bytes(raw[:512]) + bytes(512) + bytes(raw[512:]))
    p = run_layer(["--tar", str(path), "--out", str(tmp_path / "o")], check=False)
    assert p.returncode == 1 and "bytes of data refused" in p.stderr, p.stderr


def test_usage_errors():
    assert run_layer([], check=False).returncode == 2
    assert run_layer(["--tar", "x", "--image", "y", "--out", "z"], check=False).returncode == 2
    p = run_layer(["--help"])
    assert "exit status" in p.stdout
