"""Containment, tried from inside: hostile workloads in containers the policy
allows to run a shell (uid 1000 without capabilities, uid 0 without
capabilities, uid 0 with extra capabilities such as CAP_MKNOD and
CAP_SYS_PTRACE) attack PID 1, the VM-wide kernel settings and their
neighbours, in the real test image under QEMU (TCG). Each attack prints one
"name: verdict" line; the test asserts the verdict, then shows the agent
still answering and a fresh container still running.

One VM serves the module; the tests run in file order. The image is the demo's
sample image (busybox, /etc/passwd with app = 1000), converted by `uvm layer`.
docs/threat-model.md "Containment" maps each attack to its test."""
import base64
import json

import pytest

from test_e2e import create_args, sample_layers, sh, target
from uvmvm import UVM, Vm, bind_and_mount, denied, ok, poll, read_stream

IMAGE = "out/image-test"
CAPS_NONE = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
MANY = ["CAP_MKNOD", "CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"]
CAPS_MANY = {"bounding": MANY, "effective": MANY, "permitted": MANY, "inheritable": [], "ambient": []}
BB = "/bin/busybox"

# Each line: "<attack>: <verdict>". Verdicts are what a contained workload sees.
ATTACKS = r"""
bb=/bin/busybox
say() { echo "$1: $2"; }
# 1. PID 1's descriptors: only stdio is open at exec (and the one ls reads)
fds=$($bb ls /proc/self/fd | $bb tr '\n' ' ')
say fds "$fds"
# 2. kernel settings: /proc/sys read-only, masked files empty
if echo 1 > /proc/sys/vm/panic_on_oom 2>/dev/null; then say sysctl_write WROTE; else say sysctl_write refused; fi
if echo 0 > /proc/sys/kernel/randomize_va_space 2>/dev/null; then say aslr_off WROTE; else say aslr_off refused; fi
if echo 1 > /proc/sysrq-trigger 2>/dev/null; then say sysrq WROTE; else say sysrq refused; fi
say kcore_bytes "$($bb head -c 16 /proc/kcore 2>/dev/null | $bb wc -c)"
say keys_bytes "$($bb cat /proc/keys 2>/dev/null | $bb wc -c)"
say timer_list_bytes "$($bb cat /proc/timer_list 2>/dev/null | $bb wc -c)"
# 5. the kernel log
if $bb dmesg >/dev/null 2>&1; then say dmesg READ; else say dmesg refused; fi
# 6. device nodes: /dev is read-only, the root is nodev
if $bb mknod /dev/evil c 1 11 2>/dev/null; then say mknod_dev MADE; else say mknod_dev refused; fi
# (with CAP_MKNOD the node is made on the nodev root, and opening it fails)
if $bb mknod /tmp/kmsg c 1 11 2>/dev/null; then
  if echo "uvm-init: forged" > /tmp/kmsg 2>/dev/null; then say kmsg_write WROTE; else say kmsg_write refused; fi
else say kmsg_write refused-no-mknod; fi
if $bb mknod /tmp/dm0 b 253 0 2>/dev/null; then
  if $bb head -c 512 /tmp/dm0 >/dev/null 2>&1; then say blockdev_read READ; else say blockdev_read refused; fi
else say blockdev_read refused-no-mknod; fi
say dev_nodes "$($bb ls /dev | $bb tr '\n' ' ')"
# seccomp: namespaces and the mount family
if $bb unshare -n true 2>/dev/null; then say unshare RAN; else say unshare refused; fi
if $bb mount -t tmpfs x /tmp 2>/dev/null; then say mount MOUNTED; else say mount refused; fi
say seccomp_mode "$($bb grep Seccomp: /proc/self/status | $bb tr -d '\t ')"
# 3. cgroup
say cgroup "$($bb cat /proc/self/cgroup)"
exit 0
"""


