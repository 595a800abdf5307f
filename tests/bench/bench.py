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
    if "vm_rss_kb" in runs[0]["status"]:
        out["pid1_rss_kb_after_boot"] = runs[0]["status"]["vm_rss_kb"]
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
        proc = subprocess.run([binary], capture_output=True, text=True, timeout=1800)
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {
            "error": proc.stderr[-500:]}
        print(f"{name}:", json.dumps(results[name]))
    results["boot"] = bench_boot()
    print("boot:", json.dumps(results["boot"]))
    os.makedirs("out", exist_ok=True)
    with open("out/bench.json", "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    print("wrote out/bench.json")


if __name__ == "__main__":
    main()
