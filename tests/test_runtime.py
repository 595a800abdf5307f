"""The enforcement loop's runtime in the real test image under QEMU (TCG):
processes the policy allows run and their stdio reaches the host, others are
denied with the engine's reason, exit statuses come back exactly, and the
agent survives long mixed request streams and host disconnects.

External processes (the policy's external_processes) run busybox applets
from the initrd; containers need verity layers (see test_storage)."""
import base64
import json
import socket
import struct
import time

import pytest

from uvmvm import Vm

ENV = ["PATH=/bin"]
HELLO = ["/bin/sh", "-c", "echo hello; echo oops >&2"]
EXIT_CODE = ["/bin/sh", "-c", 'exit "$CODE"']
KILL_SELF = ["/bin/sh", "-c", "kill -9 $$"]
CAT = ["/bin/cat"]
PWD = ["/bin/pwd"]
SLEEP = ["/bin/sleep", "1000"]
TRUE = ["/bin/true"]

POLICY = json.dumps({
    "version": "1",
    "framework": {"allow_properties_access": True, "allow_dump_stacks": False},
    "containers": [],
    "external_processes": [
        {"argv": HELLO, "env": [{"rule": "PATH=/bin"}], "working_dir": "/", "allow_stdio_access": True},
        {"argv": EXIT_CODE, "env": [{"rule": "PATH=/bin"}, {"rule": "CODE=[0-9]+", "strategy": "regex",
                                                            "required": True}],
         "working_dir": "/"},
        {"argv": KILL_SELF, "env": [{"rule": "PATH=/bin"}], "working_dir": "/"},
        {"argv": CAT, "env": [], "working_dir": "/", "allow_stdio_access": True},
        {"argv": PWD, "env": [], "working_dir": "/tmp", "allow_stdio_access": True},
        {"argv": SLEEP, "env": [], "working_dir": "/"},
        {"argv": TRUE, "env": [], "working_dir": "/"},
    ],
}, sort_keys=True).encode()

WAIT_DEADLINE = 60


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    work = tmp_path_factory.mktemp("runtime")
    path = work / "policy.json"
    path.write_bytes(POLICY)
    v = Vm.launch(work, policy=path).start()
    try:
        v.wait_ready()
        resp = v.request("set_policy", {"policy_base64": base64.b64encode(POLICY).decode()})
        assert resp["ok"], resp
        yield v
    finally:
        v.kill()


def run(vm, pid, argv, env=(), cwd="/", stdio=False):
    return vm.request("exec_external", {"process_id": pid, "argv": argv, "env": list(env),
                                        "working_dir": cwd, "stdio": stdio})


def wait_exit(vm, pid):
    deadline = time.monotonic() + WAIT_DEADLINE
    while time.monotonic() < deadline:
        resp = vm.request("wait_process", {"process_id": pid})
        assert resp["ok"], resp
        if resp["result"]["state"] == "exited":
            return resp["result"]
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exit in {WAIT_DEADLINE}s; console:\n{vm.tail()}")


def read_all(vm, pid, stream):
    data = b""
    deadline = time.monotonic() + WAIT_DEADLINE
    while time.monotonic() < deadline:
        resp = vm.request("read_output", {"process_id": pid, "stream": stream})
        assert resp["ok"], resp
        data += base64.b64decode(resp["result"]["data_base64"])
        assert resp["result"]["bytes"] == len(base64.b64decode(resp["result"]["data_base64"]))
        if resp["result"]["eof"]:
            return data
        time.sleep(0.05)
    raise AssertionError(f"{stream} of {pid} never reached EOF")


def failed_rules(resp):
    """Every (rule, field) the engine lists for the candidates."""
    reason = resp["error"]["reason"]
    return {(f["rule"], f.get("field")) for c in reason.get("candidates", []) for f in c["failed"]} | \
           {(f["rule"], f.get("field")) for f in reason.get("failed", [])}


def test_allowed_external_process_output_reaches_host(vm):
    resp = run(vm, "hello", HELLO, ENV, stdio=True)
    assert resp["ok"], resp
    assert wait_exit(vm, "hello") == {"state": "exited", "exit_code": 0}
    assert read_all(vm, "hello", "stdout") == b"hello\n"
    assert read_all(vm, "hello", "stderr") == b"oops\n"


