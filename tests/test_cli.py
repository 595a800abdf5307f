"""The command line of every `uvm` subcommand (tools/uvm/cli.h), without QEMU:
--help/-h print the usage with its exit statuses and exit 0; an unknown option,
a missing option or value, or a stray argument exits 2 with ONE line on stderr
naming the problem and "try 'uvm X --help'"; `--opt=value` is `--opt value`.

Uses out/asan/bin/uvm (or $UVM_BIN, or out/bin/uvm): make out/asan/bin/uvm.
"""
import hashlib
import json
import os
import socket
import struct
import subprocess
import threading

import pytest

# Every subcommand and sub-subcommand, as typed after `uvm`.
COMMANDS = [
    ["measure"], ["verify"], ["layer"], ["policy"], ["policy", "hash"],
    ["policy", "host-data"], ["policy", "check"], ["policy", "replay"], ["policy", "gen"],
    ["launch"], ["ctl"], ["initrd"], ["version"], ["idblock"], ["run"], ["igvm"],
]
IDS = [" ".join(c) for c in COMMANDS]

SNP = "tests/data/snp/"
# the real measurement of SNP + gsg_milan_v2_report.bin (tests/data/snp/README.md)
GSG_MEASUREMENT = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01"
MEAS = "tests/data/measurement/"
POLICY = "tests/data/policy/sample.json"
REQUESTS = "tests/data/policy/requests.json"


def uvm_bin():
    for p in (os.environ.get("UVM_BIN", ""), "out/asan/bin/uvm", "out/bin/uvm"):
        if p and os.access(p, os.X_OK):
            return p
    pytest.fail("uvm not built (make out/asan/bin/uvm)")


def uvm(*args, **kw):
    return subprocess.run([uvm_bin(), *args], capture_output=True, text=True, timeout=60, **kw)


def assert_usage_error(p, cmd, *needles):
    """Exit 2, nothing on stdout, one line on stderr: 'uvm CMD: ... (try 'uvm CMD --help')'."""
    name = "uvm " + " ".join(cmd)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.endswith("\n"), p.stderr
    assert p.stderr.startswith(name + ": "), p.stderr
    assert p.stderr.rstrip("\n").endswith(f"(try '{name} --help')"), p.stderr
    for n in needles:
        assert n in p.stderr, (n, p.stderr)


# ---------------------------------------------------------------- --help

@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_exits_0_and_documents_exit_status(cmd, flag):
    p = uvm(*cmd, flag)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout.startswith("usage: uvm " + " ".join(cmd)), p.stdout[:200]
    assert "exit status" in p.stdout.lower(), p.stdout


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_help_wins_over_other_arguments(cmd):
    # --help anywhere among valid arguments prints the help (it used to be
    # "unexpected argument '--help'" for `uvm policy replay`).
    first = {"ctl": ["--socket", "s"], "layer": ["--out", "d"], "initrd": ["--mtime", "0"],
             "verify": ["--json"], "measure": ["--mode", "snp"], "launch": ["--snp"], "run": ["--image", "x"],
             "policy replay": ["--state"], "policy gen": ["--image", "x"]}.get(" ".join(cmd), [])
    p = uvm(*cmd, *first, "--help")
    assert p.returncode == 0 and "exit status" in p.stdout.lower(), (p.stdout, p.stderr)


def test_policy_replay_help_is_no_longer_an_error():
    p = uvm("policy", "replay", "--help")
    assert p.returncode == 0 and p.stdout.startswith("usage: uvm policy replay"), p.stderr


def test_top_level_help_lists_every_command():
    for flag in ("--help", "-h", "help"):
        p = uvm(flag)
        assert p.returncode == 0
        for c in ("measure", "verify", "layer", "policy", "launch", "ctl", "initrd", "version", "idblock", "run",
                  "igvm"):
            assert f"\n  {c} " in p.stdout, (c, p.stdout)
    p = uvm()
    assert p.returncode == 2 and "usage: uvm COMMAND" in p.stderr
    p = uvm("no-such-command")
    assert p.returncode == 2 and "unknown command 'no-such-command'" in p.stderr


# ---------------------------------------------------------------- unknown options

@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
@pytest.mark.parametrize("bad,shown", [("--no-such-option", "'--no-such-option'"),
                                       ("--no-such-option=1", "'--no-such-option'"),
                                       ("-Z", "'-Z'")])
def test_unknown_option_exits_2_with_hint(cmd, bad, shown):
    assert_usage_error(uvm(*cmd, bad), cmd, "unknown option " + shown)


@pytest.mark.parametrize("cmd,flag", [(["verify"], "--json"), (["measure"], "--explain"),
                                      (["launch"], "--snp"), (["policy", "replay"], "--state"),
                                      (["version"], "--help")], ids=lambda v: str(v))
def test_value_given_to_a_flag_is_refused(cmd, flag):
    assert_usage_error(uvm(*cmd, flag + "=1"), cmd, f"option '{flag}' takes no value")


