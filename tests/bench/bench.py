#!/usr/bin/python3
"""make bench: run every benchmark, print each figure, write out/bench.json.

Never pass/fail. These machines are noisy, so every time is reported next to
a baseline measured in the same run (a ratio), and boot phases come from the
guest's own CLOCK_BOOTTIME stamps ("uvm-init: timestamp NAME SECONDS").

Sub-benchmarks are the tests/bench/bench_*.sh scripts (each prints one JSON
object) plus the boot benchmark here."""
import base64
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests"))
os.chdir(REPO)

from uvmvm import Vm  # noqa: E402

BOOT_RUNS = int(os.environ.get("BENCH_BOOT_RUNS", "5"))
POLICY = json.dumps({"version": "1", "containers": []}, sort_keys=True).encode()


def stamps(console):
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"uvm-init: timestamp (\w+) (\d+\.\d+)", console)}


def boot_once(tmp):
    policy = os.path.join(tmp, "policy.json")
    with open(policy, "wb") as f:
        f.write(POLICY)
    vm = Vm.launch(tmp, policy=policy).start()
    try:
        host_ready = vm.wait_ready()
        resp = vm.request("set_policy", {"policy_base64": base64.b64encode(POLICY).decode()})
        assert resp["ok"], resp
        vm.wait_console(r"timestamp policy_bound")
        status = vm.request("status")["result"]
        vm.request("shutdown")
        vm.wait_exit()
        s = stamps(vm.console)
        return {"host_start_to_ready_s": host_ready, "kernel_to_init_s": s["init_start"],
                "init_to_agent_ready_s": s["agent_ready"] - s["init_start"],
                "agent_ready_to_policy_bound_s": s["policy_bound"] - s["agent_ready"],
                "init_share_of_boot_to_ready": (s["agent_ready"] - s["init_start"]) / s["agent_ready"],
                "status": status}
    finally:
        vm.kill()