def container(name, user, caps):
    return {"name": name, "layers": "LAYERS", "argv": ["/bin/sh", "-c", ATTACKS], "env": [{"rule": "PATH=/bin"}],
            "working_dir": "/", "mounts": [], "user": user, "capabilities": caps,
            "no_new_privileges": False, "allow_stdio_access": True,
            "exec_processes": [{"argv": ["/bin/sh", "-c", ATTACKS], "signals": []}]}


USERS = {
    "u1000": ({"uid": 1000, "gid": 1000, "umask": "0022"}, CAPS_NONE),
    "root-nocaps": ({"uid": 0, "gid": 0, "umask": "0022"}, CAPS_NONE),
    "root-caps": ({"uid": 0, "gid": 0, "umask": "0022"}, CAPS_MANY),
}
HOLDER = dict(container("holder", {"uid": 0, "gid": 0, "umask": "0022"}, CAPS_MANY),
              argv=["/bin/busybox", "sleep", "1000"])
# A fork bomb: the inner shell forks until the kernel refuses (and then
# exits: ash gives up on a failed fork), its children stay; the outer shell,
# the container's init, then waits with builtins only.
FORK_BOMB = ["/bin/sh", "-c", "/bin/sh -c 'while :; do /bin/busybox sleep 600 & done' 2>/dev/null; "
             "while :; do read x; done"]
BOMB = dict(container("bomb", {"uid": 1000, "gid": 1000, "umask": "0022"}, CAPS_NONE), argv=FORK_BOMB)
# Enforcement issue, item 5: a read-only rbind of a tree with writable
# submounts (every container root under /run/containers is one).
RBIND_RO = {"source": "/run/containers", "destination": "/mnt", "type": "bind", "options": ["rbind", "ro"]}
RBIND_WRITE = ["/bin/sh", "-c", "if echo x > /mnt/holder/rootfs/tmp/pwned 2>/dev/null; then echo WROTE; "
               "else echo refused; fi; /bin/busybox ls /mnt/holder/rootfs/bin/busybox"]
RBIND = dict(container("rbind", {"uid": 0, "gid": 0, "umask": "0022"}, CAPS_MANY), argv=RBIND_WRITE,
             mounts=[RBIND_RO])
# Enforcement issue, item 6: a policy tmpfs over /etc that the host would drop.
ETC_TMPFS = {"source": "tmpfs", "destination": "/etc", "type": "tmpfs", "options": ["nosuid", "nodev"]}
MASKED_ETC = dict(container("masked-etc", {"uid": 1000, "gid": 1000, "umask": "0022"}, CAPS_NONE),
                  argv=["/bin/busybox", "ls", "/etc"], mounts=[ETC_TMPFS])
NAMED = {"name": "named", "layers": "LAYERS", "argv": ["/bin/busybox", "id"], "env": [],
         "working_dir": "/", "mounts": [], "user": {"name": "app", "group": "app", "umask": "0022"},
         "capabilities": CAPS_NONE, "no_new_privileges": True, "allow_stdio_access": True}


@pytest.fixture(scope="module")
def uvm(tmp_path_factory):
    work = tmp_path_factory.mktemp("containment")
    layers = sample_layers(work)
    hashes = [l["root_hash"] for l in layers]
    specs = [container(n, u, c) for n, (u, c) in USERS.items()] + [dict(HOLDER), dict(NAMED), dict(BOMB), RBIND, MASKED_ETC]
    specs += [dict(s) for s in RESOURCE_SPECS + SCRATCH_SPECS]
    for s in specs:
        s["layers"] = hashes
    specs.append(dict(CAPPED, layers=hashes[:1]))
    policy = {"version": "1", "framework": {"allow_properties_access": True, "allow_dump_stacks": False,
                                            "allow_unencrypted_scratch": False},
              "containers": specs, "external_processes": []}
    (work / "policy.json").write_text(json.dumps(policy, indent=1))
    r = sh(UVM, "policy", "check", work / "policy.json")
    assert r.returncode == 0, r.stdout + r.stderr
    scratch = work / "scratch.img"
    with open(scratch, "wb") as f:  # room for every test's writable layer (4 MiB each unless it says)
        f.truncate(128 << 20)
    disks = [(f"layer{i}", work / "layers" / l["path"], "ro") for i, l in enumerate(layers)]
    disks += [("scratch", scratch)]
    vm = Vm.launch(work, image=IMAGE, policy=work / "policy.json", disks=disks).start()
    try:
        vm.wait_ready()
        scratch_target = bind_and_mount(vm, work / "policy.json", layers)
        yield {"vm": vm, "layers": layers, "policy": policy, "scratch": scratch_target, "work": work}
    finally:
        vm.kill()