def test_ambiguous_prefix_is_refused_and_unique_prefix_accepted():
    assert_usage_error(uvm("verify", "--measure", "x"), ["verify"], "ambiguous option '--measure'",
                       "--measurement", "--measurements")
    # a unique prefix is the option (getopt_long): --requ is --requests
    p = uvm("policy", "replay", "--pol", POLICY, "--requ", REQUESTS)
    assert p.returncode in (0, 1) and p.stdout, p.stderr


# ---------------------------------------------------------------- missing options and values

MISSING = [
    (["measure"], [], "--mode"),
    (["measure"], ["--mode", "snp:ovmf-hash"], "--ovmf"),
    (["measure"], ["--mode", "snp", "--ovmf", MEAS + "ovmf_AmdSev_suffix.bin"], "--vcpus"),
    (["verify"], [], "--report"),
    (["verify"], ["--report", "r"], "--vcek"),
    (["layer"], [], "--tar"),
    (["layer"], ["--tar", "t"], "--out"),
    (["policy"], [], "command is required"),
    (["policy", "hash"], [], "FILE"),
    (["policy", "host-data"], [], "FILE"),
    (["policy", "check"], [], "FILE"),
    (["policy", "replay"], [], "--policy"),
    (["policy", "replay"], ["--policy", "p"], "--requests"),
    (["policy", "gen"], [], "--image"),
    (["policy", "gen"], ["-o", "out"], "--image"),
    (["ctl"], [], "--socket"),
    (["ctl"], ["--socket", "s"], "OP"),
    (["initrd"], [], "--list"),
    (["initrd"], ["--list", "l"], "--mtime"),
    (["initrd"], ["--list", "l", "--mtime", "0"], "-o OUT"),
    (["run"], [], "--image"),
    (["run"], ["--policy", "p", "--", "/bin/true"], "--image"),
    (["idblock"], [], "--measurement"),
    (["idblock"], ["--measurement", "ab" * 48], "--id-key"),
    (["idblock"], ["--measurement", "ab" * 48, "--id-key", "k"], "--id-block"),
    (["idblock"], ["--measurement", "ab" * 48, "--id-key", "k", "--id-block", "b"], "--id-auth"),
    (["igvm"], [], "--kernel"),
    (["igvm"], ["--kernel", "k"], "--initrd"),
    (["igvm"], ["--kernel", "k", "--initrd", "i"], "--cmdline"),
    (["igvm"], ["--kernel", "k", "--initrd", "i", "--cmdline", "c"], "-o OUT.igvm"),
]


@pytest.mark.parametrize("cmd,args,needle", MISSING,
                         ids=[" ".join(c + a) for c, a, _ in MISSING])
def test_missing_required_option_is_named(cmd, args, needle):
    p = uvm(*cmd, *args)
    assert_usage_error(p, cmd, needle)
    assert "required" in p.stderr or "missing" in p.stderr, p.stderr


# An option that takes a value, given last without one.
NEEDS_VALUE = [(["measure"], "--ovmf"), (["verify"], "--report"), (["layer"], "--out"),
               (["policy", "replay"], "--requests"), (["policy", "gen"], "--image"),
               (["policy", "gen"], "-o"), (["launch"], "--image"), (["ctl"], "--socket"),
               (["initrd"], "--list"), (["initrd"], "-D"), (["idblock"], "--id-key"),
               (["launch"], "--id-block"), (["verify"], "--author-key-digest"), (["run"], "--image"),
               (["run"], "--launch-arg"), (["run"], "--control"), (["igvm"], "--kernel"),
               (["igvm"], "-o"), (["launch"], "--igvm")]


@pytest.mark.parametrize("cmd,opt", NEEDS_VALUE, ids=[" ".join(c) + " " + o for c, o in NEEDS_VALUE])
def test_missing_value_is_named(cmd, opt):
    assert_usage_error(uvm(*cmd, opt), cmd, f"option '{opt}' needs a value")


# Subcommands that take no operand (or fewer than given) name the stray one.
STRAY = [(["measure"], []), (["verify"], []), (["layer"], []), (["policy", "replay"], []),
         (["policy", "gen"], []), (["launch"], []), (["initrd"], []), (["version"], []),
         (["policy", "hash"], [POLICY]), (["policy", "host-data"], [POLICY]),
         (["policy", "check"], [POLICY]), (["ctl"], ["--socket", "s", "ping", "{}"]), (["idblock"], []),
         (["run"], ["--image", "x"]), (["igvm"], [])]


@pytest.mark.parametrize("cmd,args", STRAY, ids=[" ".join(c) for c, _ in STRAY])
def test_stray_argument_is_named(cmd, args):
    assert_usage_error(uvm(*cmd, *args, "stray"), cmd, "unexpected argument 'stray'")