def bench_boot():
    runs = []
    for _ in range(BOOT_RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(boot_once(tmp))
    keys = [k for k in runs[0] if k.endswith("_s") or k.endswith("_ready")]
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    out["runs"] = BOOT_RUNS
    out["note"] = "TCG (no KVM here); medians of guest CLOCK_BOOTTIME stamps"
    out["pid1_vmrss_kib_after_binding"] = statistics.median(r["status"]["vmrss_kib"] for r in runs)
    return out


START_RUNS = int(os.environ.get("BENCH_START_RUNS", "10"))


def prepare_sample(tmp):
    """The demo's sample image, layers and generated policy (same tools)."""
    subprocess.run(["bash", "tools/demo/sample-image.sh", tmp], check=True, capture_output=True)
    subprocess.run(["out/bin/uvm", "layer", "--image", f"{tmp}/oci", "--out", f"{tmp}/layers"],
                   check=True, capture_output=True)
    subprocess.run(["out/bin/uvm", "policy", "gen", "--image", f"{tmp}/oci", "--layers",
                    f"{tmp}/layers/layers.json", "-o", f"{tmp}/policy.json"], check=True, capture_output=True)
    with open(f"{tmp}/layers/layers.json") as f:
        layers = json.load(f)
    with open(f"{tmp}/policy.json") as f:
        policy = json.load(f)
    return layers, policy


def ok(vm, op, args=None):
    resp = vm.request(op, args)
    assert resp["ok"], (op, resp)
    return resp["result"]


def bench_container_start():
    """Container start latency (create_container + start_container as the
    host sees it) and the policy engine's share of it, measured in the same
    runs from the agent's own accounting of time spent deciding."""
    import time
    with tempfile.TemporaryDirectory() as tmp:
        layers, policy = prepare_sample(tmp)
        disks = [(f"layer{i}", f"{tmp}/layers/{l['path']}", "ro") for i, l in enumerate(layers)]
        with open(f"{tmp}/scratch.img", "wb") as f:
            f.truncate(64 << 20)
        disks.append(("scratch", f"{tmp}/scratch.img"))
        vm = Vm.launch(tmp, policy=f"{tmp}/policy.json", disks=disks).start()
        try:
            vm.wait_ready()
            with open(f"{tmp}/policy.json", "rb") as f:
                ok(vm, "set_policy", {"policy_base64": base64.b64encode(f.read()).decode()})
            targets = [ok(vm, "mount_device", {"serial": f"layer{i}", "root_hash": l["root_hash"]})["target"]
                       for i, l in enumerate(layers)]
            scratch = ok(vm, "scratch_mount", {"serial": "scratch", "encrypted": True})["target"]
            c = policy["containers"][0]
            starts, decide = [], []
            for i in range(START_RUNS):
                cid = f"b{i}"
                ok(vm, "mount_overlay", {"container_id": cid, "layers": targets, "scratch": scratch})
                before = ok(vm, "status")["policy_decide_ns"]
                t0 = time.monotonic()
                ok(vm, "create_container", {"container_id": cid, "argv": c["argv"],
                                            "env": [e["rule"] for e in c["env"]], "working_dir": c["working_dir"],
                                            "user": c["user"], "capabilities": c["capabilities"],
                                            "no_new_privileges": c["no_new_privileges"]})
                ok(vm, "start_container", {"container_id": cid})
                starts.append(time.monotonic() - t0)
                decide.append((ok(vm, "status")["policy_decide_ns"] - before) / 1e9)
                while ok(vm, "wait_process", {"container_id": cid})["state"] != "exited":
                    time.sleep(0.05)
                ok(vm, "shutdown_container", {"container_id": cid})
                ok(vm, "unmount_overlay", {"target": f"/run/containers/{cid}/rootfs"})
            ok(vm, "shutdown")
            vm.wait_exit()
            t = stamps(vm.console)
        finally:
            vm.kill()
    phases = {"kernel_start_to_init_s": t["init_start"],
              "init_to_policy_bound_s": t["policy_bound"] - t["init_start"],
              "policy_bound_to_layers_mounted_s": t["layer_mounted"] - t["policy_bound"],
              "layers_mounted_to_first_container_running_s": t["first_container_started"] - t["layer_mounted"],
              "boot_to_agent_ready_s": t["agent_ready"],
              "boot_to_first_container_running_s": t["first_container_started"],
              "first_container_over_agent_ready": t["first_container_started"] / t["agent_ready"],
              "note": "one run, host-driven as fast as uvm ctl-like requests go; includes scratch setup "
                      "(64 MiB) and the first writable layer's format"}
    start = statistics.median(starts)
    engine = statistics.median(decide)
    return {"runs": START_RUNS, "boot_phases": phases, "container_start_median_s": start, "policy_engine_median_s": engine,
            "policy_engine_share_of_start": engine / start,
            "note": "TCG; engine time measured inside PID 1 around each decision of the same requests"}


SCRATCH_SIZES = [("64mib", 64 << 20), ("1gib", 1 << 30), ("16gib", 16 << 30)]
SCRATCH_RUNS = int(os.environ.get("BENCH_SCRATCH_RUNS", "3"))


def bench_scratch_setup():
    """scratch_mount (encrypted) of sparse disks of 64 MiB, 1 GiB and 16 GiB
    as the host sees it, mounted and unmounted in turn, with a status round
    trip of the same VM as the baseline."""
    import time
    with tempfile.TemporaryDirectory() as tmp:
        disks = []
        for name, size in SCRATCH_SIZES:
            with open(f"{tmp}/{name}.img", "wb") as f:
                f.truncate(size)
            disks.append((f"s{name}", f"{tmp}/{name}.img"))
        policy = os.path.join(tmp, "policy.json")
        with open(policy, "wb") as f:
            f.write(POLICY)
        vm = Vm.launch(tmp, policy=policy, disks=disks).start()
        times = {name: [] for name, _ in SCRATCH_SIZES}
        status = []
        try:
            vm.wait_ready()
            ok(vm, "set_policy", {"policy_base64": base64.b64encode(POLICY).decode()})
            for _ in range(SCRATCH_RUNS):
                for name, _ in SCRATCH_SIZES:
                    t0 = time.monotonic()
                    ok(vm, "status")
                    status.append(time.monotonic() - t0)
                    t0 = time.monotonic()
                    ok(vm, "scratch_mount", {"serial": f"s{name}", "encrypted": True})
                    times[name].append(time.monotonic() - t0)
                    ok(vm, "scratch_unmount", {"target": f"/run/scratch/s{name}"})
            host_bytes = {name: os.stat(f"{tmp}/{name}.img").st_blocks * 512 for name, _ in SCRATCH_SIZES}
            ok(vm, "shutdown")
            vm.wait_exit()
        finally:
            vm.kill()
    out = {f"{name}_s": statistics.median(times[name]) for name, _ in SCRATCH_SIZES}
    base = out["64mib_s"]
    out.update({f"{name}_over_64mib": out[f"{name}_s"] / base for name, _ in SCRATCH_SIZES[1:]})
    out["status_round_trip_s"] = statistics.median(status)
    out["host_bytes_written"] = host_bytes
    out["runs"] = SCRATCH_RUNS
    out["note"] = ("TCG; medians; each scratch_mount makes dm-integrity format the disk and dm-crypt "
                   "map it, nothing is zeroed; host_bytes_written: allocated blocks of each sparse file")
    return out


CTR_RUNS = int(os.environ.get("BENCH_CTR_RUNS", "3"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def first_line(cmd, **kw):
    """Seconds from spawning cmd to its first line of stdout, the line, and
    the process (still running)."""
    import time
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, **kw)
    line = proc.stdout.readline()
    return time.monotonic() - t0, line, proc


def launch_and_ctl_to_first_output(tmp, layers, policy_path, policy):
    """The same container by hand: `uvm launch`, then one `uvm ctl` per
    request (bind, layers, scratch, overlay, create, start), then `uvm ctl
    read_output` until the first bytes: seconds from the launch."""
    import time
    uvm = "out/bin/uvm"
    sock = f"{tmp}/agent.sock"
    with open(f"{tmp}/scratch.img", "wb") as f:
        f.truncate(1 << 30)
    cmd = [uvm, "launch", "--policy", policy_path, "--socket", sock, "--disk", f"scratch={tmp}/scratch.img"]
    for i, l in enumerate(layers):
        cmd += ["--disk", f"layer{i}={tmp}/layers/{l['path']}:ro"]
    t0 = time.monotonic()
    vm = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        for line in iter(vm.stdout.readline, b""):
            if b"uvm-init: ready" in line:
                break
        threading_drain(vm.stdout)

        def ctl(*args):
            r = subprocess.run([uvm, "ctl", "--socket", sock, *args], capture_output=True, text=True)
            assert r.returncode == 0, (args, r.stdout, r.stderr)
            return json.loads(r.stdout)["result"]

        ctl("set_policy", "--policy", policy_path)
        targets = [ctl("mount_device", json.dumps({"serial": f"layer{i}", "root_hash": l["root_hash"]}))["target"]
                   for i, l in enumerate(layers)]
        scratch = ctl("scratch_mount", json.dumps({"serial": "scratch", "encrypted": True}))["target"]
        ctl("mount_overlay", json.dumps({"container_id": "c", "layers": targets, "scratch": scratch}))
        c = policy["containers"][0]
        ctl("create_container", json.dumps({
            "container_id": "c", "argv": c["argv"], "env": [e["rule"] for e in c["env"]],
            "working_dir": c["working_dir"], "user": c["user"], "capabilities": c["capabilities"],
            "no_new_privileges": c["no_new_privileges"], "stdio": True}))
        ctl("start_container", json.dumps({"container_id": "c"}))
        while ctl("read_output", json.dumps({"container_id": "c", "stream": "stdout"}))["bytes"] == 0:
            time.sleep(0.02)
        elapsed = time.monotonic() - t0
        ctl("shutdown")
        vm.wait(120)
        return elapsed
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()


def threading_drain(stream):
    import threading
    threading.Thread(target=lambda: [None for _ in iter(lambda: stream.read(4096), b"")], daemon=True).start()


def bench_containerd():
    """`ctr run --runtime io.containerd.uvm.v2` (containerd, the shim, `uvm
    run`, a UVM) from the command to the container's first line of output,
    against `uvm launch` + `uvm ctl` doing the same by hand in the same run
    (layers already converted for both); and the host memory of one
    sandbox: the shim's, `uvm run`'s and QEMU's RSS."""
    import time
    from test_containerd import Containerd, IMAGE, NS, RUNTIME, sample_tar, policy_b64
    results = {"runs": CTR_RUNS, "ctr_run_to_first_output_s": [], "launch_ctl_to_first_output_s": []}
    base = tempfile.mkdtemp(prefix="uvmctr.", dir="/tmp")
    c = Containerd(base)
    try:
        oci, tar = sample_tar(base)
        c.ctr("image", "import", tar)
        c.policy = f"{base}/policy.json"
        subprocess.run(["out/bin/uvm", "policy", "gen", "--image", oci, "-o", c.policy], check=True)
        pol = policy_b64(c.policy)
        c.run("warm", policy=pol, extra=["--rm"])  # converts the layers once
        subprocess.run(["out/bin/uvm", "layer", "--image", oci, "--out", f"{base}/layers"], check=True,
                       capture_output=True)
        with open(f"{base}/layers/layers.json") as f:
            layers = json.load(f)
        with open(c.policy) as f:
            policy = json.load(f)
        ctr = ["ctr", "-a", c.sock, "-n", NS, "run", "--rm", "--fifo-dir", c.fifo, "--runtime", RUNTIME,
               "--runtime-config-path", c.shim_config, "--annotation", f"io.uvm.policy={pol}", IMAGE]
        for i in range(CTR_RUNS):
            t, line, proc = first_line(ctr + [f"b{i}"], env=c.env)
            assert b"hello" in line, (line, proc.stderr.read())
            proc.communicate(timeout=300)
            results["ctr_run_to_first_output_s"].append(t)
            with tempfile.TemporaryDirectory() as tmp:
                os.symlink(f"{base}/layers", f"{tmp}/layers")
                results["launch_ctl_to_first_output_s"].append(
                    launch_and_ctl_to_first_output(tmp, layers, c.policy, policy))
        # memory of one running sandbox
        p = dict(policy)
        p["containers"] = [dict(policy["containers"][0], argv=["/bin/sleep", "1000"])]
        pol2 = base64.b64encode(json.dumps(p).encode()).decode()
        r = c.run("mem", "/bin/sleep", "1000", policy=pol2, extra=["-d"])
        assert r.returncode == 0, r.stderr
        time.sleep(2)
        rss = {"shim": 0, "uvm_run": 0, "qemu": 0}
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(f"{d}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            pid = int(os.path.basename(d))
            if cmd[0].endswith(b"containerd-shim-uvm-v2") and b"mem" in cmd:
                rss["shim"] += rss_kib(pid)
            elif cmd[0].endswith(b"uvm") and cmd[1:2] == [b"run"] and base.encode() in b" ".join(cmd):
                rss["uvm_run"] += rss_kib(pid)
            elif cmd[0].endswith(b"qemu-system-x86_64") and base.encode() in b" ".join(cmd):
                rss["qemu"] += rss_kib(pid)
        c.ctr("task", "kill", "-s", "SIGKILL", "mem")
        for _ in range(100):
            if "STOPPED" in c.ctr("task", "ls").stdout:
                break
            time.sleep(0.1)
        c.ctr("task", "delete", "mem")
        c.ctr("container", "delete", "mem")
    finally:
        c.stop()
        subprocess.run(["rm", "-rf", base])
    ctr_s = statistics.median(results["ctr_run_to_first_output_s"])
    manual_s = statistics.median(results["launch_ctl_to_first_output_s"])
    results.update({"ctr_run_median_s": ctr_s, "launch_ctl_median_s": manual_s, "ctr_over_launch_ctl": ctr_s / manual_s,
                    "sandbox_rss_kib": dict(rss, total=sum(rss.values())),
                    "note": "TCG; both with layers already converted; ctr includes containerd, the shim, the "
                            "OCI layout from the content store, uvm run's 1 GiB scratch; RSS of one idle sandbox "
                            "(guest memory counts in QEMU's RSS only as far as touched)"})
    return results


def sizes():
    out = {}
    for path in ["out/image/bzImage", "out/image/initrd", "out/image-test/initrd",
                 "out/guest/init", "out/guest-test/init", "out/image/OVMF.amdsev.fd"]:
        if os.path.exists(path):
            out[path] = os.path.getsize(path)
    return out


def run_script(script):
    args = {"bench_measure.sh": ["out/image"], "bench_layer.sh": ["64"]}.get(os.path.basename(script), [])
    proc = subprocess.run(["bash", script, *args], capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-500:]}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "no JSON on the last line", "output": proc.stdout[-500:]}


def main():
    results = {"image_sizes_bytes": sizes()}
    print("image sizes:", json.dumps(results["image_sizes_bytes"], indent=1))
    for script in sorted(glob.glob("tests/bench/bench_*.sh")):
        name = os.path.basename(script)[len("bench_"):-3]
        results[name] = run_script(script)
        print(f"{name}:", json.dumps(results[name]))
    for binary in sorted(glob.glob("out/bench/bench_*")):
        name = os.path.basename(binary)[len("bench_"):]
        if name in results:
            continue  # already run through its bench_NAME.sh wrapper
        proc = subprocess.run([binary], capture_output=True, text=True, timeout=1800)
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {
            "error": proc.stderr[-500:]}
        print(f"{name}:", json.dumps(results[name]))
    results["boot"] = bench_boot()
    print("boot:", json.dumps(results["boot"]))
    results["container_start"] = bench_container_start()
    print("container_start:", json.dumps(results["container_start"]))
    results["scratch_setup"] = bench_scratch_setup()
    print("scratch_setup:", json.dumps(results["scratch_setup"]))
    results["containerd"] = bench_containerd()
    print("containerd:", json.dumps(results["containerd"]))
    os.makedirs("out", exist_ok=True)
    with open("out/bench.json", "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote out/bench.json")


if __name__ == "__main__":
    main()