def overlay_args(uvm, cid, size):
    return {"container_id": cid, "layers": [target(l) for l in uvm["layers"]], "scratch": uvm["scratch"],
            "scratch_bytes": size}


def overlay(uvm, cid, size=4 << 20):
    """The container's root on the shared scratch, with a writable layer of size bytes."""
    return ok(uvm["vm"].request("mount_overlay", overlay_args(uvm, cid, size)))


def run_container(uvm, spec, cid, size=4 << 20, **override):
    vm = uvm["vm"]
    overlay(uvm, cid, size)
    ok(vm.request("create_container", create_args(spec, cid, **override)))
    ok(vm.request("start_container", {"container_id": cid}))
    status = poll(vm, "wait_process", {"container_id": cid}, lambda r: r["state"] == "exited")
    return status, read_stream(vm, {"container_id": cid, "stream": "stdout"}).decode()


def verdicts(text):
    out = {}
    for line in text.splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            out[k] = v.strip()
    return out


REFUSED = ["sysctl_write", "aslr_off", "sysrq", "dmesg", "mknod_dev", "kmsg_write", "blockdev_read",
           "unshare", "mount"]


@pytest.mark.parametrize("who", list(USERS))
def test_container_init_is_contained(uvm, who):
    """Proves, for each identity: the container's first process holds only
    stdio (no PID 1 descriptor), cannot write any VM-wide sysctl, sysrq or
    the kernel log, reads nothing from the masked /proc files, cannot make a
    usable device node (even with CAP_MKNOD: /dev is read-only and every
    other mount is nodev), cannot unshare or mount (seccomp, mode 2), and
    runs in its own cgroup."""
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == who)
    status, out = run_container(uvm, spec, who)
    v = verdicts(out)
    assert status == {"state": "exited", "exit_code": 0}, out
    assert set(v["fds"].split()) <= {"0", "1", "2", "3"}, out
    for attack in REFUSED:
        assert v.get(attack, "").startswith("refused"), (attack, out)
    if "CAP_MKNOD" in spec["capabilities"]["effective"]:  # the node exists; nodev is what stops it
        assert v["kmsg_write"] == v["blockdev_read"] == "refused", out
    for masked in ("kcore_bytes", "keys_bytes", "timer_list_bytes"):
        assert v[masked] == "0", (masked, out)
    assert set(v["dev_nodes"].split()) <= {"null", "zero", "full", "random", "urandom", "tty", "fd", "stdin",
                                           "stdout", "stderr", "shm"}, out
    assert v["seccomp_mode"] == "Seccomp:2", out
    assert v["cgroup"] == f"0::/workloads/c-{who}", out