def test_conflicts_and_bad_values_are_usage_errors():
    assert_usage_error(uvm("launch", "--policy", POLICY, "--host-data", "00"), ["launch"],
                       "--policy", "--host-data")
    assert_usage_error(uvm("launch", "--vcpus=0"), ["launch"], "--vcpus", "'0'")
    assert_usage_error(uvm("ctl", "--socket", "s", "--timeout", "5s", "ping"), ["ctl"], "--timeout")
    assert_usage_error(uvm("layer", "--tar", "a", "--image", "b", "--out", "c"), ["layer"], "not both")
    assert_usage_error(uvm("layer", "--out", "a", "--out", "b", "--tar", "t"), ["layer"],
                       "'--out' given twice")
    assert_usage_error(uvm("policy", "gen", "--image", "a", "--name", "x", "--name", "y"), ["policy", "gen"],
                       "'--name' given twice")
    assert_usage_error(uvm("policy", "gen", "--name", "x", "--image", "a"), ["policy", "gen"],
                       "--name names the --image before it")
    assert_usage_error(uvm("run", "--image", "a", "--no-start"), ["run"], "--no-start needs --control")
    assert_usage_error(uvm("run", "--image", "a", "--policy", "p", "--policy", "q"), ["run"],
                       "'--policy' given twice")
    assert_usage_error(uvm("measure", "--mode=snp", "--mode", "snp"), ["measure"], "'--mode' given twice")
    assert_usage_error(uvm("initrd", "--list", "l", "--mtime", "-1", "-o", "x"), ["initrd"], "--mtime")
    assert_usage_error(uvm("verify", "--report", "r", "--certs", "c", "--now", "soon"), ["verify"],
                       "--now 'soon'")
    assert_usage_error(uvm("policy", "frobnicate"), ["policy"], "unknown command 'frobnicate'")


# ---------------------------------------------------------------- --opt=value is --opt value

def same(a, b):
    """Both command lines give the same exit status and output; returns the first run."""
    p, q = uvm(*a), uvm(*b)
    assert (p.returncode, p.stdout, p.stderr) == (q.returncode, q.stdout, q.stderr), (a, b)
    return p


def test_equals_measure():
    p = same(["measure", "--mode=snp", "--vcpus=2", "--vcpu-type=EPYC-v4", "--guest-features=0x1",
              "--ovmf=" + MEAS + "ovmf_AmdSev_suffix.bin", "--kernel=" + MEAS + "bzimage.bin",
              "--append=console=ttyS0"],
             ["measure", "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--guest-features",
              "0x1", "--ovmf", MEAS + "ovmf_AmdSev_suffix.bin", "--kernel", MEAS + "bzimage.bin",
              "--append", "console=ttyS0"])
    assert p.returncode == 0 and len(p.stdout.strip()) == 96, p.stderr


def test_equals_verify():
    p = same(["verify", "--report=" + SNP + "gsg_milan_v2_report.bin",
              "--vcek=" + SNP + "gsg_milan_v2_vcek.der", "--chain=" + SNP + "gsg_ask_ark_milan.pem",
              "--now=2026-06-01", "--allow-debug", "--measurement=" + GSG_MEASUREMENT, "--json"],
             ["verify", "--report", SNP + "gsg_milan_v2_report.bin",
              "--vcek", SNP + "gsg_milan_v2_vcek.der", "--chain", SNP + "gsg_ask_ark_milan.pem",
              "--now", "2026-06-01", "--allow-debug", "--measurement", GSG_MEASUREMENT, "--json"])
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    checks = {c["name"]: c["result"] for c in out["checks"]}
    assert checks["measurement"] == checks["identity"] == "pass" and out["identity_checked"] is True, out


GSG = ["--report", SNP + "gsg_milan_v2_report.bin", "--vcek", SNP + "gsg_milan_v2_vcek.der",
       "--chain", SNP + "gsg_ask_ark_milan.pem", "--now", "2026-06-01", "--allow-debug"]


def test_verify_without_expectations_is_a_usage_error():
    # a report that passes every hardware check says nothing about the guest:
    # never ACCEPTED silently
    assert_usage_error(uvm("verify", *GSG), ["verify"], "no expectation given", "--measurement HEX",
                       "--policy FILE", "--report-data HEX", "--no-expectations")
    p = uvm("verify", *GSG, "--no-expectations")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "NOTHING about the guest's identity was checked (--no-expectations)" in p.stdout, p.stdout
    assert "note: --no-expectations" in p.stdout, p.stdout


def test_equals_print_kds():
    p = same(["verify", "--report=" + SNP + "gsg_milan_v2_report.bin", "--print-kds", "--product=Milan"],
             ["verify", "--report", SNP + "gsg_milan_v2_report.bin", "--print-kds", "--product", "Milan"])
    assert p.returncode == 0, p.stderr
    lines = dict(line.split(" ", 1) for line in p.stdout.splitlines())
    assert lines["product"] == "Milan"
    assert lines["vcek"].startswith("https://kdsintf.amd.com/vcek/v1/Milan/3ac3fe21") and \
        lines["vcek"].endswith("?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"), lines
    assert lines["cert_chain"] == "https://kdsintf.amd.com/vcek/v1/Milan/cert_chain"
    assert lines["crl"] == "https://kdsintf.amd.com/vcek/v1/Milan/crl"
    assert lines["vlek_cert_chain"] == "https://kdsintf.amd.com/vlek/v1/Milan/cert_chain"


