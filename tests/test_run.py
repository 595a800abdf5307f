"""`uvm run` (docs/sandbox.md) under QEMU (TCG): one command from an OCI
image to the container's exit status, the chain-keyed layer cache, the
policy's reasons, and the control socket the containerd shim drives.

Every run gets its own TMPDIR, so "no work directory left" is "TMPDIR is
empty afterwards", and "no QEMU left" is "no process names that TMPDIR"
(QEMU's command line holds the agent socket's path in it)."""
import base64
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time

import pytest

from uvmvm import UVM, Vm, ok, read_stream

BOOT_DEADLINE = 300
HELLO = b"hello from a container on verity layers: uid=1000 cwd=/app hostname=container\nGREETING=hello\n"


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, timeout=900, **kw)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The demo's sample OCI image (two layers) and a layer cache."""
    work = tmp_path_factory.mktemp("run")
    r = sh("bash", "tools/demo/sample-image.sh", work)
    assert r.returncode == 0, r.stderr
    return {"work": work, "oci": work / "oci", "cache": work / "cache"}


@pytest.fixture(scope="module")
def layer_index(sample):
    """`uvm layer --image SAMPLE`'s layers.json (no VM, no cache)."""
    r = sh(UVM, "layer", "--image", sample["oci"], "--out", sample["work"] / "layers")
    assert r.returncode == 0, r.stderr
    return json.loads((sample["work"] / "layers" / "layers.json").read_text())


def processes_naming(text):
    """Pids of processes whose command line contains text."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def uvm_run(sample, tmp, *args, cache=None, **kw):
    """`uvm run --image SAMPLE --layer-cache CACHE ARGS...` with TMPDIR=tmp;
    afterwards nothing of it may be left: no work directory, no QEMU."""
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp))
    p = sh(UVM, "run", "--image", sample["oci"], "--layer-cache", cache or sample["cache"], *args, env=env, **kw)
    assert os.listdir(tmp) == [], f"left in TMPDIR: {os.listdir(tmp)}; stderr:\n{p.stderr.decode()}"
    assert processes_naming(str(tmp)) == [], "a QEMU of the run is still there"
    return p


def generated_policy(tmp_path, sample, config):
    """The sample image's policy from `uvm policy gen` with config's overrides."""
    cfg, policy = tmp_path / "cfg.json", tmp_path / "policy.json"
    cfg.write_text(json.dumps(config))
    r = sh(UVM, "policy", "gen", "--image", sample["oci"], "--config", cfg, "-o", policy)
    assert r.returncode == 0, r.stderr
    return policy


def test_run_prints_output_and_exits_with_the_containers_status(sample, tmp_path):
    """No policy: the one `uvm policy gen` would write, with ARGS as the
    argv. stdout and stderr are the container's; the exit status is its."""
    p = uvm_run(sample, tmp_path / "t", "--", "/bin/sh", "-c", "echo hi; echo oops >&2; exit 7")
    assert p.returncode == 7, p.stderr.decode()
    assert p.stdout == b"hi\n"
    assert b"oops\n" in p.stderr
    assert b"uvm run: container container started" in p.stderr
    assert b"tear-down:" not in p.stderr  # shutdown_container, every unmount, shutdown: all went through


def test_run_the_images_own_command(sample, tmp_path):
    """Without ARGS the image's Entrypoint + Cmd run, as the image's user in
    its working directory, with its environment: exit 0."""
    p = uvm_run(sample, tmp_path / "t")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == HELLO


def test_root_hashes_equal_policy_gen(sample, layer_index, tmp_path):
    """The cache's images have the root hashes `uvm policy gen` computes
    (with its own temporary build), chain by chain."""
    if not sample["cache"].exists():
        uvm_run(sample, tmp_path / "t", "--", "/bin/true")
    r = sh(UVM, "policy", "gen", "--image", sample["oci"])
    assert r.returncode == 0, r.stderr
    roots = json.loads(r.stdout)["containers"][0]["layers"]
    layers = layer_index
    cached = []
    for l in layers:
        (entry,) = json.loads((sample["cache"] / l["chain_id"][7:] / "layers.json").read_text())
        assert entry == l  # the same bytes' description as `uvm layer`'s
        cached.append(entry["root_hash"])
    assert cached == roots