def test_exec_in_container_holds_nothing_of_pid1(uvm):
    """Proves: a process exec'ed into a running container (the path that
    once leaked PID 1's host channel, signalfd and other containers' pipes
    to pidfd_getfd) starts with stdio only, under the container's seccomp
    filter, in the container's cgroup."""
    vm = uvm["vm"]
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == "holder")
    overlay(uvm, "holder")
    ok(vm.request("create_container", create_args(spec, "holder")))
    ok(vm.request("start_container", {"container_id": "holder"}))
    ok(vm.request("exec_in_container", {"container_id": "holder", "process_id": "probe",
                                        "argv": spec["exec_processes"][0]["argv"], "env": ["PATH=/bin"],
                                        "working_dir": "/", "stdio": True}))
    poll(vm, "wait_process", {"container_id": "holder", "process_id": "probe"}, lambda r: r["state"] == "exited")
    v = verdicts(read_stream(vm, {"container_id": "holder", "process_id": "probe", "stream": "stdout"}).decode())
    assert set(v["fds"].split()) <= {"0", "1", "2", "3"}, v
    assert v["seccomp_mode"] == "Seccomp:2", v
    assert v["cgroup"] == "0::/workloads/c-holder", v


def test_read_only_rbind_is_read_only_in_every_submount(uvm):
    """Proves (enforcement issue, item 5): a policy's ["rbind", "ro"] mount of
    a tree whose submounts are writable (here every container root, the
    running "holder" among them) is read-only in the submounts too: a root
    container with CAP_DAC_OVERRIDE cannot write into its neighbour's root
    through it, though it can see it."""
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == "rbind")
    status, out = run_container(uvm, spec, "rbind")
    assert status["exit_code"] == 0 and out.startswith("refused\n") and "busybox" in out, out


def test_the_host_cannot_drop_a_policy_mount(uvm):
    """Proves (enforcement issue, item 6): a create that leaves out the
    policy's tmpfs over /etc is denied, naming the missing mount; with it,
    the container sees an empty /etc."""
    vm = uvm["vm"]
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == "masked-etc")
    overlay(uvm, "masked-etc")
    err = denied(vm.request("create_container", create_args(spec, "masked-etc", mounts=[])))
    assert "/etc" in json.dumps(err["reason"]), err
    ok(vm.request("create_container", create_args(spec, "masked-etc")))
    ok(vm.request("start_container", {"container_id": "masked-etc"}))
    status = poll(vm, "wait_process", {"container_id": "masked-etc"}, lambda r: r["state"] == "exited")
    out = read_stream(vm, {"container_id": "masked-etc", "stream": "stdout"})
    assert status["exit_code"] == 0 and out == b"", out


def test_user_name_is_resolved_by_the_guest(uvm):
    """Proves (enforcement issue, item 1): with a policy user given by name,
    a request that names "app" but asks for uid 0 is denied (the container's
    own /etc/passwd on its verity layers says app is 1000); the same request
    with uid/gid 1000 runs as 1000."""
    vm = uvm["vm"]
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == "named")
    overlay(uvm, "named")

    def create(uid, gid):
        user = {"uid": uid, "gid": gid, "name": "app", "group": "app", "umask": "0022"}
        return vm.request("create_container", create_args(dict(spec, user=user), "named"))
    err = denied(create(0, 0))
    assert "uid 1000" in err["message"], err
    err = denied(create(1000, 0))
    assert "gid 1000" in err["message"], err
    ok(create(1000, 1000))
    ok(vm.request("start_container", {"container_id": "named"}))
    poll(vm, "wait_process", {"container_id": "named"}, lambda r: r["state"] == "exited")
    out = read_stream(vm, {"container_id": "named", "stream": "stdout"}).decode()
    assert out.startswith("uid=1000(app) gid=1000(app)"), out


def test_agent_still_serves_and_a_fresh_container_runs(uvm):
    """Proves: after every attack above the agent answers and a new
    container runs to completion."""
    vm = uvm["vm"]
    assert ok(vm.request("get_properties"))
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == "u1000")
    status, out = run_container(uvm, spec, "fresh")
    assert status["exit_code"] == 0, out