def test_equals_layer(tmp_path):
    # no root or mkfs.erofs needed: the tar is missing, and both forms say so
    p = same(["layer", "--tar=" + str(tmp_path / "absent.tar"), "--out=" + str(tmp_path / "o")],
             ["layer", "--tar", str(tmp_path / "absent.tar"), "--out", str(tmp_path / "o")])
    assert p.returncode == 1 and "absent.tar" in p.stderr, p.stderr


def test_equals_policy_replay():
    p = same(["policy", "replay", "--policy=" + POLICY, "--requests=" + REQUESTS, "--state"],
             ["policy", "replay", "--policy", POLICY, "--requests", REQUESTS, "--state"])
    assert p.returncode in (0, 1) and len(p.stdout.splitlines()) > 1, p.stderr


def test_equals_policy_gen(tmp_path):
    p = same(["policy", "gen", "--image=" + str(tmp_path / "none"), "--config=" + POLICY],
             ["policy", "gen", "--image", str(tmp_path / "none"), "--config", POLICY])
    assert p.returncode == 1 and "none" in p.stderr, p.stderr


def test_policy_file_commands_take_double_dash():
    for sub in ("hash", "host-data", "check"):
        p = same(["policy", sub, "--", POLICY], ["policy", sub, POLICY])
        assert p.returncode == 0 and p.stdout, p.stderr


def test_equals_run(tmp_path):
    # Both fail alike reading the layout (exit 125), before any VM.
    env = dict(os.environ, TMPDIR=str(tmp_path))
    a = ["run", "--image=/nonexistent", f"--layer-cache={tmp_path}/c", "--", "/bin/true"]
    b = ["run", "--image", "/nonexistent", "--layer-cache", f"{tmp_path}/c", "--", "/bin/true"]
    p, q = uvm(*a, env=env), uvm(*b, env=env)
    assert (p.returncode, p.stdout, p.stderr) == (q.returncode, q.stdout, q.stderr)
    assert p.returncode == 125 and "/nonexistent" in p.stderr, p.stderr
    assert os.listdir(tmp_path) == []  # its work directory removed, no cache made


def test_equals_launch(tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 512)
    hd = "ab" * 32
    p = same(["launch", "--dry-run", "--snp", "--image=" + str(tmp_path), "--host-data=" + hd,
              "--append=console=ttyS0", "--vcpus=2", "--memory=1024", "--cid=9", "--cpu=EPYC-Milan",
              "--disk=data=" + str(disk) + ":ro"],
             ["launch", "--dry-run", "--snp", "--image", str(tmp_path), "--host-data", hd,
              "--append", "console=ttyS0", "--vcpus", "2", "--memory", "1024", "--cid", "9", "--cpu",
              "EPYC-Milan", "--disk", "data=" + str(disk) + ":ro"])
    assert p.returncode == 0, p.stderr
    assert "-smp 2" in p.stdout and "guest-cid=9" in p.stdout and "serial=data" in p.stdout, p.stdout


def synthetic_bzimage(path):
    """A bzImage header as the boot protocol describes one (2.15, 64-bit, relocatable) and 8 KiB of code."""
    k = bytearray(4 * 512 + 8192)
    k[0x1f1] = 3
    struct.pack_into("<H", k, 0x1fe, 0xAA55)
    k[0x200:0x206] = b"\xeb\x6aHdrS"
    struct.pack_into("<H", k, 0x206, 0x20f)
    k[0x211] = 1
    struct.pack_into("<IIBBHI", k, 0x22c, 0x7fffffff, 0x200000, 1, 21, 3, 0x7ff)
    struct.pack_into("<QI", k, 0x258, 0x1000000, 0x2000000)
    k[2048:] = bytes(range(256)) * 32
    path.write_bytes(bytes(k))


def test_equals_igvm(tmp_path):
    synthetic_bzimage(tmp_path / "k")
    (tmp_path / "i").write_bytes(b"070701" + bytes(500))
    a, b = tmp_path / "a.igvm", tmp_path / "b.igvm"
    p = same(["igvm", "--kernel=" + str(tmp_path / "k"), "--initrd=" + str(tmp_path / "i"),
              "--cmdline=console=ttyS0", "--memory=65", "--output=" + str(a)],
             ["igvm", "--kernel", str(tmp_path / "k"), "--initrd", str(tmp_path / "i"),
              "--cmdline", "console=ttyS0", "--memory", "65", "-o", str(b)])
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", p.stderr
    assert a.read_bytes() == b.read_bytes() and a.read_bytes()[:4] == b"IGVM"
    assert_usage_error(uvm("igvm", "--kernel", "k", "--kernel", "k"), ["igvm"], "'--kernel' given twice")
    assert_usage_error(uvm("igvm", "--kernel", "k", "--initrd", "i", "--cmdline", "c", "--memory", "2817",
                           "-o", "x"), ["igvm"], "--memory")


