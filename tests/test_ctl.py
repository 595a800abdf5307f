"""`uvm ctl` against a real UVM under QEMU (TCG): one request, set_policy
from a file, scripts in the `uvm policy replay` format, and the exit
statuses 0 (ok), 1 (error response), 2 (usage or transport)."""
import base64
import json
import subprocess

import pytest

from uvmvm import UVM, Vm

POLICY = json.dumps({
    "version": "1",
    "framework": {"allow_properties_access": True},
    "containers": [],
    "external_processes": [
        {"argv": ["/bin/echo", "from", "the", "guest"], "env": [], "working_dir": "/",
         "allow_stdio_access": True},
    ],
}, sort_keys=True).encode()


def ctl(*args, timeout=120):
    p = subprocess.run([UVM, "ctl", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    work = tmp_path_factory.mktemp("ctl")
    (work / "policy.json").write_bytes(POLICY)
    v = Vm.launch(work, policy=work / "policy.json").start()
    try:
        v.wait_ready()
        v.work = work
        yield v
    finally:
        v.kill()


def test_usage_errors_exit_2(tmp_path):
    assert ctl()[0] == 2
    assert ctl("--socket", str(tmp_path / "s"))[0] == 2                      # no op
    assert ctl("--socket", str(tmp_path / "s"), "ping", "{}", "extra")[0] == 2
    rc, _, err = ctl("--socket", str(tmp_path / "absent.sock"), "ping")
    assert rc == 2 and "absent.sock" in err
    rc, out, _ = ctl("--help")
    assert rc == 0 and "exit status" in out


def test_one_request_set_policy_and_denial(vm):
    sock = vm.agent_socket
    rc, out, err = ctl("--socket", sock, "ping")
    assert rc == 0, err
    assert json.loads(out) == {"id": 1, "ok": True, "result": {"pong": True}}
    # Before a policy: denied (exit 1), the response still printed.
    rc, out, _ = ctl("--socket", sock, "get_properties")
    assert rc == 1 and json.loads(out)["error"]["kind"] == "denied"
    rc, _, err = ctl("--socket", sock, "ping", "[1,2]")
    assert rc == 2 and "ARGS_JSON" in err
    rc, out, err = ctl("--socket", sock, "set_policy", "--policy", str(vm.work / "policy.json"))
    assert rc == 0, out + err
    assert json.loads(out)["result"]["policy_sha256"]
    rc, out, _ = ctl("--socket", sock, "get_properties")
    assert rc == 0 and json.loads(out)["result"]["agent_vmrss_kib"] > 0
    rc, out, _ = ctl("--socket", sock, "exec_external", json.dumps(
        {"process_id": "bad", "argv": ["/bin/echo", "other"], "working_dir": "/"}))
    assert rc == 1
    assert json.loads(out)["error"]["reason"]["op"] == "exec_external"


def test_script_in_replay_format(vm, tmp_path):
    sock = vm.agent_socket
    script = tmp_path / "script.json"
    script.write_text(json.dumps([
        {"op": "exec_external", "process_id": "echo", "argv": ["/bin/echo", "from", "the", "guest"],
         "working_dir": "/", "stdio": True},
        {"op": "ping"},
        {"op": "dump_stacks"},  # not allowed by the policy
        {"op": "wait_process", "args": {"process_id": "echo"}},
    ]))
    rc, out, err = ctl("--socket", sock, "--script", str(script))
    lines = [json.loads(line) for line in out.splitlines()]
    assert rc == 1, err
    assert [r["ok"] for r in lines] == [True, True, False, True], lines
    assert [r["id"] for r in lines] == [1, 2, 3, 4]
    # The process's output, read with ctl until EOF.
    data = b""
    for _ in range(200):
        rc, out, _ = ctl("--socket", sock, "read_output", '{"process_id":"echo","stream":"stdout"}')
        res = json.loads(out)["result"]
        data += base64.b64decode(res["data_base64"])
        if res["eof"]:
            break
    assert data == b"from the guest\n"
    script.write_text('{"op": "ping"}')
    assert ctl("--socket", sock, "--script", str(script))[0] == 2