def test_fork_bomb_stops_at_its_own_limit(uvm):
    """Proves (containment issue, item 3): a fork bomb in one container is
    stopped by that container's pids.max (the kernel logs the refusal for
    /workloads/c-bomb), while a neighbour still creates, forks and exits normally
    and the agent answers; shutting the bomb's container down ends it."""
    vm = uvm["vm"]
    spec = next(s for s in uvm["policy"]["containers"] if s["name"] == "bomb")
    overlay(uvm, "bomb")
    ok(vm.request("create_container", create_args(spec, "bomb")))
    ok(vm.request("start_container", {"container_id": "bomb"}))
    vm.wait_console(r"fork rejected by pids controller in /workloads/c-bomb", timeout=120)
    neighbour = next(s for s in uvm["policy"]["containers"] if s["name"] == "u1000")
    status, out = run_container(uvm, neighbour, "neighbour")
    assert status["exit_code"] == 0 and "cgroup: 0::/workloads/c-neighbour" in out, out
    ok(vm.request("shutdown_container", {"container_id": "bomb"}))
    poll(vm, "wait_process", {"container_id": "bomb"}, lambda r: r["state"] == "exited")


# Containment issue, resources: each container's memory.max (shared memory
# included) and pids.max come from its create request, within the bounds its
# policy container names ("resources", docs/policy.md). The uvm fixture
# appends them to the module's policy.
MiB = 1 << 20
# A memory hog: 8 MiB in /dev/shm (tmpfs pages, charged to the container),
# then a shell variable that grows without end.
MEMORY_HOG = ["/bin/sh", "-c", "/bin/busybox dd if=/dev/zero of=/dev/shm/x bs=1M count=8 2>/dev/null; echo shm-filled; "
              "x=$(/bin/busybox head -c 100000000 /dev/zero | /bin/busybox tr '\\0' a); echo survived"]
HOG = dict(container("hog", {"uid": 1000, "gid": 1000, "umask": "0022"}, CAPS_NONE), argv=MEMORY_HOG,
           resources={"memory_max": 64 * MiB, "pids_max": 64})
# An shm hog alone: 15 MiB into the container's 16 MiB /dev/shm.
SHM_FILL = ["/bin/sh", "-c", "/bin/busybox dd if=/dev/zero of=/dev/shm/x bs=1M count=15 2>/dev/null && echo filled"]
SHM_HOG = dict(container("shm-hog", {"uid": 1000, "gid": 1000, "umask": "0022"}, CAPS_NONE), argv=SHM_FILL,
               resources={"memory_max": 64 * MiB})
# A fork bomb that, once refused, counts its container's processes with
# shell builtins only (a glob over /proc: no fork needed) and waits.
COUNTING_BOMB = ["/bin/sh", "-c", "/bin/sh -c 'while :; do /bin/busybox sleep 600 & done' 2>/dev/null; "
                 "n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo procs=$n; while :; do read x; done"]
BOMB64 = dict(container("bomb64", {"uid": 1000, "gid": 1000, "umask": "0022"}, CAPS_NONE), argv=COUNTING_BOMB,
              resources={"pids_max": 128})
RESOURCE_SPECS = [HOG, SHM_HOG, BOMB64]
# Containment issue, a full disk: each container's writable layer is its own
# file system on its own extent of the scratch (docs/storage.md). FILLER
# writes until its layer is full and reports what it saw; WRITER is a
# neighbour on the same scratch whose listed exec writes 2 MiB and reads a
# file back; LOOKER checks that a reused extent shows nothing of the last
# user's files; CAPPED (its own layer list) bounds its layer by the policy.
FILL = ["/bin/sh", "-c", "/bin/busybox dd if=/dev/zero of=/fill bs=64k 2>&1; echo; /bin/busybox wc -c < /fill"]
WRITE_READ = ["/bin/sh", "-c", "echo neighbour-data > /data.txt && /bin/busybox dd if=/dev/zero of=/big bs=1M count=2 "
              "2>/dev/null && /bin/busybox cat /data.txt && /bin/busybox wc -c < /big"]