def test_equals_initrd(tmp_path):
    (tmp_path / "src").write_text("hello\n")
    (tmp_path / "list").write_text("dir /etc 0755\nfile /etc/hello 0644 @SRC\n")
    a, b = tmp_path / "a.cpio", tmp_path / "b.cpio"
    p = uvm("initrd", "--list=" + str(tmp_path / "list"), "--mtime=7", "-D", "SRC=" + str(tmp_path / "src"),
            "-o", str(a))
    q = uvm("initrd", "--list", str(tmp_path / "list"), "--mtime", "7", "-DSRC=" + str(tmp_path / "src"),
            "-o" + str(b))
    assert p.returncode == 0 and q.returncode == 0, (p.stderr, q.stderr)
    assert a.read_bytes() == b.read_bytes() and b"hello" in a.read_bytes()


def read_newc(data):
    """[(name, fields, payload)] of a cpio newc archive, trailer excluded."""
    out, off = [], 0
    while True:
        assert data[off:off + 6] == b"070701", off
        f = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13)]
        name = data[off + 110:off + 110 + f[11] - 1].decode()
        off = (off + 110 + f[11] + 3) & ~3
        payload = data[off:off + f[6]]
        off = (off + f[6] + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, dict(zip(("ino", "mode", "uid", "gid", "nlink", "mtime", "size", "devmajor",
                                    "devminor", "rdevmajor", "rdevminor"), f)), payload))


def test_initrd_is_the_kernels_writer_with_nothing_of_the_host(tmp_path):
    """uvm initrd hands the list to the kernel's gen_init_cpio: every entry 0:0 with the one
    mtime, in list order, rdev only where the list names it, whatever the sources' owner and time."""
    src = tmp_path / "src"
    src.write_text("hello\n")
    os.chown(src, 1234, 5678)
    os.utime(src, (99, 99))
    (tmp_path / "list").write_text("dir /dev 0755\nnod /dev/console 0600 c 5 1\nfile /init 0750 @SRC\n"
                                   "slink /sh 0777 init\ndir /tmp 1777\n")
    out = tmp_path / "initrd"
    p = uvm("initrd", "--list", str(tmp_path / "list"), "--mtime", "1767225600", "-D", "SRC=" + str(src),
            "-o", str(out))
    assert p.returncode == 0, p.stderr
    data = out.read_bytes()
    assert len(data) % 512 == 0
    entries = read_newc(data)
    assert [e[0] for e in entries] == ["dev", "dev/console", "init", "sh", "tmp"]
    for name, f, _ in entries:
        assert (f["uid"], f["gid"], f["mtime"]) == (0, 0, 1767225600), (name, f)
    assert len({f["ino"] for _, f, _ in entries}) == 5 and [f["ino"] for _, f, _ in entries] == sorted(
        f["ino"] for _, f, _ in entries)
    modes = {name: f["mode"] for name, f, _ in entries}
    assert modes == {"dev": 0o40755, "dev/console": 0o20600, "init": 0o100750, "sh": 0o120777, "tmp": 0o41777}
    rdev = {name: (f["rdevmajor"], f["rdevminor"]) for name, f, _ in entries}
    assert rdev["dev/console"] == (5, 1) and rdev["init"] == (0, 0)
    # gen_init_cpio writes one fixed dev pair on every entry, never a source's st_dev.
    assert {(f["devmajor"], f["devminor"]) for _, f, _ in entries} == {(3, 1)}
    assert entries[2][2] == b"hello\n" and entries[3][2].rstrip(b"\0") == b"init"


def test_initrd_names_a_missing_or_failing_writer(tmp_path):
    (tmp_path / "list").write_text("dir /etc 0755\n")
    out = tmp_path / "initrd"
    p = uvm("initrd", "--list", str(tmp_path / "list"), "--mtime", "0", "--gen-init-cpio",
            str(tmp_path / "nope"), "-o", str(out))
    assert p.returncode == 1 and "cannot run " + str(tmp_path / "nope") in p.stderr, p.stderr
    assert not out.exists() and not (tmp_path / "initrd.tmp").exists()
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho partial; exit 3\n")
    failing.chmod(0o755)
    p = uvm("initrd", "--list", str(tmp_path / "list"), "--mtime", "0", "--gen-init-cpio", str(failing),
            "-o", str(out))
    assert p.returncode == 1 and "exited with status 3" in p.stderr, p.stderr
    assert not out.exists(), "a failed writer must not leave an archive"