def test_stdin_is_writable_and_echoed(vm):
    assert run(vm, "cat", CAT, stdio=True)["ok"]
    resp = vm.request("write_stdin", {"process_id": "cat",
                                      "data_base64": base64.b64encode(b"line one\nline two\n").decode()})
    assert resp["ok"] and resp["result"]["written"] == 18, resp
    assert vm.request("close_stdin", {"process_id": "cat"})["ok"]
    assert read_all(vm, "cat", "stdout") == b"line one\nline two\n"
    assert wait_exit(vm, "cat")["exit_code"] == 0
    resp = vm.request("write_stdin", {"process_id": "cat", "data_base64": "eA=="})
    assert not resp["ok"] and resp["error"]["kind"] == "failed"


def test_working_directory_is_applied(vm):
    assert run(vm, "pwd", PWD, cwd="/tmp", stdio=True)["ok"]
    assert read_all(vm, "pwd", "stdout") == b"/tmp\n"


def test_without_stdio_output_is_not_readable(vm):
    assert run(vm, "quiet", SLEEP)["ok"]
    resp = vm.request("read_output", {"process_id": "quiet", "stream": "stdout"})
    assert not resp["ok"] and resp["error"]["kind"] == "failed"
    assert "no stdio" in resp["error"]["message"]
    assert vm.request("wait_process", {"process_id": "quiet"})["result"] == {"state": "running"}
    # A running id cannot be reused.
    resp = run(vm, "quiet", SLEEP)
    assert not resp["ok"] and resp["error"]["kind"] == "failed" and "in use" in resp["error"]["message"]


@pytest.mark.parametrize("case", [
    ("argv", dict(argv=["/bin/sh", "-c", "echo pwned"], env=ENV), {("argv", "argv[2]")}),
    ("env", dict(argv=HELLO, env=ENV + ["LD_PRELOAD=/tmp/x.so"]), {("env", "env[1]")}),
    ("working_dir", dict(argv=HELLO, env=ENV, cwd="/tmp"), {("working_dir", "working_dir")}),
    ("stdio", dict(argv=SLEEP, stdio=True), {("allow_stdio_access", "stdio")}),
])
def test_disallowed_external_process_is_denied_with_reason(vm, case):
    name, kw, want = case
    resp = run(vm, "denied-" + name, **kw)
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    assert resp["error"]["reason"]["op"] == "exec_external"
    assert want <= failed_rules(resp), resp["error"]["reason"]
    assert "LD_PRELOAD=/tmp" not in json.dumps(resp)  # values of variables are redacted
    resp = vm.request("wait_process", {"process_id": "denied-" + name})
    assert not resp["ok"], "a denied process must not exist"


def test_exit_codes_0_to_255_come_back_exactly(vm):
    for code in range(256):
        pid = f"code-{code}"
        resp = run(vm, pid, EXIT_CODE, ENV + [f"CODE={code}"])
        assert resp["ok"], resp
        assert wait_exit(vm, pid) == {"state": "exited", "exit_code": code}


def test_death_by_signal_is_reported(vm):
    assert run(vm, "killed", KILL_SELF, ENV)["ok"]
    assert wait_exit(vm, "killed") == {"state": "exited", "signal": 9}


def test_framework_flags(vm):
    resp = vm.request("get_properties")
    assert resp["ok"] and resp["result"]["agent_vmrss_kib"] > 0, resp
    resp = vm.request("dump_stacks")
    assert not resp["ok"] and resp["error"]["kind"] == "denied"
    assert ("allow_dump_stacks", "allow_dump_stacks") in failed_rules(resp)


def test_signal_to_unknown_container_is_denied(vm):
    resp = vm.request("signal_process", {"container_id": "nope", "signal": 9})
    assert not resp["ok"] and resp["error"]["kind"] == "denied"
    assert ("state", "container_id") in failed_rules(resp)