LOOK = ["/bin/sh", "-c", "if [ -e /fill ]; then echo SEEN; else echo gone; fi"]
ROOT = {"uid": 0, "gid": 0, "umask": "0022"}
FILLER = dict(container("filler", ROOT, CAPS_NONE), argv=FILL)
WRITER = dict(container("writer", ROOT, CAPS_NONE), argv=["/bin/busybox", "sleep", "1000"],
              exec_processes=[{"argv": WRITE_READ, "signals": []}])
LOOKER = dict(container("looker", ROOT, CAPS_NONE), argv=LOOK)
SCRATCH_SPECS = [FILLER, WRITER, LOOKER]
CAPPED = dict(container("capped", ROOT, CAPS_NONE), resources={"scratch_max": 8 * MiB})


@pytest.fixture(scope="module")
def resource_specs(uvm):
    """The resource containers as the module's policy has them."""
    return {s["name"]: s for s in uvm["policy"]["containers"] if s["name"] in {r["name"] for r in RESOURCE_SPECS}}


def read_until(vm, addr, text):
    out = b""
    while text.encode() not in out:
        r = poll(vm, "read_output", addr, lambda r: r["bytes"] > 0 or r["eof"])
        out += base64.b64decode(r["data_base64"])
        if r["eof"]:
            break
    return out.decode()


def test_memory_hog_is_oom_killed_in_its_own_container(uvm, resource_specs):
    """Proves (containment issue, resources): a container created with
    memory_max 32 MiB (its policy allows up to 64 MiB) that fills /dev/shm and
    then grows a shell variable is OOM-killed as a whole (its init ends with
    SIGKILL; the kernel names /workloads/c-hog), while a neighbour container
    keeps running and runs a new process, and the agent answers."""
    vm = uvm["vm"]
    holder = next(s for s in uvm["policy"]["containers"] if s["name"] == "holder")
    overlay(uvm, "hog-neighbour")
    ok(vm.request("create_container", create_args(holder, "hog-neighbour")))
    ok(vm.request("start_container", {"container_id": "hog-neighbour"}))
    status, out = run_container(uvm, resource_specs["hog"], "hog",
                                resources={"memory_max": 32 * MiB, "pids_max": 16})
    assert status == {"state": "exited", "signal": 9}, (status, out)
    assert "shm-filled" in out and "survived" not in out, out
    vm.wait_console(r"oom_memcg=/workloads/c-hog,", timeout=30)
    assert ok(vm.request("get_properties"))
    assert ok(vm.request("wait_process", {"container_id": "hog-neighbour"}))["state"] == "running"
    ok(vm.request("exec_in_container", {"container_id": "hog-neighbour", "process_id": "after-hog",
                                        "argv": holder["exec_processes"][0]["argv"], "env": ["PATH=/bin"],
                                        "working_dir": "/", "stdio": True}))
    addr = {"container_id": "hog-neighbour", "process_id": "after-hog"}
    assert poll(vm, "wait_process", addr, lambda r: r["state"] == "exited")["exit_code"] == 0
    v = verdicts(read_stream(vm, dict(addr, stream="stdout")).decode())
    assert v["cgroup"] == "0::/workloads/c-hog-neighbour", v
    ok(vm.request("shutdown_container", {"container_id": "hog-neighbour"}))


def test_shared_memory_counts_against_memory_max(uvm, resource_specs):
    """Proves: tmpfs pages in the container's /dev/shm are charged to its
    memory.max: 15 MiB of shm in a container created with memory_max 12 MiB
    ends it with SIGKILL; the same command with memory_max 64 MiB (the
    request's value is what runs) fills it and exits 0."""
    spec = resource_specs["shm-hog"]
    status, out = run_container(uvm, spec, "shm-small", resources={"memory_max": 12 * MiB})
    assert status == {"state": "exited", "signal": 9} and "filled" not in out, (status, out)
    status, out = run_container(uvm, spec, "shm-large", resources={"memory_max": 64 * MiB})
    assert status == {"state": "exited", "exit_code": 0} and out == "filled\n", (status, out)