class FakeAgent:
    """A unix socket answering each framed request {"id", "op", ...} with
    {"id": ID, "ok": true, "op": OP, "args": ARGS} (docs/protocol.md framing)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def read_exact(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                while True:
                    hdr = self.read_exact(conn, 4)
                    if hdr is None:
                        break
                    req = json.loads(self.read_exact(conn, struct.unpack(">I", hdr)[0]))
                    body = json.dumps({"id": req["id"], "ok": True, "op": req["op"],
                                       "args": req.get("args")}, sort_keys=True).encode()
                    conn.sendall(struct.pack(">I", len(body)) + body)

    def close(self):
        self.sock.close()


def test_equals_ctl(tmp_path):
    agent = FakeAgent(str(tmp_path / "agent.sock"))
    try:
        s = str(tmp_path / "agent.sock")
        p = same(["ctl", "--socket=" + s, "--timeout=5", "ping", '{"x":1}'],
                 ["ctl", "--socket", s, "--timeout", "5", "ping", '{"x":1}'])
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout) == {"id": 1, "ok": True, "op": "ping", "args": {"x": 1}}
        # operands and options in any order
        q = uvm("ctl", "ping", '{"x":1}', "--socket", s)
        assert (q.returncode, q.stdout) == (0, p.stdout), q.stderr
        # set_policy --policy after the op
        r = uvm("ctl", "--socket", s, "set_policy", "--policy=" + POLICY)
        assert r.returncode == 0 and "policy_base64" in r.stdout, r.stderr
    finally:
        agent.close()


# ------------------------------------------------------------ measure: sev, seves, --dump-vmsa
# The sev/seves digests equal sev-snp-measure's own test vectors in tests/unit/test_measure.c
# (which pass /dev/null kernels; the CLI refuses those, not being bzImages). Here the CLI output
# is checked against the published algorithm recomputed in Python over the same files.
def _table(kernel, append):
    import uuid
    t = uuid.UUID("9438d606-4f22-4cc9-b479-a793d411fd21").bytes_le + (168).to_bytes(2, "little")
    for guid, value in (("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", append.encode() + b"\0"),
                        ("44baf731-3a2f-4bd7-9af1-41e29169781d", b""),
                        ("4de79437-abd2-427f-b835-d5b172d2045b", open(kernel, "rb").read())):
        t += uuid.UUID(guid).bytes_le + (50).to_bytes(2, "little") + hashlib.sha256(value).digest()
    return t + bytes(8)


def test_measure_sev():
    ovmf = MEAS + "ovmf_AmdSev_suffix.bin"
    p = uvm("measure", "--mode", "sev", "--ovmf", ovmf, "--kernel", MEAS + "bzimage.bin", "--append", "a b")
    want = hashlib.sha256(open(ovmf, "rb").read() + _table(MEAS + "bzimage.bin", "a b")).hexdigest()
    assert (p.returncode, p.stdout) == (0, want + "\n"), p.stderr
    p = uvm("measure", "--mode", "sev", "--ovmf", MEAS + "ovmf_OvmfX64_suffix.bin", "-v")
    assert p.stdout == ("Calculated SEV guest measurement: "
                        "b4c021e085fb83ceffe6571a3d357b4a98773c83c474e47f76c876708fe316da\n"), p.stderr


def test_measure_seves_dump_vmsa(tmp_path):
    ovmf = MEAS + "ovmf_AmdSev_suffix.bin"
    p = uvm("measure", "--mode", "seves", "--vcpus", "3", "--vcpu-type", "EPYC-v4", "--ovmf", ovmf,
            "--kernel", MEAS + "bzimage.bin", f"--dump-vmsa={tmp_path}")
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == ["vmsa0.bin", "vmsa1.bin", "vmsa2.bin"]
    pages = [(tmp_path / f"vmsa{i}.bin").read_bytes() for i in range(3)]
    bsp = open(MEAS + "vmsa_bsp_epycv4_feat0x1.bin", "rb").read()
    # SEV-ES VMSA = the SNP reference page with SEV features (0x3b0) 0; APs start at 0x80b004
    assert pages[0] == bsp[:0x3b0] + bytes(8) + bsp[0x3b8:]
    assert pages[1] == pages[2] != pages[0] and pages[1][0x178:0x17a] == b"\x04\xb0"
    want = hashlib.sha256(open(ovmf, "rb").read() + _table(MEAS + "bzimage.bin", "") + b"".join(pages))
    assert p.stdout == want.hexdigest() + "\n"


def test_measure_snp_dump_vmsa_cwd(tmp_path):
    p = subprocess.run([os.path.abspath(uvm_bin()), "measure", "--mode", "snp", "--vcpus", "2", "--vcpu-type",
                        "EPYC-v4", "--ovmf", os.path.abspath(MEAS + "ovmf_AmdSev_suffix.bin"), "--dump-vmsa"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "vmsa0.bin").read_bytes() == open(MEAS + "vmsa_bsp_epycv4_feat0x1.bin", "rb").read()
    assert (tmp_path / "vmsa1.bin").read_bytes() == open(MEAS + "vmsa_ap_epycv4_feat0x1.bin", "rb").read()
    assert not (tmp_path / "vmsa2.bin").exists()
    p = uvm("measure", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf",
            MEAS + "ovmf_AmdSev_suffix.bin", "--dump-vmsa=" + str(tmp_path / "missing"))
    assert p.returncode == 1 and p.stdout == "" and "missing: cannot open the --dump-vmsa directory" in p.stderr


@pytest.mark.parametrize("kernel", ["kernel.bin", "/dev/null"])
@pytest.mark.parametrize("mode", [["snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4"], ["sev"]])
def test_measure_kernel_not_bzimage(kernel, mode):
    path = kernel if kernel.startswith("/") else MEAS + kernel
    p = uvm("measure", "--mode", *mode, "--ovmf", MEAS + "ovmf_AmdSev_suffix.bin", "--kernel", path)
    assert p.returncode == 1 and p.stdout == "", p
    assert f"{path}: not a bzImage" in p.stderr and "HdrS" in p.stderr, p.stderr


@pytest.mark.parametrize("extra,msg", [
    (["--mode", "snp", "--vars-size", "540672"], "only apply to --mode snp:svsm"),
    (["--mode", "snp", "--vars-file", "x"], "only apply to --mode snp:svsm"),
    (["--mode", "snp", "--svsm", "x"], "only apply to --mode snp:svsm"),
    (["--mode", "snp:svsm", "--svsm", "x", "--vars-size", "1", "--vars-file", "x"], "conflict"),
    (["--mode", "snp:svsm", "--svsm", "x", "--vars-size", "-1"], "not a size"),
    (["--mode", "snp:svsm", "--vars-size", "4096"], "missing --svsm FILE"),
    (["--mode", "snp:svsm", "--svsm", "x"], "missing --vars-size N or --vars-file FILE"),
    (["--mode", "snp:svsm", "--svsm", "x", "--vars-size", "0", "--kernel", "k"], "measures no kernel hashes"),
    (["--mode", "snp:svsm", "--svsm", "x", "--vars-size", "0", "--guest-features", "0x3"], "drop"),
    (["--mode", "snp:svsm", "--svsm", "x", "--vars-size", "0", "--vmm-type", "ec2"], "only QEMU's layout"),
    (["--mode", "snp:svsm", "--svsm", "x", "--vars-size", "0", "--matrix"], "--matrix needs --mode snp"),
    (["--mode", "seves", "--guest-features", "0x1"], "no effect in mode 'seves'"),
    (["--mode", "sev", "--vcpus", "1"], "measures no vCPU state"),
    (["--mode", "sev", "--dump-vmsa"], "measures no vCPU state"),
    (["--mode", "seves", "--snp-ovmf-hash", "00"], "only works with --mode snp"),
    (["--mode", "snp:ovmf-hash", "--dump-vmsa"], "drop --dump-vmsa"),
    (["--mode", "snp", "--dump-vmsa="], "needs a directory"),
])
def test_measure_new_usage_errors(extra, msg):
    p = uvm("measure", "--vcpus", "1", "--vcpu-type", "EPYC-v4", "--ovmf", MEAS + "ovmf_AmdSev_suffix.bin",
            *extra) if extra[1] not in ("sev", "seves") else \
        uvm("measure", "--ovmf", MEAS + "ovmf_AmdSev_suffix.bin", *extra)
    assert p.returncode == 2 and p.stdout == "" and msg in p.stderr, p.stderr


# ---------------------------------------------------------------- uvm idblock, launch --id-block

def openssl(*args, **kw):
    return subprocess.run(["openssl", *args], capture_output=True, check=True, timeout=60, **kw)


def der_int(b):
    """A DER INTEGER from big-endian magnitude bytes."""
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return b"\x02" + bytes([len(b)]) + b


def amd_sig_to_der(sig):
    """AMD's ECDSA signature (r, s: 72-byte little-endian) as DER ECDSA-Sig-Value."""
    body = der_int(sig[0:72][::-1]) + der_int(sig[0x48:0x48 + 72][::-1])
    return b"\x30" + bytes([len(body)]) + body