def test_container_without_overlay_is_denied(vm):
    resp = vm.request("create_container", {
        "container_id": "c1", "argv": ["/bin/sh"], "env": [], "working_dir": "/",
        "user": {"uid": 0, "gid": 0, "umask": "0022"},
        "capabilities": {s: [] for s in ("bounding", "effective", "inheritable", "permitted", "ambient")}})
    assert not resp["ok"] and resp["error"]["kind"] == "denied"
    assert ("state", "container_id") in failed_rules(resp)


def vmrss(vm):
    resp = vm.request("status")
    assert resp["ok"], resp
    return resp["result"]["vmrss_kib"]


def mixed_frames(i):
    """One request of the 10,000: allowed, denied or malformed."""
    kind = i % 8
    if kind == 0:
        return json.dumps({"id": i, "op": "get_properties"}).encode()
    if kind == 1:
        return json.dumps({"id": i, "op": "exec_external", "args": {
            "process_id": f"x{i}", "argv": ["/bin/sh", "-c", "evil"], "env": [], "working_dir": "/"}}).encode()
    if kind == 2:
        return b'{"id": ' + str(i).encode() + b', "op": "ping"'  # truncated JSON
    if kind == 3:
        return json.dumps({"id": i, "op": "no_such_op"}).encode()
    if kind == 4:
        return json.dumps({"id": i, "op": "dump_stacks"}).encode()
    if kind == 5:
        return json.dumps({"id": i, "op": "wait_process", "args": {"process_id": "hello", "x": 1}}).encode()
    if kind == 6:
        return json.dumps({"id": i, "op": "read_output", "args": {"process_id": "nobody",
                                                                   "stream": "stdout"}}).encode()
    if i % 400 == 7:  # now and then a real process
        return json.dumps({"id": i, "op": "exec_external", "args": {
            "process_id": f"t{i}", "argv": TRUE, "env": [], "working_dir": "/"}}).encode()
    return json.dumps({"id": i, "op": "ping"}).encode()


def test_10000_mixed_requests_leave_agent_responsive_with_bounded_memory(vm):
    for i in range(200):  # warm-up: allocator arenas reach their steady size
        vm.send_frame(mixed_frames(i))
        vm.recv_frame()
    before = vmrss(vm)
    counts = {"ok": 0, "denied": 0, "malformed": 0, "unknown_op": 0, "failed": 0}
    batch = 100
    for start in range(0, 10000, batch):
        for i in range(start, start + batch):
            vm.send_frame(mixed_frames(i))
        vm.send_raw(struct.pack(">I", 2 << 20))  # oversize: its bytes are skipped ...
        vm.send_raw(b"\0" * (2 << 20))           # ... and the stream stays in step
        for i in range(batch + 1):
            resp = vm.recv_frame()
            counts["ok" if resp["ok"] else resp["error"]["kind"]] += 1
    after = vmrss(vm)
    print(f"\nPID 1 VmRSS before {before} KiB, after 10,000 mixed requests {after} KiB; {counts}")
    assert counts["ok"] >= 2500 and counts["denied"] >= 2500 and counts["malformed"] >= 1300
    assert counts["unknown_op"] == 1250
    assert vm.request("ping")["result"] == {"pong": True}
    assert after - before < 1024, f"VmRSS grew from {before} to {after} KiB"


def test_host_disconnecting_mid_message_can_reconnect(vm):
    assert run(vm, "before-disconnect", TRUE)["ok"]
    assert wait_exit(vm, "before-disconnect")["exit_code"] == 0
    vm.sock.sendall(struct.pack(">I", 500) + b'{"id": 1, "op": "pi')
    vm.sock.close()
    vm.sock = None
    # virtio-serial tells the guest "host closed" and later "host opened" as
    # port states, not as events: a reconnect faster than the guest's next
    # poll would hide the hang-up. Give the guest a moment to see it.
    time.sleep(2)
    deadline = time.monotonic() + WAIT_DEADLINE
    while True:
        try:
            vm.connect()
            assert vm.request("ping")["result"] == {"pong": True}
            break
        except (OSError, AssertionError):
            if time.monotonic() > deadline:
                raise
            vm.sock = None
            time.sleep(0.5)
    # The process table survived: an earlier process is still known.
    assert vm.request("wait_process", {"process_id": "before-disconnect"})["result"]["exit_code"] == 0
