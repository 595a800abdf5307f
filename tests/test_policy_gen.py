"""uvm policy gen: a policy from an OCI image layout.

Builds a small OCI layout itself (busybox from /bin/busybox in a base
layer, an app layer on top, a config with Entrypoint/Cmd/Env/WorkingDir/
User), generates policies and checks them with the engine's own tools
(`uvm policy check`, `hash`, `replay`) and against `uvm layer --image`.
Building the layers needs root and mkfs.erofs, like `uvm layer`."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Docker's default set without CAP_MKNOD, CAP_NET_RAW and CAP_AUDIT_WRITE
# (Podman's default; docs/policy.md says why), in Docker's order.
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID",
                "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT", "CAP_KILL"]
DROPPED_CAPS = {"CAP_MKNOD", "CAP_NET_RAW", "CAP_AUDIT_WRITE"}
CAP_SETS = ["bounding", "effective", "inheritable", "permitted", "ambient"]

CONFIG = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hello; sleep 1"],
          "Env": ["PATH=/usr/bin:/bin", "GREETING=hello world"],
          "WorkingDir": "/app", "User": "1000:1001"}


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
        pytest.fail("building layers needs root: run make test as root")
    if not shutil.which("mkfs.erofs"):
        pytest.fail("erofs-utils missing: run make deps")
    if not os.path.exists("/bin/busybox"):
        pytest.fail("busybox-static missing: run make deps")


def uvm(*args, check=None):
    p = subprocess.run([uvm_bin()] + list(args), capture_output=True)
    if check is not None:
        assert p.returncode == check, p.stderr.decode()
    return p


def tar_bytes(entries, gz=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, kind, data, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mode, ti.mtime = mode, 1600000000
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if gz else raw


def image(d, config=None, app=b"v1\n", ref=None):
    """An OCI layout at d: busybox base layer (gzip) + app layer (plain);
    ref: its manifest's org.opencontainers.image.ref.name annotation."""
    base = tar_bytes([("bin", "dir", b"", 0o755),
                      ("bin/busybox", "file", open("/bin/busybox", "rb").read(), 0o755),
                      ("bin/sh", "sym", "busybox", 0o777)], gz=True)
    top = tar_bytes([("app", "dir", b"", 0o755), ("app/version", "file", app, 0o644)])
    blobs = d / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        (blobs / h).write_bytes(data)
        return {"digest": "sha256:" + h, "size": len(data)}

    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": CONFIG if config is None else config,
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **put(cfg)),
        "layers": [dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip", **put(base)),
                   dict(mediaType="application/vnd.oci.image.layer.v1.tar", **put(top))],
    }).encode()
    index = {"schemaVersion": 2, "manifests": [dict(
        mediaType="application/vnd.oci.image.manifest.v1+json", **put(manifest))]}
    if ref is not None:
        index["manifests"][0]["annotations"] = {"org.opencontainers.image.ref.name": ref}
    (d / "index.json").write_text(json.dumps(index))
    (d / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return str(d)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return image(tmp_path_factory.mktemp("img") / "layout")


@pytest.fixture(scope="module")
def policy(layout):
    """(bytes, parsed) of the default policy of the sample image."""
    out = uvm("policy", "gen", "--image", layout, check=0).stdout
    return out, json.loads(out)


def write(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def test_same_inputs_same_bytes_and_hash(layout, policy, tmp_path):
    again = uvm("policy", "gen", "--image", layout, check=0).stdout
    assert again == policy[0]
    assert policy[0].endswith(b"}\n")
    uvm("policy", "gen", "--image", layout, "-o", str(tmp_path / "p.json"), check=0)
    assert (tmp_path / "p.json").read_bytes() == policy[0]
    h1 = uvm("policy", "hash", str(tmp_path / "p.json"), check=0).stdout
    assert h1.decode().strip() == hashlib.sha256(policy[0]).hexdigest()
    p = uvm("policy", "check", str(tmp_path / "p.json"), check=0)
    assert b"1 containers" in p.stdout


def test_key_order_is_fixed(policy):
    p = policy[1]
    assert list(p) == ["version", "framework", "containers", "external_processes"]
    assert list(p["containers"][0]) == [
        "name", "layers", "argv", "env", "working_dir", "mounts", "user", "capabilities",
        "no_new_privileges", "allow_elevated", "allow_stdio_access", "signals",
        "exec_processes"]


def test_layer_hashes_equal_uvm_layer(layout, policy, tmp_path):
    uvm("layer", "--image", layout, "--out", str(tmp_path / "l"), check=0)
    index = json.loads((tmp_path / "l" / "layers.json").read_text())
    assert len(index) == 2
    assert policy[1]["containers"][0]["layers"] == [e["root_hash"] for e in index]
    # --layers takes the same hashes from layers.json: the same bytes
    out = uvm("policy", "gen", "--image", layout, "--layers",
              str(tmp_path / "l" / "layers.json"), check=0).stdout
    assert out == policy[0]


def test_layers_json_of_another_image_rejected(layout, tmp_path):
    other = image(tmp_path / "other", app=b"v2\n")
    uvm("layer", "--image", other, "--out", str(tmp_path / "l"), check=0)
    p = uvm("policy", "gen", "--image", layout, "--layers", str(tmp_path / "l" / "layers.json"))
    assert p.returncode == 1
    assert b"digest differs from the image's layer 1" in p.stderr


@pytest.mark.parametrize("edit, needle", [
    (lambda e: e.pop("chain_id"), b"no chain_id: written by an older uvm layer"),
    (lambda e: e.update(chain_id=e["digest"]), b"chain_id differs from the image's layers 0..1"),
])
def test_layers_json_chain_ids_checked(layout, tmp_path, edit, needle):
    """A top layer's image depends on the layers below it: layers.json must
    carry the chain ids of this image's layers."""
    uvm("layer", "--image", layout, "--out", str(tmp_path / "l"), check=0)
    index = json.loads((tmp_path / "l" / "layers.json").read_text())
    edit(index[1])
    p = uvm("policy", "gen", "--image", layout, "--layers", write(tmp_path / "j.json", index))
    assert p.returncode == 1
    assert needle in p.stderr, p.stderr


def test_fields_from_the_config(policy):
    p = policy[1]
    c = p["containers"][0]
    assert c["argv"] == CONFIG["Entrypoint"] + CONFIG["Cmd"]
    assert c["env"] == [{"rule": e, "strategy": "string", "required": False}
                        for e in CONFIG["Env"]]
    assert c["working_dir"] == "/app"
    assert c["user"] == {"uid": 1000, "gid": 1001, "umask": "0022"}
    # non-root: the default set bounds what file capabilities may grant; it
    # holds none itself (as under Docker)
    assert c["capabilities"] == dict({k: [] for k in CAP_SETS}, bounding=DEFAULT_CAPS)
    assert c["no_new_privileges"] is True and c["allow_elevated"] is False
    assert c["allow_stdio_access"] is True
    assert c["signals"] == [15, 9] and c["exec_processes"] == [] and c["mounts"] == []
    assert set(p["framework"].values()) == {False} and len(p["framework"]) == 6
    assert p["external_processes"] == []


@pytest.mark.parametrize("user, want, root", [
    ("", {"uid": 0, "gid": 0}, True),
    ("0", {"uid": 0, "gid": 0}, True),
    ("root:wheel", {"name": "root", "group": "wheel"}, True),
    ("1234", {"uid": 1234, "gid": 0}, False),
    ("app:staff", {"name": "app", "group": "staff"}, False),
    ("42:staff", {"uid": 42, "group": "staff"}, False),
])
def test_user_forms(tmp_path, user, want, root):
    cfg = dict(CONFIG, User=user)
    out = uvm("policy", "gen", "--image", image(tmp_path / "i", cfg), check=0).stdout
    c = json.loads(out)["containers"][0]
    assert c["user"] == dict(want, umask="0022")
    caps = c["capabilities"]
    assert list(caps) == CAP_SETS
    assert caps["bounding"] == DEFAULT_CAPS, "every user keeps the bounding set"
    want_caps = DEFAULT_CAPS if root else []
    assert caps["effective"] == caps["permitted"] == want_caps
    assert caps["inheritable"] == caps["ambient"] == []
    assert not DROPPED_CAPS & {cap for v in caps.values() for cap in v}


@pytest.mark.parametrize("cfg, needle", [
    (dict(CONFIG, User="app"), b"a name without a group"),
    (dict(CONFIG, User="1:2:3"), b"is not user[:group]"),
    (dict(CONFIG, Entrypoint=None, Cmd=None), b"no Entrypoint or Cmd"),
    (dict(CONFIG, Env=["NOEQUALS"]), b"not NAME=VALUE"),
    (dict(CONFIG, WorkingDir="relative"), b"working_dir"),
    (dict(CONFIG, Cmd="not-an-array"), b"expected an array of strings"),
])
def test_bad_image_config_rejected(tmp_path, cfg, needle):
    p = uvm("policy", "gen", "--image", image(tmp_path / "i", cfg))
    assert p.returncode == 1
    assert needle in p.stderr, p.stderr


def test_overrides_applied(layout, policy, tmp_path):
    over = {"name": "web", "argv": ["/bin/sh", "-c", "echo bye"],
            "env": [{"rule": "PORT=[0-9]+", "strategy": "regex", "required": True}],
            "exec_processes": [{"argv": ["/bin/sh"], "signals": [9]}],
            "signals": [15], "framework": {"allow_dump_stacks": True},
            "user": {"name": "app", "group": "app", "umask": "0077"}}
    out = uvm("policy", "gen", "--image", layout, "--config",
              write(tmp_path / "o.json", over), check=0).stdout
    p = json.loads(out)
    c = p["containers"][0]
    assert c["name"] == "web" and c["argv"] == over["argv"]
    assert c["env"] == policy[1]["containers"][0]["env"] + over["env"]
    assert c["exec_processes"] == over["exec_processes"] and c["signals"] == [15]
    assert c["user"] == over["user"]
    assert p["framework"]["allow_dump_stacks"] is True
    assert [k for k, v in p["framework"].items() if v] == ["allow_dump_stacks"]
    assert c["layers"] == policy[1]["containers"][0]["layers"]


@pytest.mark.parametrize("over, needle", [
    ({"nmae": "web"}, b"nmae"),
    ({"framework": {"allow_everything": True}}, b"allow_everything"),
    ({"signals": "15"}, b"signals"),
    ({"signals": [99]}, b"generated policy is invalid"),
    ({"env": [{"rule": "A=(", "strategy": "regex"}]}, b"generated policy is invalid"),
])
def test_bad_overrides_rejected(layout, tmp_path, over, needle):
    p = uvm("policy", "gen", "--image", layout, "--config", write(tmp_path / "o.json", over))
    assert p.returncode == 1
    assert needle in p.stderr, p.stderr


def requests(pol, argv):
    c = pol["containers"][0]
    reqs = [{"op": "mount_device", "target": "/run/layers/l%d" % i, "device_hash": h}
            for i, h in enumerate(c["layers"])]
    reqs.append({"op": "mount_overlay", "container_id": "c1",
                 "target": "/run/containers/c1/rootfs",
                 "layers": ["/run/layers/l%d" % i for i in range(len(c["layers"]))]})
    reqs.append({"op": "create_container", "container_id": "c1", "argv": argv,
                 "env": CONFIG["Env"], "working_dir": CONFIG["WorkingDir"], "mounts": [],
                 "user": {"uid": 1000, "gid": 1001, "umask": "0022"},
                 "capabilities": dict({k: [] for k in CAP_SETS}, bounding=DEFAULT_CAPS),
                 "no_new_privileges": True})
    return reqs


def replay(tmp_path, policy, reqs):
    (tmp_path / "p.json").write_bytes(policy[0])
    p = uvm("policy", "replay", "--policy", str(tmp_path / "p.json"),
            "--requests", write(tmp_path / "r.json", reqs))
    return p.returncode, [json.loads(line) for line in p.stdout.splitlines()]


def test_replay_allows_the_image_and_denies_a_changed_argv(policy, tmp_path):
    argv = CONFIG["Entrypoint"] + CONFIG["Cmd"]
    rc, out = replay(tmp_path, policy, requests(policy[1], argv))
    assert rc == 0 and [d["allowed"] for d in out] == [True] * 4
    rc, out = replay(tmp_path, policy, requests(policy[1], argv[:-1] + ["id"]))
    assert rc == 1 and [d["allowed"] for d in out] == [True, True, True, False]
    failed = out[-1]["candidates"][0]["failed"]
    assert [f["rule"] for f in failed] == ["argv"], failed


def test_replay_denies_mknod(policy, tmp_path):
    """A create asking for Docker's full set (with CAP_MKNOD) is denied."""
    reqs = requests(policy[1], CONFIG["Entrypoint"] + CONFIG["Cmd"])
    reqs[-1]["capabilities"]["bounding"] = DEFAULT_CAPS + ["CAP_MKNOD"]
    rc, out = replay(tmp_path, policy, reqs)
    assert rc == 1 and not out[-1]["allowed"]
    failed = out[-1]["candidates"][0]["failed"]
    assert [(f["rule"], f["value"]) for f in failed] == [("capabilities", "CAP_MKNOD")], failed


def test_usage_errors(layout):
    assert uvm("policy", "gen").returncode == 2
    assert uvm("policy", "gen", "--image", layout, "--bogus", "x").returncode == 2
    assert uvm("policy", "gen", "--name", "a", "--image", layout).returncode == 2
    assert uvm("policy", "gen", "--image", layout, "--name", "a", "--name", "b").returncode == 2
    assert uvm("policy", "gen", "--image", layout, "--image", layout, "--layers", "x.json").returncode == 2
    p = uvm("policy", "gen", "--image", "/nonexistent")
    assert p.returncode == 1 and b"/nonexistent" in p.stderr


# ---------------------------------------------------------------- several images


def test_several_images_one_container_each(layout, policy, tmp_path):
    """--image A --name first --image B: one policy, container 0 is exactly
    A's single-image container renamed, container 1 exactly B's (named by
    its ref annotation); framework and external_processes as for one image;
    the engine's loader accepts it."""
    other = image(tmp_path / "b", config=dict(CONFIG, Cmd=["echo two"]), app=b"v2\n", ref="web")
    one_b = json.loads(uvm("policy", "gen", "--image", other, check=0).stdout)
    p = uvm("policy", "gen", "--image", layout, "--name", "first", "--image", other, check=0)
    both = json.loads(p.stdout)
    assert [c["name"] for c in both["containers"]] == ["first", "web"]
    assert both["containers"][0] == dict(policy[1]["containers"][0], name="first")
    assert both["containers"][1] == dict(one_b["containers"][0], name="web")
    assert both["containers"][0]["layers"] != both["containers"][1]["layers"]
    assert both["containers"][0]["layers"][0] == both["containers"][1]["layers"][0]  # the same base
    assert {k: v for k, v in both.items() if k != "containers"} == \
        {k: v for k, v in policy[1].items() if k != "containers"}
    f = tmp_path / "both.json"
    f.write_bytes(p.stdout)
    assert b"2 containers" in uvm("policy", "check", str(f), check=0).stdout


def test_several_images_names(layout, tmp_path):
    """Without --name or a usable ref annotation the containers are
    container0, container1; two images that would share a name, or a
    --config naming the container, are refused with what to do."""
    odd = image(tmp_path / "odd", ref="docker.io/library/x:1")  # not an id: not used as a name
    p = uvm("policy", "gen", "--image", layout, "--image", odd, check=0)
    assert [c["name"] for c in json.loads(p.stdout)["containers"]] == ["container0", "container1"]
    p = uvm("policy", "gen", "--image", layout, "--name", "same", "--image", odd, "--name", "same", check=1)
    assert b"would both be container 'same'" in p.stderr and b"--name" in p.stderr
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"name": "x"}))
    p = uvm("policy", "gen", "--image", layout, "--image", odd, "--config", str(cfg), check=1)
    assert b"may not name a container" in p.stderr
    p = uvm("policy", "gen", "--image", layout, "--image", "/nonexistent", check=1)
    assert b"/nonexistent" in p.stderr