def openssl_verifies(tmp_path, key_pem, sig, data):
    pub, s, d = tmp_path / "pub.pem", tmp_path / "sig.der", tmp_path / "data.bin"
    openssl("pkey", "-in", str(key_pem), "-pubout", "-out", str(pub))
    s.write_bytes(amd_sig_to_der(sig))
    d.write_bytes(data)
    p = subprocess.run(["openssl", "dgst", "-sha384", "-verify", str(pub), "-signature", str(s), str(d)],
                       capture_output=True, text=True, timeout=60)
    return p.returncode == 0 and "Verified OK" in p.stdout


def idblock_keys(tmp_path):
    keys = {}
    for name in ("id", "author"):
        keys[name] = tmp_path / f"{name}.pem"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", str(keys[name]))
    return keys


def test_idblock_signatures_verify_with_the_openssl_cli_and_launch_passes_them(tmp_path):
    import base64
    import hashlib
    keys = idblock_keys(tmp_path)
    ld = "5a" * 48
    b, a = tmp_path / "id-block.bin", tmp_path / "id-auth.bin"
    p = same(["idblock", "--measurement=" + ld, "--id-key=" + str(keys["id"]), "--author-key=" + str(keys["author"]),
              "--guest-svn=7", "--id-block=" + str(b), "--id-auth=" + str(a)],
             ["idblock", "--measurement", ld, "--id-key", str(keys["id"]), "--author-key", str(keys["author"]),
              "--guest-svn", "7", "--id-block", str(b), "--id-auth", str(a)])
    assert p.returncode == 0 and p.stderr == "", p.stderr
    block, auth = b.read_bytes(), a.read_bytes()
    assert len(block) == 0x60 and len(auth) == 0x1000
    assert block[:48] == bytes.fromhex(ld)
    assert struct.unpack_from("<IIQ", block, 0x50) == (1, 7, 0x30000)
    assert struct.unpack_from("<II", auth, 0) == (1, 1)
    # the signatures, checked by the openssl CLI (not by uvm's code)
    assert openssl_verifies(tmp_path, keys["id"], auth[0x40:0x240], block)
    assert openssl_verifies(tmp_path, keys["author"], auth[0x680:0x880], auth[0x240:0x644])
    assert not openssl_verifies(tmp_path, keys["author"], auth[0x40:0x240], block)
    # ID_KEY holds the PEM's public point (little-endian coordinates)
    text = openssl("pkey", "-in", str(keys["id"]), "-pubout", "-outform", "DER").stdout
    point = text[-97:]
    assert point[0] == 4 and auth[0x244:0x244 + 48] == point[1:49][::-1] and auth[0x28c:0x28c + 48] == point[49:][::-1]
    digests = dict(line.split(": ") for line in p.stdout.splitlines())
    assert digests == {"id_key_digest": hashlib.sha384(auth[0x240:0x644]).hexdigest(),
                       "author_key_digest": hashlib.sha384(auth[0x880:0xc84]).hexdigest()}

    # launch --snp passes both to sev-snp-guest, base64, with author-key-enabled=on
    q = uvm("launch", "--dry-run", "--snp", "--image", str(tmp_path), "--append", "console=ttyS0",
            "--id-block", str(b), "--id-auth", str(a))
    assert q.returncode == 0, q.stderr
    obj = next(w for w in q.stdout.split() if w.startswith("sev-snp-guest,"))
    props = dict(kv.split("=", 1) for kv in obj.split(",")[1:])
    assert base64.b64decode(props["id-block"]) == block and base64.b64decode(props["id-auth"]) == auth
    assert props["author-key-enabled"] == "on" and props["policy"] == "0x30000"

    # without an author key: no author-key-enabled
    assert uvm("idblock", "--measurement", ld, "--id-key", str(keys["id"]), "--id-block", str(b),
               "--id-auth", str(a)).returncode == 0
    q = uvm("launch", "--dry-run", "--snp", "--image", str(tmp_path), "--append", "x", "--id-block", str(b),
            "--id-auth", str(a))
    assert q.returncode == 0 and "id-auth=" in q.stdout and "author-key-enabled" not in q.stdout, q.stderr


