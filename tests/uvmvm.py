"""Drive a UVM under QEMU (TCG) the way the host does: start it, read its
serial console, talk to the agent over the virtio-serial channel (a unix
socket on the host side), and wait for it to power off.

Waits are on console output or on the process, never fixed sleeps: each wait
has a generous deadline (TCG on a loaded 2-core machine is slow) and fails
with the console tail so a reader sees why."""
import base64
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time

BOOT_TIMEOUT = float(os.environ.get("UVM_BOOT_TIMEOUT", "180"))
KERNEL_CMDLINE = os.environ.get("KERNEL_CMDLINE", "console=ttyS0 panic=-1")
UVM = os.environ.get("UVM", "out/bin/uvm")


def qemu_command(image_dir, agent_socket, memory="512", extra=()):
    """The direct-boot TCG command line (the AmdSev OVMF needs SEV to boot)."""
    return [
        "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-cpu", "max",
        "-m", memory, "-smp", "1", "-no-reboot", "-nodefaults",
        "-display", "none", "-monitor", "none", "-serial", "stdio",
        "-kernel", os.path.join(image_dir, "bzImage"),
        "-initrd", os.path.join(image_dir, "initrd"),
        "-append", KERNEL_CMDLINE,
        "-device", "virtio-serial-pci",
        "-chardev", f"socket,id=agent,path={agent_socket},server=on,wait=off",
        "-device", "virtserialport,chardev=agent,name=uvm.agent",
        *extra,
    ]


class Vm:
    def __init__(self, command, workdir, agent_socket):
        self.command = command
        self.workdir = workdir
        self.agent_socket = agent_socket
        self.console = ""
        self._cond = threading.Condition()
        self.proc = None
        self.sock = None
        self._next_id = 1

    @classmethod
    def direct_boot(cls, image_dir, workdir, extra=()):
        sock = os.path.join(str(workdir), "agent.sock")
        return cls(qemu_command(image_dir, sock, extra=extra), workdir, sock)

    @classmethod
    def launch(cls, workdir, image="out/image-test", policy=None, host_data=None, uvm=UVM, disks=()):
        """Starts the VM the way a user does: `uvm launch` (TCG, test PSP).
        disks: (serial, path) or (serial, path, "ro") tuples for --disk."""
        sock = os.path.join(str(workdir), "agent.sock")
        cmd = [uvm, "launch", "--image", image, "--socket", sock]
        if policy is not None:
            cmd += ["--policy", str(policy)]
        if host_data is not None:
            cmd += ["--host-data", host_data]
        for disk in disks:
            cmd += ["--disk", f"{disk[0]}={disk[1]}" + (":ro" if len(disk) > 2 and disk[2] == "ro" else "")]
        return cls(cmd, workdir, sock)

    def start(self):
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _pump(self):
        log = open(os.path.join(str(self.workdir), "console.log"), "wb")
        for chunk in iter(lambda: self.proc.stdout.read1(4096), b""):
            log.write(chunk)
            log.flush()
            with self._cond:
                self.console += chunk.decode("utf-8", "replace")
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def tail(self, n=3000):
        return self.console[-n:]

    def wait_console(self, pattern, timeout=BOOT_TIMEOUT):
        """Waits until the console matches pattern; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self.console)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not rx.search(self.console)):
                    if self.proc.poll() is not None:
                        time.sleep(0)  # let the pump thread drain
                    m = rx.search(self.console)
                    if m:
                        return m
                    raise AssertionError(f"console never showed /{pattern}/ "
                                         f"(qemu exit {self.proc.poll()}); console tail:\n{self.tail()}")
                self._cond.wait(min(left, 1.0))

    def wait_ready(self):
        self.wait_console(r"uvm-init: ready")
        return time.monotonic() - self.started_at

    # ----------------------------------------------------------- agent channel
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(BOOT_TIMEOUT)
        self.sock.connect(self.agent_socket)
        return self.sock

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, body):
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise AssertionError(f"agent closed the channel; console tail:\n{self.tail()}")
            data += chunk
        return data

    def recv_frame(self):
        (n,) = struct.unpack(">I", self._recv_exact(4))
        return json.loads(self._recv_exact(n))

    def request(self, op, args=None):
        if self.sock is None:
            self.connect()
        msg = {"id": self._next_id, "op": op}
        if args is not None:
            msg["args"] = args
        self._next_id += 1
        self.send_frame(json.dumps(msg).encode())
        return self.recv_frame()

    # ----------------------------------------------------------- shutdown
    def wait_exit(self, timeout=BOOT_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"VM did not power off in {timeout}s; console tail:\n{self.tail()}")

    def kill(self):
        if self.sock:
            self.sock.close()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ----------------------------------------------------------- the host's side
# Helpers every QEMU suite uses to drive the agent as the host does.
WAIT_DEADLINE = 60


def ok(resp):
    """The result of an answer that must be a success."""
    assert resp["ok"], resp
    return resp["result"]


def denied(resp, kinds=("denied",)):
    """The error of an answer that must be a refusal of one of kinds."""
    assert not resp["ok"] and resp["error"]["kind"] in kinds, resp
    return resp["error"]


def poll(vm, op, args, done, deadline=WAIT_DEADLINE):
    """Repeats op until done(result); fails with the console after deadline s."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = ok(vm.request(op, args))
        if done(result):
            return result
        time.sleep(0.05)
    raise AssertionError(f"{op} {args} never finished; console:\n{vm.tail()}")


def read_stream(vm, addr):
    """All of a process's stream (read_output until eof)."""
    out = b""
    while True:
        r = poll(vm, "read_output", addr, lambda r: r["bytes"] > 0 or r["eof"])
        out += base64.b64decode(r["data_base64"])
        if r["eof"]:
            return out


def bind_and_mount(vm, policy_path, layers, scratch_serial="scratch"):
    """set_policy with the file's bytes, mount_device for each layer (disk
    serials layer0, layer1, ...), an encrypted scratch; returns its target."""
    with open(policy_path, "rb") as f:
        ok(vm.request("set_policy", {"policy_base64": base64.b64encode(f.read()).decode()}))
    for i, layer in enumerate(layers):
        ok(vm.request("mount_device", {"serial": f"layer{i}", "root_hash": layer["root_hash"]}))
    return ok(vm.request("scratch_mount", {"serial": scratch_serial, "encrypted": True}))["target"]