def test_resources_beyond_the_policy_are_denied(uvm, resource_specs):
    """Proves: a host that asks for more memory or processes than the
    policy's bound, or leaves memory_max out (the default, all of the
    workloads memory, exceeds a bound), is denied with the resources rule
    naming the field and the bound; nothing is created."""
    vm = uvm["vm"]
    spec = resource_specs["hog"]
    overlay(uvm, "hog-big")

    def failures(resources):
        err = denied(vm.request("create_container", create_args(spec, "hog-big", resources=resources)))
        return next(c for c in err["reason"]["candidates"] if c.get("name") == "hog")["failed"]
    assert failures({"memory_max": 64 * MiB + 1, "pids_max": 64}) == [
        {"rule": "resources", "field": "resources.memory_max", "value": 64 * MiB + 1,
         "detail": f"more than the policy's bound of {64 * MiB} bytes"}]
    assert failures({"memory_max": 32 * MiB, "pids_max": 65}) == [
        {"rule": "resources", "field": "resources.pids_max", "value": 65,
         "detail": "more than the policy's bound of 64"}]
    f = failures({"pids_max": 64})
    assert [(x["rule"], x["field"]) for x in f] == [("resources", "resources.memory_max")], f
    err = denied(vm.request("create_container", create_args(spec, "hog-big", resources={"memory_max": 1 * MiB})),
                 kinds=("malformed",))  # out of every policy's range: the decode refuses it
    assert "$.args.resources.memory_max: integer 1048576 out of range" in json.dumps(err), err
    denied(vm.request("wait_process", {"container_id": "hog-big"}), kinds=("failed",))


def test_pids_max_from_the_request_is_applied(uvm, resource_specs):
    """Proves: a fork bomb created with pids_max 64 (its policy allows 128,
    the default would be 1024) is refused by the pids controller of
    /workloads/c-bomb64 and, counting from inside, has at most 64 processes."""
    vm = uvm["vm"]
    overlay(uvm, "bomb64")
    ok(vm.request("create_container", create_args(resource_specs["bomb64"], "bomb64", resources={"pids_max": 64})))
    ok(vm.request("start_container", {"container_id": "bomb64"}))
    vm.wait_console(r"fork rejected by pids controller in /workloads/c-bomb64\b", timeout=120)
    out = read_until(vm, {"container_id": "bomb64", "stream": "stdout"}, "\n")
    n = int(out.split("procs=", 1)[1].split()[0])
    assert 48 <= n <= 64, out
    assert ok(vm.request("get_properties"))
    ok(vm.request("shutdown_container", {"container_id": "bomb64"}))
    poll(vm, "wait_process", {"container_id": "bomb64"}, lambda r: r["state"] == "exited")


# ------------------------------------------------------------ a full disk

def spec_of(uvm, name):
    return next(s for s in uvm["policy"]["containers"] if s["name"] == name)


def free_in_one_piece(uvm, cid="probe-free"):
    """What the scratch has free in one piece, as the guest says when asked
    for more (1 TiB) than it has."""
    resp = uvm["vm"].request("mount_overlay", overlay_args(uvm, cid, 1 << 40))
    err = denied(resp, kinds=("failed",))
    assert "bytes free in one piece; scratch_bytes asks for 1099511627776" in err["message"], err
    return int(err["message"].split("has only ")[1].split(" bytes")[0])


