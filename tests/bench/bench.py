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
    os.makedirs("out", exist_ok=True)
    with open("out/bench.json", "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote out/bench.json")


if __name__ == "__main__":
    main()
