"""A Kubernetes pod as the CRI plugin runs it, driven by hand with `ctr`:
the pod's sandbox (pause) container and its app containers carry the CRI
annotations io.kubernetes.cri.container-type and io.kubernetes.cri.sandbox-id,
given here with `ctr run --annotation`. The containerd, the image and the
policy are test_containerd.py's (its `env` fixture: a containerd of the
test's own under /tmp, the sample image, its generated policy).

What the shim does with a pod: docs/kubernetes.md "Pods"."""
import base64
import json
import os
import signal
import subprocess
import time

from test_containerd import (IMAGE, NS, RUNTIME, SLEEP, TIMEOUT, env, long_running_policy,  # noqa: F401 (env)
                             shim_sockets, uvm_processes, wait_status)

POD = "pod1"


def cri(kind, pod=POD):
    return ["--annotation", f"io.kubernetes.cri.container-type={kind}",
            "--annotation", f"io.kubernetes.cri.sandbox-id={pod}"]


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def pod_shims(env, pod=POD):
    """Shim server processes of this containerd whose argv names the pod."""
    return [p for p in uvm_processes(env.base, env.proc.pid)
            if b"containerd-shim-uvm-v2" in cmdline(p) and b"\0-id\0" + pod.encode() + b"\0" in cmdline(p)
            and b"\0start" not in cmdline(p)]


def named(env, what):
    return [p for p in uvm_processes(env.base, env.proc.pid) if what in cmdline(p)]


def task_pid(env, cid):
    for line in env.ctr("task", "ls").stdout.splitlines():
        if line.startswith(cid + " "):
            return int(line.split()[1])
    raise AssertionError(f"no task {cid}: {env.ctr('task', 'ls').stdout}")


def ctr_run(env, cid, *args, extra=(), timeout=TIMEOUT):
    return env.ctr("run", "--fifo-dir", env.fifo, "--runtime", RUNTIME, "--runtime-config-path", env.shim_config,
                   *extra, IMAGE, cid, *args, timeout=timeout, check=False)


def exit7_policy(env):
    with open(env.policy) as f:
        p = json.load(f)
    p["containers"][0]["argv"] = ["/bin/sh", "-c", "echo bye; exit 7"]
    return base64.b64encode(json.dumps(p).encode()).decode()