def test_a_full_writable_layer_ends_only_its_container(uvm):
    """Proves (containment issue, a full disk): a container that writes until
    the disk is full gets ENOSPC from its own 8 MiB writable layer, at about
    8 MiB (the ext2's metadata takes the rest), while a neighbour on the same
    scratch, running, still writes 2 MiB and reads its file back; the agent
    answers and a fresh container on the same scratch still runs."""
    vm = uvm["vm"]
    assert overlay(uvm, "writer", 8 * MiB)["upper_bytes"] == 8 * MiB
    ok(vm.request("create_container", create_args(spec_of(uvm, "writer"), "writer")))
    ok(vm.request("start_container", {"container_id": "writer"}))
    status, out = run_container(uvm, spec_of(uvm, "filler"), "filler", 8 * MiB)
    assert status["state"] == "exited" and "No space left on device" in out, (status, out)
    written = int(out.split()[-1])
    print(f"filler: {written} of {8 * MiB} bytes written before ENOSPC")
    assert 6 * MiB <= written <= 8 * MiB, out
    ok(vm.request("exec_in_container", {"container_id": "writer", "process_id": "w1", "argv": WRITE_READ,
                                        "env": ["PATH=/bin"], "working_dir": "/", "stdio": True}))
    addr = {"container_id": "writer", "process_id": "w1"}
    assert poll(vm, "wait_process", addr, lambda r: r["state"] == "exited") == {"state": "exited", "exit_code": 0}
    assert read_stream(vm, dict(addr, stream="stdout")) == b"neighbour-data\n2097152\n"
    assert ok(vm.request("get_properties"))
    status, out = run_container(uvm, spec_of(uvm, "u1000"), "after-fill")
    assert status == {"state": "exited", "exit_code": 0}, out


def test_a_freed_extent_is_reused_and_more_than_is_free_fails(uvm):
    """Proves: a mount_overlay asking for more than the scratch has free in
    one piece fails, saying how much is free; with the scratch full, an 8 MiB
    layer fits only once the filler's overlay is unmounted, i.e. in its
    extent, and the new container sees nothing of the filler's files (the
    extent is formatted afresh)."""
    vm = uvm["vm"]
    rest = free_in_one_piece(uvm)
    assert rest >= 8 * MiB, rest
    assert overlay(uvm, "rest", rest)["upper_bytes"] == rest
    assert free_in_one_piece(uvm) < 8 * MiB
    err = denied(vm.request("mount_overlay", overlay_args(uvm, "reuse", 8 * MiB)), kinds=("failed",))
    assert "scratch scratch has only" in err["message"] and "bytes free in one piece" in err["message"], err
    ok(vm.request("shutdown_container", {"container_id": "filler"}))
    ok(vm.request("unmount_overlay", {"target": "/run/containers/filler/rootfs"}))
    status, out = run_container(uvm, spec_of(uvm, "looker"), "reuse", 8 * MiB)
    assert status == {"state": "exited", "exit_code": 0} and out == "gone\n", (status, out)
    ok(vm.request("unmount_overlay", {"target": "/run/containers/rest/rootfs"}))
    assert free_in_one_piece(uvm) >= rest


def test_scratch_max_of_the_policy_bounds_the_writable_layer(uvm):
    """Proves: a host that asks for a writable layer larger than the policy's
    scratch_max (8 MiB) for the only container with these layers is denied
    (rule resources, field scratch_bytes, naming the bound); without
    scratch_bytes the guest gives the policy's bound."""
    vm = uvm["vm"]
    args = {"container_id": "capped", "layers": [target(uvm["layers"][0])], "scratch": uvm["scratch"]}
    err = denied(vm.request("mount_overlay", dict(args, scratch_bytes=9 * MiB)))
    assert [(f["rule"], f["field"], f["value"]) for f in err["reason"]["failed"]] == [
        ("resources", "scratch_bytes", 9 * MiB)], err
    capped = next(c for c in err["reason"]["candidates"] if c.get("name") == "capped")
    assert capped["failed"] == [{"rule": "resources", "field": "scratch_bytes", "value": 9 * MiB,
                                 "detail": f"more than the policy's scratch_max of {8 * MiB} bytes"}], err
    assert ok(vm.request("mount_overlay", args))["upper_bytes"] == 8 * MiB
    ok(vm.request("unmount_overlay", {"target": "/run/containers/capped/rootfs"}))
