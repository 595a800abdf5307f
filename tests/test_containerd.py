"""containerd -> containerd-shim-uvm-v2 -> `uvm run --control` -> a real UVM
(the test flavour under TCG), as an operator runs it with `ctr`.

The test starts Debian's containerd itself, with its own root, state
directory and socket under a fresh /tmp directory (never the machine's
containerd), importing the repository's containerd configuration
(tools/containerd-shim-uvm-v2/containerd.toml), and the shim on its PATH.
The sample image (tools/demo/sample-image.sh) is imported with `ctr image
import`; its policy comes from `uvm policy gen` and travels as the
io.uvm.policy annotation.

The shim's own logic against a fake `uvm run` is its Go tests (make
shim-test), run first."""
import base64
import glob
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "out")
SHIM = os.path.join(OUT, "bin", "containerd-shim-uvm-v2")
UVM = os.path.join(OUT, "bin", "uvm")
IMAGE_TEST = os.path.join(OUT, "image-test")
CONTAINERD_TOML = os.path.join(REPO, "tools", "containerd-shim-uvm-v2", "containerd.toml")
RUNTIME = "io.containerd.uvm.v2"
IMAGE = "docker.io/uvm/sample:latest"
NS = "uvmtest"
TIMEOUT = float(os.environ.get("UVM_BOOT_TIMEOUT", "180")) * 2

SLEEP = ["/bin/sleep", "1000"]