def test_pod_in_one_shim(env):
    """Proves: a pod's sandbox container needs no policy and starts no UVM;
    the pod's app containers are served by the same shim process, the first
    one in a UVM of its own launched by that shim (`uvm run` is its child);
    a second app container while one exists is refused with the reason and
    starts nothing; the app's output and exit status reach ctr; the sandbox
    container runs until killed, and ctr's wait on it then returns 128+9;
    once the pod's tasks are deleted no process, socket, sandbox directory or
    bundle is left."""
    env.ids += [POD, "app1", "app2", "app3"]
    # the sandbox container, attached (ctr waits on it) and with no stdio, as CRI's
    pause = subprocess.Popen(["ctr", "-a", env.sock, "-n", NS, "run", "--rm", "--null-io", "--runtime", RUNTIME,
                              "--runtime-config-path", env.shim_config, *cri("sandbox"), IMAGE, POD],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env.env)
    try:
        wait_status(env, POD, "RUNNING")

        def procs():  # but the attached ctr
            return [p for p in uvm_processes(env.base, env.proc.pid) if p != pause.pid]

        [shim] = pod_shims(env)
        assert procs() == [shim], [cmdline(p) for p in procs()]
        assert not os.path.exists(env.run_dir) or not os.listdir(env.run_dir), os.listdir(env.run_dir)
        assert task_pid(env, POD) == shim  # the pause's pid is the shim's: it runs nothing else

        # the pod's app container: its own UVM, launched by the pod's shim
        r = ctr_run(env, "app1", *SLEEP, extra=["-d", *cri("container"), "--annotation",
                                                f"io.uvm.policy={long_running_policy(env)}"])
        assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{env.log_tail()}"
        wait_status(env, "app1", "RUNNING")
        assert pod_shims(env) == [shim], [cmdline(p) for p in procs()]
        [run] = named(env, b"/uvm\0run\0")
        assert ppid(run) == shim, "uvm run is not the pod's shim's child"
        qemu = named(env, b"qemu")
        assert len(qemu) == 1, qemu
        assert len(os.listdir(env.run_dir)) == 1, os.listdir(env.run_dir)

        # a second app container in the pod: refused, nothing started
        r = ctr_run(env, "app2", extra=["--rm", *cri("container"), "--annotation",
                                        f"io.uvm.policy={long_running_policy(env)}"])
        assert r.returncode != 0, r.stdout
        assert "one workload container" in r.stderr and "app1" in r.stderr and "uvm run runs one container per UVM" \
            in r.stderr, r.stderr
        env.ctr("container", "delete", "app2", check=False)
        assert pod_shims(env) == [shim] and named(env, b"qemu") == qemu
        assert len(os.listdir(env.run_dir)) == 1, os.listdir(env.run_dir)
        wait_status(env, "app1", "RUNNING")

        # the app container ends; its UVM goes, the pod stays
        env.ctr("task", "kill", "-s", "SIGKILL", "app1")
        wait_status(env, "app1", "STOPPED")
        env.ctr("task", "delete", "app1")
        env.ctr("container", "delete", "app1")
        for pid in qemu:
            deadline = time.monotonic() + 10
            while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
                time.sleep(0.1)
        assert procs() == [shim], [cmdline(p) for p in procs()]
        assert not os.listdir(env.run_dir), os.listdir(env.run_dir)
        wait_status(env, POD, "RUNNING")

        # the pod's next app container: output and exit status reach ctr, in the same shim
        r = ctr_run(env, "app3", "/bin/sh", "-c", "echo bye; exit 7",
                    extra=["--rm", *cri("container"), "--annotation", f"io.uvm.policy={exit7_policy(env)}"])
        assert r.returncode == 7 and r.stdout == "bye\n", f"{r.returncode} {r.stdout!r} {r.stderr}"
        assert pod_shims(env) == [shim]

        # the sandbox container: killed, ctr's wait returns 137, ctr deletes it, the shim goes
        env.ctr("task", "kill", "-s", "SIGKILL", POD)
        out, err = pause.communicate(timeout=60)
        assert pause.returncode == 137, f"{pause.returncode} {out} {err}"
    finally:
        if pause.poll() is None:
            env.ctr("task", "kill", "-s", "SIGKILL", POD, check=False)
            try:
                pause.wait(30)
            except subprocess.TimeoutExpired:
                pause.send_signal(signal.SIGKILL)
                pause.wait()
    deadline = time.monotonic() + 10
    while uvm_processes(env.base, env.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = uvm_processes(env.base, env.proc.pid)
    assert not left, [cmdline(p) for p in left]
    assert not os.listdir(env.run_dir), os.listdir(env.run_dir)
    assert not shim_sockets(env), shim_sockets(env)
    bundles = os.path.join(env.state, "io.containerd.runtime.v2.task", NS)
    assert not os.path.exists(bundles) or not os.listdir(bundles), os.listdir(bundles)
    assert not env.ctr("container", "ls", "-q").stdout.strip()


def test_app_container_without_its_pod_is_refused(env):
    """Proves: an app container whose pod has no shim (no sandbox container)
    is refused with the reason, and nothing is started."""
    env.ids += ["orphan", "nopod"]
    r = ctr_run(env, "orphan", extra=["--rm", *cri("container", "nopod"), "--annotation",
                                      f"io.uvm.policy={long_running_policy(env)}"])
    assert r.returncode != 0, r.stdout
    assert "pod nopod has no shim" in r.stderr and "sandbox container" in r.stderr, r.stderr
    env.ctr("container", "delete", "orphan", check=False)
    assert not uvm_processes(env.base, env.proc.pid)
    assert not shim_sockets(env)