def test_launch_refuses_a_bad_id_block(tmp_path):
    keys = idblock_keys(tmp_path)
    b, a = tmp_path / "b.bin", tmp_path / "a.bin"
    assert uvm("idblock", "--measurement", "00" * 48, "--id-key", str(keys["id"]), "--policy", "0x70000",
               "--id-block", str(b), "--id-auth", str(a)).returncode == 0
    launch = ["launch", "--dry-run", "--snp", "--image", str(tmp_path), "--append", "x"]
    p = uvm(*launch, "--id-block", str(b), "--id-auth", str(a))
    assert p.returncode == 1 and "POLICY 0x70000 is not the launch policy 0x30000" in p.stderr, p.stderr
    assert uvm("idblock", "--measurement", "00" * 48, "--id-key", str(keys["id"]), "--id-block", str(b),
               "--id-auth", str(a)).returncode == 0
    block = bytearray(b.read_bytes())
    block[0] ^= 1
    b.write_bytes(bytes(block))
    p = uvm(*launch, "--id-block", str(b), "--id-auth", str(a))
    assert p.returncode == 1 and "ID_BLOCK_SIG" in p.stderr and "does not verify" in p.stderr, p.stderr
    assert_usage_error(uvm(*launch, "--id-block", str(b)), ["launch"], "--id-block and --id-auth together")
    assert_usage_error(uvm("launch", "--dry-run", "--id-block", str(b), "--id-auth", str(a)), ["launch"],
                       "need --snp")