def chain_dirs(cache):
    return {d: (os.stat(cache / d).st_ino, os.stat(cache / d).st_mtime_ns,
                os.stat(cache / d / (d + ".img")).st_mtime_ns)
            for d in os.listdir(cache)}


def test_second_run_converts_nothing(sample, tmp_path):
    """The cache holds one directory per chain; a second container from
    the same image reuses them: same inodes and times, "reused" in the log,
    nothing converted, nothing else written into the cache."""
    if not sample["cache"].exists():
        uvm_run(sample, tmp_path / "t0", "--", "/bin/true")
    before = chain_dirs(sample["cache"])
    assert len(before) == 2 and all(len(d) == 64 for d in before)
    p = uvm_run(sample, tmp_path / "t", "--", "/bin/true")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stderr.count(b" reused ") == 2 and b" converted " not in p.stderr, p.stderr.decode()
    assert chain_dirs(sample["cache"]) == before


def no_match_policy(sample, tmp_path):
    r = sh(UVM, "policy", "gen", "--image", sample["oci"])
    policy = json.loads(r.stdout)
    policy["containers"][0]["layers"] = ["ab" * 32, "cd" * 32]
    path = tmp_path / "other.json"
    path.write_text(json.dumps(policy))
    return path


def test_policy_without_the_images_layers(sample, layer_index, tmp_path):
    """A policy with no container for the image's layers: exit 1 before any
    VM, naming the image's root hashes and what the policy lists."""
    layers = layer_index
    p = uvm_run(sample, tmp_path / "t", "--policy", no_match_policy(sample, tmp_path))
    assert p.returncode == 1, p.stderr.decode()
    err = p.stderr.decode()
    assert "no container of the policy has this image's layers" in err
    for l in layers:
        assert l["root_hash"] in err
    assert "container 0 'container' [abababababab..., cdcdcdcdcdcd...]" in err
    assert b"uvm launch is pid" not in p.stderr