def test_shim_go_tests():
    """Proves: the task service's Go tests pass (make shim-test: create,
    start, wait, kill, exec denied, pids, stats, delete against a fake
    `uvm run --control`)."""
    r = subprocess.run(["make", "-s", "shim-test"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "ok  \tuvm/containerd-shim-uvm-v2" in r.stdout, r.stdout


class Containerd:
    """A containerd of the test's own and `ctr` bound to it."""

    def __init__(self, base):
        self.base = base
        self.root = os.path.join(base, "root")
        self.state = os.path.join(base, "state")
        self.sock = os.path.join(base, "containerd.sock")
        self.run_dir = os.path.join(base, "run")
        self.cache = os.path.join(base, "layers")
        self.fifo = os.path.join(base, "fifo")  # ctr's stdio FIFOs (default /run/containerd/fifo)
        self.content = os.path.join(self.root, "io.containerd.content.v1.content")
        self.config = os.path.join(base, "containerd.toml")
        self.shim_config = os.path.join(base, "uvm-shim.toml")
        with open(self.config, "w") as f:
            f.write(f"""version = 2
root = "{self.root}"
state = "{self.state}"
imports = ["{CONTAINERD_TOML}"]
# no Kubernetes here: the CRI plugin (and its network and streaming server) stays off
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.sock}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
""")
        with open(self.shim_config, "w") as f:
            f.write(f"""uvm = "{UVM}"
launch_args = ["--image={IMAGE_TEST}"]
layer_cache = "{self.cache}"
run_dir = "{self.run_dir}"
content_dir = "{self.content}"
create_timeout = "{int(TIMEOUT)}s"
""")
        self.env = dict(os.environ, PATH=os.path.join(OUT, "bin") + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                        CONTAINERD_SNAPSHOTTER="native")
        self.log = open(os.path.join(base, "containerd.log"), "wb")
        self.proc = subprocess.Popen(["containerd", "--config", self.config], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 30
        while subprocess.run(["ctr", "-a", self.sock, "version"], capture_output=True).returncode != 0:
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log_tail()
            time.sleep(0.1)

    def log_tail(self, n=4000):
        with open(os.path.join(self.base, "containerd.log"), "rb") as f:
            return f.read()[-n:].decode("utf-8", "replace")

    def ctr(self, *args, timeout=TIMEOUT, check=True):
        r = subprocess.run(["ctr", "-a", self.sock, "-n", NS, *args], capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, env=self.env, timeout=timeout)
        if check:
            assert r.returncode == 0, f"ctr {' '.join(args)[:200]}: {r.returncode}\n{r.stdout}\n{r.stderr}\n" \
                                      f"containerd log:\n{self.log_tail()}"
        return r

    def run(self, cid, *args, policy=None, extra=(), timeout=TIMEOUT):
        ann = [] if policy is None else ["--annotation", f"io.uvm.policy={policy}"]
        return self.ctr("run", "--fifo-dir", self.fifo, "--runtime", RUNTIME, "--runtime-config-path",
                        self.shim_config, *ann, *extra,
                        IMAGE, cid, *args, timeout=timeout, check=False)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def sample_tar(base):
    """The sample OCI layout as the archive `ctr image import` takes, its
    manifest named IMAGE (the io.containerd.image.name annotation)."""
    subprocess.run(["bash", os.path.join(REPO, "tools", "demo", "sample-image.sh"), base], check=True,
                   capture_output=True)
    oci = os.path.join(base, "oci")
    with open(os.path.join(oci, "index.json")) as f:
        index = json.load(f)
    index["manifests"][0]["annotations"] = {"io.containerd.image.name": IMAGE,
                                            "org.opencontainers.image.ref.name": "latest"}
    with open(os.path.join(oci, "index.json"), "w") as f:
        json.dump(index, f)
    tar = os.path.join(base, "sample.tar")
    with tarfile.open(tar, "w") as t:
        for name in sorted(os.listdir(oci)):
            t.add(os.path.join(oci, name), arcname=name)
    return oci, tar


def policy_b64(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def uvm_processes(base, containerd=None):
    """pids of processes (uvm run, QEMU, shims) whose command line names the
    test's directory, other than its containerd."""
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(os.path.join(d, "cmdline"), "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if int(os.path.basename(d)) == containerd:
            continue
        if base.encode() in cmd or b"containerd-shim-uvm-v2" in cmd and b"-namespace\0" + NS.encode() in cmd:
            pids.append(int(os.path.basename(d)))
    return pids


def shim_sockets(c):
    """The shim sockets containerd's shim library made for this containerd
    (/run/containerd/s/SHA256(address/ns/id)), found by trying the ids used."""
    import hashlib
    found = []
    for cid in c.ids:
        h = hashlib.sha256(os.path.join(c.sock, NS, cid).encode()).hexdigest()
        if os.path.exists(f"/run/containerd/s/{h}"):
            found.append((cid, h))
    return found


@pytest.fixture(scope="module")
def env():
    for path in (SHIM, UVM, os.path.join(IMAGE_TEST, "bzImage")):
        assert os.path.exists(path), f"{path} is missing: run make (make host image-test)"
    assert shutil.which("containerd") and shutil.which("ctr"), "containerd is missing: make deps installs it"
    base = tempfile.mkdtemp(prefix="uvmctr.", dir="/tmp")  # short: unix socket paths
    c = Containerd(base)
    c.ids = []
    try:
        oci, tar = sample_tar(base)
        c.ctr("image", "import", tar)
        assert IMAGE in c.ctr("image", "ls", "-q").stdout
        c.policy = os.path.join(base, "policy.json")
        subprocess.run([UVM, "policy", "gen", "--image", oci, "-o", c.policy], check=True, capture_output=True)
        yield c
    finally:
        c.stop()
        leftovers = uvm_processes(base)
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)
        stale = shim_sockets(c)  # a killed shim leaves its socket in /run/containerd/s
        for _, h in stale:
            os.unlink(f"/run/containerd/s/{h}")
        shutil.rmtree(base, ignore_errors=True)
        assert not leftovers and not stale, f"left after containerd stopped: processes {leftovers}, sockets {stale}"


def test_repository_config_is_containerds(env):
    """Proves: containerd takes the repository's containerd.toml: its merged
    configuration has the uvm runtime with the shim's type, the annotations
    passed through and the shim's ConfigPath."""
    dump = os.path.join(env.base, "dump.toml")  # as env.config, with the CRI plugin (only dumped, not run)
    with open(dump, "w") as f:
        f.write(f'version = 2\nroot = "{env.root}"\nstate = "{env.state}"\nimports = ["{CONTAINERD_TOML}"]\n')
    r = subprocess.run(["containerd", "--config", dump, "config", "dump"], capture_output=True, text=True,
                       env=env.env, timeout=60)
    assert r.returncode == 0, r.stderr
    section = r.stdout.split('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.uvm]', 1)
    assert len(section) == 2, r.stdout
    body = section[1]
    assert 'runtime_type = "io.containerd.uvm.v2"' in body
    assert 'pod_annotations = ["io.uvm.policy", "io.uvm.container"]' in body
    assert 'ConfigPath = "/etc/uvm/containerd-shim-uvm-v2.toml"' in body


def test_ctr_run_shows_output_and_exit_code(env):
    """Proves: `ctr run --runtime io.containerd.uvm.v2` with the policy
    annotation runs the image's container in a UVM: its stdout reaches ctr
    through containerd's FIFOs, and ctr exits with the container's status."""
    env.ids.append("hello")
    r = env.run("hello", policy=policy_b64(env.policy), extra=["--rm"])
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{env.log_tail()}"
    assert "hello from a container on verity layers: uid=1000 cwd=/app" in r.stdout, r.stdout + r.stderr
    assert "GREETING=hello" in r.stdout


def long_running_policy(env, execs=()):
    """The generated policy with SLEEP as the argv (so the container runs
    until killed) and execs as the only exec_processes; its base64."""
    with open(env.policy) as f:
        p = json.load(f)
    p["containers"][0]["argv"] = SLEEP
    p["containers"][0]["exec_processes"] = [{"argv": list(a), "signals": []} for a in execs]
    return base64.b64encode(json.dumps(p, sort_keys=True).encode()).decode()


def test_exit_status_reaches_ctr(env):
    """Proves: a container's non-zero exit status is ctr's exit status (the
    task's Wait and exit event carry it)."""
    with open(env.policy) as f:
        p = json.load(f)
    p["containers"][0]["argv"] = ["/bin/sh", "-c", "echo bye; exit 7"]
    env.ids.append("exit7")
    r = env.run("exit7", "/bin/sh", "-c", "echo bye; exit 7",
                policy=base64.b64encode(json.dumps(p).encode()).decode(), extra=["--rm"])
    assert r.returncode == 7 and r.stdout == "bye\n", f"{r.returncode} {r.stdout!r} {r.stderr}"


def test_missing_policy_is_refused_with_the_reason(env):
    """Proves: without the io.uvm.policy annotation the shim refuses to start
    the sandbox, says why through containerd's error, and starts nothing."""
    env.ids.append("nopolicy")
    r = env.run("nopolicy", extra=["--rm"])
    assert r.returncode != 0, r.stdout
    assert "without a policy" in r.stderr and "io.uvm.policy" in r.stderr, r.stderr
    env.ctr("container", "delete", "nopolicy", check=False)
    assert not os.path.exists(env.run_dir) or not os.listdir(env.run_dir), os.listdir(env.run_dir)
    deadline = time.monotonic() + 10  # the refused sandbox's shim goes too
    while uvm_processes(env.base, env.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not uvm_processes(env.base, env.proc.pid)
    assert not shim_sockets(env), shim_sockets(env)


def wait_status(env, cid, status, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        line = [l for l in env.ctr("task", "ls").stdout.splitlines() if l.startswith(cid + " ")]
        if line and line[0].split()[-1] == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"task {cid} never {status}: {env.ctr('task', 'ls').stdout}")


def test_exec_kill_and_delete_leave_nothing(env):
    """Proves: in a detached sandbox, an exec the policy does not allow fails
    with the policy's reason through containerd's error; ctr task ps lists
    the sandbox's pids; kill stops the container; delete leaves no uvm run,
    QEMU or shim process, no disk, no sandbox directory and no socket."""
    env.ids.append("sleeper")
    r = env.run("sleeper", *SLEEP, policy=long_running_policy(env, [["/bin/echo", "hi"]]), extra=["-d"])
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{env.log_tail()}"
    wait_status(env, "sleeper", "RUNNING")
    [sandbox] = os.listdir(env.run_dir)
    assert os.path.exists(os.path.join(env.run_dir, sandbox, "control.sock"))
    qemu = [p for p in uvm_processes(env.base, env.proc.pid) if b"qemu" in open(f"/proc/{p}/cmdline", "rb").read()]
    assert len(qemu) == 1, qemu

    r = env.ctr("task", "exec", "--fifo-dir", env.fifo, "--exec-id", "ls", "sleeper", "/bin/ls", "/", check=False)
    assert r.returncode != 0, r.stdout
    assert "argv is none of the container's exec_processes" in r.stderr and "denied by policy" in r.stderr, r.stderr
    ps = env.ctr("task", "ps", "sleeper").stdout
    assert len(ps.splitlines()) >= 2, ps

    env.ctr("task", "kill", "-s", "SIGKILL", "sleeper")
    wait_status(env, "sleeper", "STOPPED")
    env.ctr("task", "delete", "sleeper")
    env.ctr("container", "delete", "sleeper")
    for pid in qemu:
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.1)
    left = uvm_processes(env.base, env.proc.pid)
    assert not left, [open(f"/proc/{p}/cmdline", "rb").read() for p in left]
    assert not os.listdir(env.run_dir), os.listdir(env.run_dir)
    assert not shim_sockets(env), shim_sockets(env)


def test_allowed_exec_output_reaches_ctr(env):
    """Proves: an exec the policy allows runs in the sandbox, its output
    reaches ctr through containerd's FIFOs and ctr exits with its status."""
    env.ids.append("execer")
    r = env.run("execer", *SLEEP, policy=long_running_policy(env, [["/bin/echo", "hi"]]), extra=["-d"])
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{env.log_tail()}"
    try:
        wait_status(env, "execer", "RUNNING")
        r = env.ctr("task", "exec", "--fifo-dir", env.fifo, "--exec-id", "echo", "execer", "/bin/echo", "hi",
                    timeout=30)
        assert r.stdout == "hi\n", r.stdout + r.stderr
    finally:
        env.ctr("task", "kill", "-s", "SIGKILL", "execer", check=False)
        wait_status(env, "execer", "STOPPED")
        env.ctr("task", "delete", "execer")
        env.ctr("container", "delete", "execer")


def test_stdin_reaches_the_container_and_ends(env):
    """Proves: what is piped into `ctr run` is the container's stdin, and
    its end is the container's EOF (cat exits)."""
    with open(env.policy) as f:
        p = json.load(f)
    p["containers"][0]["argv"] = ["/bin/cat"]
    env.ids.append("cat")
    ann = base64.b64encode(json.dumps(p).encode()).decode()
    try:
        r = subprocess.run(["ctr", "-a", env.sock, "-n", NS, "run", "--rm", "--fifo-dir", env.fifo, "--runtime",
                            RUNTIME, "--runtime-config-path", env.shim_config, "--annotation", f"io.uvm.policy={ann}",
                            IMAGE, "cat", "/bin/cat"], input="hello stdin\n", capture_output=True, text=True,
                           env=env.env, timeout=30)
        assert r.returncode == 0 and r.stdout == "hello stdin\n", f"{r.returncode} {r.stdout!r} {r.stderr}"
    except subprocess.TimeoutExpired:
        env.ctr("task", "kill", "-s", "SIGKILL", "cat", check=False)
        wait_status(env, "cat", "STOPPED")
        env.ctr("task", "delete", "cat")
        env.ctr("container", "delete", "cat")
        raise


def doc_block(title):
    """The first ```sh block after the heading `title` in docs/kubernetes.md."""
    with open(os.path.join(REPO, "docs", "kubernetes.md")) as f:
        text = f.read()
    section = text.split(title, 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def test_operator_verifies_a_running_sandbox(env):
    """Proves: the steps of docs/kubernetes.md "Verifying a running sandbox",
    run as written on a sandbox of this containerd (only run_dir is the
    test's), get a fresh report through `uvm ctl --control` whose HOST_DATA
    is the operator's `uvm policy hash` and whose REPORT_DATA is the nonce's:
    `uvm verify` accepts it (with the test PKI instead of AMD's, without
    --measurement); another policy's hash or another nonce is refused."""
    env.ids.append("verified")
    ann = long_running_policy(env)
    r = env.run("verified", *SLEEP, policy=ann, extra=["-d"])
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{env.log_tail()}"
    work = tempfile.mkdtemp(prefix="verify.", dir=env.base)
    try:
        wait_status(env, "verified", "RUNNING")
        with open(os.path.join(work, "policy.json"), "wb") as f:
            f.write(base64.b64decode(ann))  # the operator's copy of the annotation's policy
        block = doc_block("## Verifying a running sandbox")
        steps = block.split("uvm verify ", 1)[0].replace("/run/uvm-shim/", env.run_dir + "/")
        assert "uvm ctl --control" in steps and "report_data=" in steps, block
        pki = ["--trust-root", "tests/pki/test-ark.pem", "--vcek", "tests/pki/test-vcek.pem",
               "--chain", "tests/pki/test-ask-ark.pem"]
        script = steps + 'echo "nonce=$nonce"\necho "report_data=$report_data"\n' \
            f'uvm verify --report report.bin {" ".join(os.path.join(REPO, a) if a.startswith("tests/") else a for a in pki)} ' \
            '--host-data "$(uvm policy hash policy.json)" --report-data "$report_data"\n'
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, capture_output=True, text=True,
                           env=dict(env.env, NS=NS, ID="verified"), timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "report_data=" in r.stdout
        answer = json.load(open(os.path.join(work, "answer.json")))["result"]
        nonce = r.stdout.split("nonce=", 1)[1].split()[0]
        import hashlib
        assert answer["policy_sha256"] == hashlib.sha256(base64.b64decode(ann)).hexdigest()
        assert answer["report_data"] == hashlib.sha512(b"uvm-host-nonce-v1\0" + bytes.fromhex(nonce)).hexdigest()
        # The same report does not pass for another policy or another nonce.
        rd = answer["report_data"]
        for bad in (["--host-data", "11" * 32, "--report-data", rd],
                    ["--policy", env.policy, "--report-data", rd],
                    ["--host-data", answer["policy_sha256"], "--report-data", "22" * 64]):
            v = subprocess.run([UVM, "verify", "--report", os.path.join(work, "report.bin"),
                                *[os.path.join(REPO, a) if a.startswith("tests/") else a for a in pki], *bad],
                               capture_output=True, text=True, timeout=60)
            assert v.returncode == 1, (bad, v.stdout, v.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        env.ctr("task", "kill", "-s", "SIGKILL", "verified", check=False)
        wait_status(env, "verified", "STOPPED")
        env.ctr("task", "delete", "verified")
        env.ctr("container", "delete", "verified")


def snapshot(env):
    """What a sandbox could leak: containerd's open fds, processes naming the
    test's directory, files under the shim's run_dir and containerd's state
    directory, shim sockets."""
    fds = len(os.listdir(f"/proc/{env.proc.pid}/fd"))
    files = []
    for top in (env.run_dir, env.state):
        for d, dirs, names in os.walk(top):
            files += [os.path.join(d, n) for n in names + dirs]
    return {"fds": fds, "procs": uvm_processes(env.base, env.proc.pid), "files": sorted(files), "sockets": shim_sockets(env)}


def settled_snapshot(env, quiet=1.0, deadline=20.0):
    """snapshot once containerd's fd count has not changed for `quiet` s:
    it closes an exited shim's connection a moment after the shim is gone."""
    end = time.monotonic() + deadline
    last, since = snapshot(env), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.2)
        now = snapshot(env)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def cache_state(env):
    return sorted((p, os.stat(p).st_mtime_ns, os.stat(p).st_ino)
                  for p in glob.glob(os.path.join(env.cache, "*", "*")))


def test_ten_sandboxes_in_a_row_leak_nothing(env):
    """Proves: 10 `ctr run --rm` sandboxes one after the other each print the
    container's output and exit 0, and afterwards containerd holds no more
    fds, and no process, file or socket of theirs is left; the layer cache is
    untouched by them (a container of an image already converted converts
    nothing)."""
    env.ids.append("warm")
    r = env.run("warm", policy=policy_b64(env.policy), extra=["--rm"])
    assert r.returncode == 0, r.stderr
    before, cache = settled_snapshot(env), cache_state(env)
    assert cache, "the layer cache is empty"
    for i in range(10):
        cid = f"row{i}"
        env.ids.append(cid)
        r = env.run(cid, policy=policy_b64(env.policy), extra=["--rm"])
        assert r.returncode == 0 and "GREETING=hello" in r.stdout, f"run {i}: {r.stdout}\n{r.stderr}"
    after = settled_snapshot(env)
    assert after == before, f"before: {before}\nafter: {after}"
    assert cache_state(env) == cache