def test_concurrent_runs_share_a_fresh_cache(sample, layer_index, tmp_path):
    """Two runs converting into one empty cache at the same time: each
    builds in a temporary directory and renames it, so both end with the
    same complete chains and nothing half-built is left (they stop at the
    policy, exit 1, before any VM)."""
    cache = tmp_path / "cache"
    policy = no_match_policy(sample, tmp_path)
    env = [dict(os.environ, TMPDIR=str(tmp_path / f"t{i}")) for i in range(2)]
    for e in env:
        os.mkdir(e["TMPDIR"])
    procs = [subprocess.Popen([UVM, "run", "--image", str(sample["oci"]), "--layer-cache", str(cache),
                               "--policy", str(policy)], env=e, stderr=subprocess.PIPE) for e in env]
    errs = [p.communicate(timeout=900)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [1, 1], errs
    assert sorted(os.listdir(cache)) == sorted(l["chain_id"][7:] for l in layer_index), os.listdir(cache)
    for l in layer_index:
        assert json.loads((cache / l["chain_id"][7:] / "layers.json").read_text()) == [l]
        assert sorted(os.listdir(cache / l["chain_id"][7:])) == sorted(["layers.json", l["path"]])
    roots = [[line.split()[-1] for line in e.splitlines() if "root_hash" in line] for e in errs]
    assert roots[0] == roots[1] == [l["root_hash"] for l in layer_index], errs


def test_a_new_layer_on_cached_ones(sample, layer_index, tmp_path):
    """An image whose two lower chains are cached and whose third is not:
    the two are reused (untouched), the third converted on top of them,
    with the root hash `uvm layer` gives it (the run then stops at the
    policy, exit 1, before any VM)."""
    if not sample["cache"].exists():
        uvm_run(sample, tmp_path / "t0", "--", "/bin/true")
    other = tmp_path / "other"
    make_variant(sample["oci"], other)
    r = sh(UVM, "layer", "--image", other, "--out", tmp_path / "layers")
    assert r.returncode == 0, r.stderr
    want = json.loads((tmp_path / "layers" / "layers.json").read_text())
    cache = tmp_path / "cache"
    shutil.copytree(sample["cache"], cache, copy_function=os.link)
    before = chain_dirs(cache)
    env = dict(os.environ, TMPDIR=str(tmp_path / "t"))
    os.mkdir(env["TMPDIR"])
    p = sh(UVM, "run", "--image", other, "--layer-cache", cache, "--policy", no_match_policy(sample, tmp_path),
           env=env)
    assert p.returncode == 1, p.stderr.decode()
    lines = [l for l in p.stderr.decode().splitlines() if "root_hash" in l]
    assert [l.split()[5] for l in lines] == ["reused", "reused", "converted"], lines
    assert [l.split()[-1] for l in lines] == [l["root_hash"] for l in want]
    after = chain_dirs(cache)
    assert {d: after[d] for d in before} == before and len(after) == 3
    (entry,) = json.loads((cache / want[2]["chain_id"][7:] / "layers.json").read_text())
    assert entry == want[2]


def test_argv_the_policy_does_not_allow(sample, tmp_path):
    """--policy (the image's generated one) and ARGS it does not allow: the
    guest denies create_container; exit 125 with the policy's reason."""
    policy = tmp_path / "policy.json"
    r = sh(UVM, "policy", "gen", "--image", sample["oci"], "-o", policy)
    assert r.returncode == 0, r.stderr
    p = uvm_run(sample, tmp_path / "t", "--policy", policy, "--", "/bin/sh", "-c", "cat /etc/passwd")
    assert p.returncode == 125, p.stderr.decode()
    err = p.stderr.decode()
    assert "create_container: denied" in err
    reason = json.loads(err.split("uvm run: create_container: the policy's reason: ")[1].splitlines()[0])
    failed = reason["candidates"][0]["failed"]
    assert [(f["rule"], f["field"], f["detail"]) for f in failed] == \
        [("argv", "argv", "the policy has 2 arguments, the request 3")], reason


# ---------------------------------------------------------------- the control socket

CONTROL_CONFIG = {
    "argv": ["/bin/sh", "-c", "echo started; exec sleep 600"],
    "exec_processes": [{"argv": ["/bin/sh", "-c", "echo from exec; echo exec-err >&2; exit 3"], "signals": []}],
    "framework": {"allow_properties_access": True},
}


class Control:
    """One connection to `uvm run --control`: a line out, a line back."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(str(path))
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "uvm run closed the control connection"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def __call__(self, op, **args):
        self.send_raw(json.dumps(dict(op=op, **args)).encode() + b"\n")
        return self.line()


def wait_for(pred, what, proc, deadline=BOOT_DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        assert proc.poll() is None, f"uvm run exited {proc.returncode} while waiting for {what}"
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def test_control_socket(sample, tmp_path):
    """--control with --no-start: the socket appears once the container is
    created; start, an allowed exec (its stdout/stderr in the host's
    files, exit 3), a denied exec (the denial carried), kill, state with
    128+9, stats, pids, hostile lines; shutdown ends uvm run with the
    container's status, no QEMU and no work directory left."""
    policy = generated_policy(tmp_path, sample, CONTROL_CONFIG)
    tmp = tmp_path / "t"
    tmp.mkdir()
    ctl_path, out, exec_out, exec_err = (tmp_path / n for n in ("ctl.sock", "out.txt", "e.out", "e.err"))
    proc = subprocess.Popen([UVM, "run", "--image", str(sample["oci"]), "--layer-cache", str(sample["cache"]),
                             "--policy", str(policy), "--control", str(ctl_path), "--no-start",
                             "--stdout", str(out)],
                            env=dict(os.environ, TMPDIR=str(tmp)), stderr=subprocess.PIPE)
    try:
        wait_for(lambda: ctl_path.exists(), "the control socket", proc)
        assert ctl_path.stat().st_mode & 0o777 == 0o600
        c = Control(ctl_path)
        assert c("state") == {"ok": True, "result": {"status": "created"}}
        assert c("start")["result"]["pid"] > 0
        assert not c("start")["ok"]  # only once
        assert c("state")["result"]["status"] == "running"
        wait_for(lambda: out.exists() and out.read_bytes() == b"started\n", "the init's output", proc, 60)

        # An exec the policy allows, its stdio in the host's files.
        r = c("exec", exec_id="e1", argv=CONTROL_CONFIG["exec_processes"][0]["argv"],
              stdout=str(exec_out), stderr=str(exec_err))
        assert r == {"ok": True, "result": {"exec_id": "e1"}}, r
        st = wait_for(lambda: (lambda s: s if s["result"]["status"] == "stopped" else None)(
            c("state", exec_id="e1")), "e1 stopped", proc, 60)
        assert st["result"] == {"status": "stopped", "exit_code": 3}
        assert exec_out.read_bytes() == b"from exec\n" and exec_err.read_bytes() == b"exec-err\n"
        r = c("exec", exec_id="e1", argv=["/bin/true"])
        assert not r["ok"] and "exec_id 'e1' is in use" in r["error"], r

        # One the policy does not allow: refused with the engine's reason.
        r = c("exec", exec_id="e2", argv=["/bin/sh", "-c", "id"])
        assert not r["ok"] and "denied" in r["error"], r
        assert r["denial"]["candidates"][0]["failed"] == [
            {"rule": "exec_processes", "field": "argv", "value": "/bin/sh",
             "detail": "argv is none of the container's exec_processes"}], r
        assert not c("state", exec_id="e2")["ok"]  # nothing was started

        stats = c("stats")
        assert stats["ok"] and stats["result"]["memory_kib"] > 0 and stats["result"]["agent_vmrss_kib"] > 0

        # Hostile lines, on another connection: each answered, none fatal.
        h = Control(ctl_path)
        h.send_raw(b"x" * (200 << 10) + b"\n")
        assert "longer than 65536" in h.line()["error"]
        h.send_raw(b"{not json\n")
        assert "invalid JSON" in h.line()["error"]
        assert "unknown op 'reboot'" in h("reboot")["error"]
        for bad in ("../../etc/passwd", "..", "", "a/b", "x" * 129):
            r = h("exec", exec_id=bad, argv=["/bin/true"])
            assert not r["ok"] and "exec_id" in r["error"], (bad, r)
        assert "no exec with exec_id 'nope'" in h("kill", exec_id="nope", signal=9)["error"]
        assert not h("kill", signal=99)["ok"]
        h.sock.close()

        # kill the init: stopped with 128 + 9.
        assert c("kill", signal=9) == {"ok": True, "result": {}}
        st = wait_for(lambda: (lambda s: s if s["result"]["status"] == "stopped" else None)(c("state")),
                      "the init stopped", proc, 60)
        assert st["result"] == {"status": "stopped", "exit_code": 137, "signal": 9}
        pids = c("pids")["result"]["pids"]
        assert pids and all(isinstance(p, int) and p > 0 for p in pids)

        assert c("shutdown") == {"ok": True, "result": {}}
        rc = proc.wait(120)
        err = proc.stderr.read().decode()
        assert rc == 137, err
        assert "tear-down:" not in err, err  # every unmount went through
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert os.listdir(tmp) == [], os.listdir(tmp)
    assert processes_naming(str(tmp)) == []
    assert not ctl_path.exists()


def test_sigterm_tears_down(sample, tmp_path):
    """SIGTERM to `uvm run --control` (the init started by uvm run itself,
    still running): it kills the init, tears down and exits 137; the
    output written so far is in --stdout; nothing is left."""
    policy = generated_policy(tmp_path, sample, CONTROL_CONFIG)
    tmp, ctl_path, out = tmp_path / "t", tmp_path / "ctl.sock", tmp_path / "out.txt"
    tmp.mkdir()
    proc = subprocess.Popen([UVM, "run", "--image", str(sample["oci"]), "--layer-cache", str(sample["cache"]),
                             "--policy", str(policy), "--control", str(ctl_path), "--stdout", str(out)],
                            env=dict(os.environ, TMPDIR=str(tmp)), stderr=subprocess.PIPE)
    try:
        wait_for(lambda: ctl_path.exists(), "the control socket", proc)
        c = Control(ctl_path)
        assert c("state")["result"]["status"] == "running"
        wait_for(lambda: out.exists() and out.read_bytes() == b"started\n", "the init's output", proc, 60)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(120)
        err = proc.stderr.read().decode()
        assert rc == 137, err
        assert "signal 15: tearing down" in err
        assert "tear-down:" not in err, err  # every unmount went through
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert os.listdir(tmp) == [] and processes_naming(str(tmp)) == [] and not ctl_path.exists()


# ---------------------------------------------------------------- stdin's end, files closed, report

CAT_CONFIG = {
    "argv": ["/bin/cat"],
    "exec_processes": [{"argv": ["/bin/cat"], "signals": []}],
}


def fd_targets(pid):
    """What the open descriptors of process pid point at."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def first_stopped(c, proc, pid, paths, **args):
    """Polls state until stopped; when it first says so, none of paths may
    be open in uvm run (pid) any more. Returns the result."""
    def poll_once():
        r = c("state", **args)
        assert r["ok"], r
        if r["result"]["status"] != "stopped":
            return None
        still = fd_targets(pid) & {str(p) for p in paths}
        assert not still, f"stopped, but uvm run still holds {still}"
        return r["result"]
    return wait_for(poll_once, f"{args or 'the init'} stopped", proc, 120)


def test_fifo_stdin_ends_with_its_writer_and_stopped_files_are_closed(sample, tmp_path):
    """The init is `cat` on a --stdin FIFO nobody writes yet: it stays
    running (its stdin open), without uvm run spinning. An exec `cat`
    whose stdin FIFO never gets a writer ends on close_stdin. An exec whose
    stdin FIFO gets a late writer that writes and closes: the bytes reach
    its stdout FIFO, then EOF, exit 0. The init's late writer likewise:
    its bytes in --stdout, exit 0. Each time, when state first says
    stopped, uvm run holds none of the process's files any more (the
    output FIFO's reader sees its end)."""
    policy = generated_policy(tmp_path, sample, CAT_CONFIG)
    tmp = tmp_path / "t"
    tmp.mkdir()
    ctl_path, out = tmp_path / "ctl.sock", tmp_path / "out.txt"
    fifos = {n: tmp_path / n for n in ("in", "e1.in", "e1.out", "e2.in", "e2.out")}
    for f in fifos.values():
        os.mkfifo(f)
    e1_err, e2_err = tmp_path / "e1.err", tmp_path / "e2.err"
    proc = subprocess.Popen([UVM, "run", "--image", str(sample["oci"]), "--layer-cache", str(sample["cache"]),
                             "--policy", str(policy), "--control", str(ctl_path), "--stdin", str(fifos["in"]),
                             "--stdout", str(out)],
                            env=dict(os.environ, TMPDIR=str(tmp)), stderr=subprocess.PIPE)
    readers = []
    try:
        wait_for(lambda: ctl_path.exists(), "the control socket", proc)
        c = Control(ctl_path)
        assert c("state")["result"]["status"] == "running"
        assert {str(fifos["in"]), str(out)} <= fd_targets(proc.pid)

        # The readers of the exec's output FIFOs are there first (as ctr's are).
        r1 = os.open(fifos["e1.out"], os.O_RDONLY | os.O_NONBLOCK)
        r2 = os.open(fifos["e2.out"], os.O_RDONLY | os.O_NONBLOCK)
        readers += [r1, r2]
        for e in ("e1", "e2"):
            r = c("exec", exec_id=e, argv=["/bin/cat"], stdin=str(fifos[e + ".in"]),
                  stdout=str(fifos[e + ".out"]), stderr=str(tmp_path / (e + ".err")))
            assert r == {"ok": True, "result": {"exec_id": e}}, r
        held = {str(fifos[n]) for n in ("e1.in", "e1.out", "e2.in", "e2.out")} | {str(e1_err), str(e2_err)}
        assert held <= fd_targets(proc.pid)

        # No writer yet: everything stays running, and uvm run does not spin.
        cpu0 = cpu_seconds(proc.pid)
        time.sleep(4)
        spent = cpu_seconds(proc.pid) - cpu0
        assert spent < 2, f"uvm run used {spent} s of CPU in 4 s while waiting for stdin writers"
        for a in ({}, {"exec_id": "e1"}, {"exec_id": "e2"}):
            assert c("state", **a)["result"]["status"] == "running", a

        # e1: the writer never comes; close_stdin ends its stdin.
        assert c("close_stdin", exec_id="e1") == {"ok": True, "result": {}}
        st = first_stopped(c, proc, proc.pid, [fifos["e1.in"], fifos["e1.out"], e1_err], exec_id="e1")
        assert st == {"status": "stopped", "exit_code": 0}, st
        assert os.read(r1, 100) == b""

        # e2: a late writer writes and closes: the bytes, then EOF.
        with open(fifos["e2.in"], "wb") as w:
            w.write(b"exec bytes\n")
        st = first_stopped(c, proc, proc.pid, [fifos["e2.in"], fifos["e2.out"], e2_err], exec_id="e2")
        assert st == {"status": "stopped", "exit_code": 0}, st
        assert os.read(r2, 100) == b"exec bytes\n"
        p = select.poll()
        p.register(r2, select.POLLIN)
        assert p.poll(0) == [(r2, select.POLLHUP)]  # no writer left: the reader's end
        assert os.read(r2, 100) == b""

        # The init: the same with a late writer of --stdin.
        with open(fifos["in"], "wb") as w:
            w.write(b"late bytes\n")
        st = first_stopped(c, proc, proc.pid, [fifos["in"], out])
        assert st == {"status": "stopped", "exit_code": 0}, st
        assert out.read_bytes() == b"late bytes\n"

        assert c("shutdown") == {"ok": True, "result": {}}
        rc = proc.wait(120)
        err = proc.stderr.read().decode()
        assert rc == 0, err
        assert f"uvm run: control socket {ctl_path}" in err
    finally:
        for fd in readers:
            os.close(fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert os.listdir(tmp) == [] and processes_naming(str(tmp)) == []


def test_regular_file_as_stdin(sample, tmp_path):
    """--stdin FILE (a regular file): its contents, then EOF: cat exits 0."""
    data = b"".join(b"line %d of a regular file\n" % i for i in range(5000))  # more than one 64 KiB chunk
    src = tmp_path / "in.txt"
    src.write_bytes(data)
    p = uvm_run(sample, tmp_path / "t", "--stdin", src, "--", "/bin/cat")
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == data


def test_report_over_the_control_socket(sample, tmp_path):
    """`report` forwards a nonce to the agent's get_report: the report it
    returns verifies with `uvm verify` (test PKI) for HOST_DATA = the
    policy's SHA-256 and REPORT_DATA = SHA-512 of the nonce's context;
    policy_sha256 says the same. Hostile nonces are refused, uvm run lives
    on; `uvm ctl --control` reaches it too."""
    import hashlib
    policy = generated_policy(tmp_path, sample, CONTROL_CONFIG)
    tmp = tmp_path / "t"
    tmp.mkdir()
    ctl_path = tmp_path / "ctl.sock"
    proc = subprocess.Popen([UVM, "run", "--image", str(sample["oci"]), "--layer-cache", str(sample["cache"]),
                             "--policy", str(policy), "--control", str(ctl_path), "--stdout", str(tmp_path / "o")],
                            env=dict(os.environ, TMPDIR=str(tmp)), stderr=subprocess.PIPE)
    try:
        wait_for(lambda: ctl_path.exists(), "the control socket", proc)
        c = Control(ctl_path)
        for bad, what in (({"nonce": "zz"}, "a nonce is 1 to 64 bytes"), ({"nonce": "ab" * 65}, "a nonce is 1 to 64"),
                          ({"nonce": "abc"}, "a nonce is 1 to 64"), ({"nonce": ""}, "a nonce is 1 to 64"),
                          ({}, 'missing required key "nonce"'), ({"nonce": 7}, "nonce"),
                          ({"nonce": "00", "exec_id": "x"}, "exec_id")):
            r = c("report", **bad)
            assert not r["ok"] and what in r["error"], (bad, r)
        policy_sha = hashlib.sha256(policy.read_bytes()).hexdigest()
        for nonce in (os.urandom(64), b"\x01"):
            r = c("report", nonce=nonce.hex())
            assert r["ok"], r
            res = r["result"]
            assert res["policy_sha256"] == policy_sha and res["backend"] == "simulated-psp", res
            want_rd = hashlib.sha512(b"uvm-host-nonce-v1\0" + nonce).hexdigest()
            assert res["report_data"] == want_rd
            path = tmp_path / "report.bin"
            path.write_bytes(base64.b64decode(res["report_base64"]))
            v = sh(UVM, "verify", "--report", path, "--trust-root", "tests/pki/test-ark.pem",
                   "--vcek", "tests/pki/test-vcek.pem", "--chain", "tests/pki/test-ask-ark.pem",
                   "--host-data", policy_sha, "--report-data", want_rd)
            assert v.returncode == 0, v.stdout.decode() + v.stderr.decode()
            # The same report against another nonce's REPORT_DATA or another policy fails.
            other = hashlib.sha512(b"uvm-host-nonce-v1\0" + nonce + b"x").hexdigest()
            for extra in (["--host-data", policy_sha, "--report-data", other],
                          ["--host-data", "00" * 32, "--report-data", want_rd]):
                v = sh(UVM, "verify", "--report", path, "--trust-root", "tests/pki/test-ark.pem",
                       "--vcek", "tests/pki/test-vcek.pem", "--chain", "tests/pki/test-ask-ark.pem", *extra)
                assert v.returncode == 1, v.stdout.decode() + v.stderr.decode()

        # uvm ctl --control: the same op from the command line; errors exit 1.
        nonce = os.urandom(16).hex()
        u = sh(UVM, "ctl", "--control", ctl_path, "report", json.dumps({"nonce": nonce}))
        assert u.returncode == 0, u.stderr
        res = json.loads(u.stdout)["result"]
        assert res["report_data"] == hashlib.sha512(b"uvm-host-nonce-v1\0" + bytes.fromhex(nonce)).hexdigest()
        u = sh(UVM, "ctl", "--control", ctl_path, "report", '{"nonce":"xyz"}')
        assert u.returncode == 1 and b"a nonce is 1 to 64 bytes" in u.stdout, u.stdout + u.stderr
        u = sh(UVM, "ctl", "--control", ctl_path, "state")
        assert u.returncode == 0 and json.loads(u.stdout)["result"]["status"] == "running", u.stdout

        assert c("kill", signal=9)["ok"]
        assert c("shutdown") == {"ok": True, "result": {}}
        assert proc.wait(120) == 137
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert os.listdir(tmp) == [] and processes_naming(str(tmp)) == []


# ---------------------------------------------------------------- two images, one policy, one VM

def test_two_images_one_policy_one_vm(sample, tmp_path):
    """`uvm policy gen --image A --image B`: both containers run side by
    side in one UVM bound to that policy (B: the sample with a third layer
    and another command)."""
    other = tmp_path / "other"
    make_variant(sample["oci"], other)
    policy = tmp_path / "both.json"
    r = sh(UVM, "policy", "gen", "--image", sample["oci"], "--name", "hello", "--image", other, "--name", "bye",
           "-o", policy)
    assert r.returncode == 0, r.stderr
    pol = json.loads(policy.read_text())
    a, b = pol["containers"]
    assert (a["name"], b["name"]) == ("hello", "bye") and b["layers"][:2] == a["layers"]
    r = sh(UVM, "layer", "--image", other, "--out", tmp_path / "layers")
    assert r.returncode == 0, r.stderr
    layers = json.loads((tmp_path / "layers" / "layers.json").read_text())
    assert [l["root_hash"] for l in layers] == b["layers"]
    scratch = tmp_path / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(1 << 30)
    disks = [(f"layer{i}", tmp_path / "layers" / l["path"], "ro") for i, l in enumerate(layers)]
    vm = Vm.launch(tmp_path, policy=policy, disks=disks + [("scratch", scratch)]).start()
    try:
        vm.wait_ready()
        ok(vm.request("set_policy", {"policy_base64": base64.b64encode(policy.read_bytes()).decode()}))
        targets = [ok(vm.request("mount_device", {"serial": f"layer{i}", "root_hash": l["root_hash"]}))["target"]
                   for i, l in enumerate(layers)]
        sc = ok(vm.request("scratch_mount", {"serial": "scratch", "encrypted": True}))["target"]
        for cid, cont, n in (("hello", a, 2), ("bye", b, 3)):
            ok(vm.request("mount_overlay", {"container_id": cid, "layers": targets[:n], "scratch": sc}))
            env = [e["rule"] for e in cont["env"]]
            ok(vm.request("create_container", {
                "container_id": cid, "argv": cont["argv"], "env": env, "working_dir": cont["working_dir"],
                "user": cont["user"], "capabilities": cont["capabilities"], "no_new_privileges": True,
                "stdio": True}))
        for cid in ("hello", "bye"):
            ok(vm.request("start_container", {"container_id": cid}))
        hello = read_stream(vm, {"container_id": "hello", "stream": "stdout"})
        bye = read_stream(vm, {"container_id": "bye", "stream": "stdout"})
        assert hello.startswith(b"hello from a container on verity layers")
        assert bye == b"bye from the second image\n"
        ok(vm.request("shutdown"))
        assert vm.wait_exit() == 0
    finally:
        vm.kill()


def make_variant(src, dst):
    """A copy of the OCI layout src with a third layer (/app/bye.sh) and
    Cmd ["/app/bye.sh"]."""
    import hashlib
    import io
    import tarfile
    shutil.copytree(src, dst)
    blobs = dst / "blobs" / "sha256"

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        (blobs / h).write_bytes(data)
        return "sha256:" + h, len(data)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        body = b"echo bye from the second image\n"
        ti = tarfile.TarInfo("app/bye.sh")
        ti.size, ti.mode, ti.mtime = len(body), 0o755, 1700000000
        tf.addfile(ti, io.BytesIO(body))
    layer = buf.getvalue()
    index = json.loads((dst / "index.json").read_text())
    man = json.loads((blobs / index["manifests"][0]["digest"][7:]).read_text())
    cfg = json.loads((blobs / man["config"]["digest"][7:]).read_text())
    ld, ls = put(layer)
    cfg["config"]["Cmd"] = ["/app/bye.sh"]
    cfg["rootfs"]["diff_ids"].append(ld)
    cd, cs = put(json.dumps(cfg).encode())
    man["config"].update(digest=cd, size=cs)
    man["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls})
    md, ms = put(json.dumps(man).encode())
    index["manifests"][0].update(digest=md, size=ms)
    (dst / "index.json").write_text(json.dumps(index))
