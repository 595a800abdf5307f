"""A hostile host, request by request: one table of requests a malicious host
can send, each with the refusal it must get, run twice:

1. through the host engine, `uvm policy replay` (no QEMU), for every row that
   is a pure policy decision (column "where" = BOTH): the engine's own
   verdict, with the rule and field its reason must name;
2. every row against the real test image under QEMU (TCG), one VM for the
   module: the agent's answer (kind "denied", "malformed", "unknown_op" or
   "failed", and the rule/field or message fragment), then a ping that must
   still be answered on the same connection. The last test shows the guest
   still does what the policy allows (so the table cannot pass by the guest
   being dead, and the base requests the rows change were allowed ones).

Each row is one pytest case named by its attack. A row is
(attack, request, refusal, where):
- request: (op, args) in the agent's protocol (docs/protocol.md); Seq(...)
  of such steps, where every step before the last must succeed; or Raw(bytes) for a frame sent
  as is. "@L0@", "@L1@" and "@X@" stand for the two sample layers' root
  hashes and a stranger layer's (a disk the policy does not know).
- refusal: deny(rule, field[, cand]) = kind "denied" and the reason lists
  (rule, field), in candidate `cand` if given (whose failures must then be of
  that rule only: the row changes one thing of an allowed request); or
  refuse(kind, fragment): the kind and a fragment of the message or of the
  engine's "error".
- where: BOTH (engine and guest) or GUEST (the agent refuses before or after
  the engine: frames, serials, paths, the device's real root hash, user
  names resolved in the layers, a scratch still in use, a container not yet
  started; and the ops that ask no decision: start, stdio, waits). For the
  GUEST rows that reach the engine with valid fields (user names, the
  scratch in use, exec before start) `uvm policy replay` alone says
  "allowed": it does not know those facts.

For the engine run the agent's requests are translated as the agent does
(mount_device -> target + device_hash, exec_external without process_id,
...); agent-only steps (start_container) are left out.

The guest's state for every row (PREAMBLE): layers L0, L1 mounted, the
stranger disk attached but not mounted, an encrypted scratch, overlays for
"web1" (container created and started, exec process "p-live" running),
"fresh" and "named1" (no container). docs/threat-model.md points here."""
import base64
import json
import re
import subprocess
import tarfile
import time

import pytest

from test_e2e import sample_layers
from uvmvm import UVM, Vm, ok, poll, read_stream

IMAGE = "out/image-test"
SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
CAPS_NONE = {s: [] for s in SETS}

# ------------------------------------------------------------------ the policy

SLEEP = ["/bin/busybox", "sleep", "1000"]
SLEEP500 = ["/bin/busybox", "sleep", "500"]
ECHO = ["/bin/busybox", "echo", "hi"]
M_TMP = {"source": "tmpfs", "destination": "/tmp", "type": "tmpfs", "options": ["nosuid", "nodev", "noexec"]}
M_DATA = {"source": "tmpfs", "destination": "/data", "type": "tmpfs", "options": ["nosuid", "nodev"]}
M_EXTRA = {"source": "/run/layers", "destination": "/mnt", "type": "bind", "options": ["rbind", "ro"]}
WEB_CAPS = dict(CAPS_NONE, bounding=["CAP_CHOWN", "CAP_KILL"])
LAYERS = ["@L0@", "@L1@"]

WEB = {"name": "web", "layers": LAYERS, "argv": SLEEP,
       "env": [{"rule": "PATH=/bin", "required": True}, {"rule": "GREETING=hello"},
               {"rule": "MODE=(fast|slow)", "strategy": "regex"}],
       "working_dir": "/app", "mounts": [M_TMP, M_DATA],
       "user": {"uid": 1000, "gid": 1000, "umask": "0022"}, "capabilities": WEB_CAPS,
       "no_new_privileges": True, "allow_elevated": False, "allow_stdio_access": False,
       "signals": [15],
       "exec_processes": [{"argv": SLEEP500, "signals": [10]}, {"argv": ECHO, "signals": []}]}
BATCH = {"name": "batch", "layers": LAYERS, "argv": ["/bin/busybox", "sh", "-c", "echo batch"], "env": [],
         "working_dir": "/", "user": {"uid": 0, "gid": 0, "umask": "0022"},
         "capabilities": dict(CAPS_NONE, bounding=["CAP_CHOWN"], effective=["CAP_CHOWN"], permitted=["CAP_CHOWN"]),
         "no_new_privileges": True, "allow_stdio_access": True, "seccomp": {"profile": "default", "deny": ["chown"]}}
NAMED = {"name": "named", "layers": LAYERS, "argv": ["/bin/busybox", "id"], "env": [], "working_dir": "/",
         "user": {"name": "app", "group": "app", "umask": "0022"}, "capabilities": CAPS_NONE,
         "no_new_privileges": True, "allow_stdio_access": True}
EXTERNAL = [{"argv": ["/bin/true"], "env": [{"rule": "PATH=/bin"}], "working_dir": "/", "allow_stdio_access": False},
            {"argv": ["/bin/pwd"], "env": [], "working_dir": "/", "allow_stdio_access": True}]
POLICY = {"version": "1", "framework": {}, "containers": [WEB, BATCH, NAMED], "external_processes": EXTERNAL}

# ------------------------------------------------------------------ requests


def web_create(cid="fresh", **override):
    """The create request WEB allows, exactly; rows change one thing."""
    args = {"container_id": cid, "argv": SLEEP, "env": ["PATH=/bin", "GREETING=hello", "MODE=fast"],
            "working_dir": "/app", "mounts": [M_TMP, M_DATA], "user": {"uid": 1000, "gid": 1000, "umask": "0022"},
            "capabilities": WEB_CAPS, "no_new_privileges": True}
    args.update(override)
    return ("create_container", {k: v for k, v in args.items() if v is not DROP})


def without(key):
    """web_create(...) with one key left out."""
    return {key: DROP}


DROP = object()


def web_caps(**sets):
    return dict(WEB_CAPS, **sets)


def web_user(**kw):
    return dict({"uid": 1000, "gid": 1000, "umask": "0022"}, **kw)


def batch_create(cid="fresh", **override):
    args = {"container_id": cid, "argv": BATCH["argv"], "env": [], "working_dir": "/", "mounts": [],
            "user": {"uid": 0, "gid": 0, "umask": "0022"}, "capabilities": BATCH["capabilities"],
            "no_new_privileges": True, "stdio": True, "seccomp": BATCH["seccomp"]}
    args.update(override)
    return ("create_container", {k: v for k, v in args.items() if v is not DROP})


def named_create(cid="named1", **user):
    u = dict({"uid": 1000, "gid": 1000, "name": "app", "group": "app", "umask": "0022"}, **user)
    return ("create_container", {"container_id": cid, "argv": NAMED["argv"], "env": [], "working_dir": "/",
                                 "mounts": [], "user": {k: v for k, v in u.items() if v is not DROP},
                                 "capabilities": CAPS_NONE, "no_new_privileges": True, "stdio": True})


def web_exec(pid="p-new", **override):
    args = {"container_id": "web1", "process_id": pid, "argv": ECHO, "env": ["PATH=/bin"], "working_dir": "/app"}
    args.update(override)
    return ("exec_in_container", {k: v for k, v in args.items() if v is not DROP})


def external(**override):
    args = {"process_id": "x1", "argv": ["/bin/true"], "env": ["PATH=/bin"], "working_dir": "/"}
    args.update(override)
    return ("exec_external", {k: v for k, v in args.items() if v is not DROP})


def overlay(cid, layers=("/run/layers/@L0@", "/run/layers/@L1@"), scratch="/run/scratch/scratch", size=4 << 20):
    """mount_overlay; on a scratch with a 4 MiB writable layer (scratch_bytes),
    so that the rows' overlays share the scratch."""
    args = {"container_id": cid, "layers": list(layers)}
    if scratch is not None:
        args["scratch"] = scratch
        if size is not None:
            args["scratch_bytes"] = size
    return ("mount_overlay", args)


def running(cid):
    """Steps that leave a started WEB container `cid`."""
    return [overlay(cid), web_create(cid), ("start_container", {"container_id": cid})]


class Seq:
    """Requests in order: every step but the last must succeed."""

    def __init__(self, *steps):
        self.steps = list(steps)


class Raw:
    """A frame sent as is: body bytes, and optionally another length header
    (with `pad` bytes after it, so the stream stays in step)."""

    def __init__(self, body, header=None, pad=b""):
        self.body, self.header, self.pad = body, header, pad


class Refusal:
    def __init__(self, kind, rule=None, field=None, cand=None, text=None, also=()):
        self.kind, self.rule, self.field, self.cand, self.text = kind, rule, field, cand, text
        self.also = set(also)

    def __repr__(self):
        return (f"Refusal({self.kind!r}, rule={self.rule!r}, field={self.field!r}, cand={self.cand!r}, "
                f"text={self.text!r})")


def deny(rule, field, cand=None, also=()):
    """also: other rules the change legitimately breaks too (a changed PATH
    is also a missing required PATH)."""
    return Refusal("denied", rule=rule, field=field, cand=cand, also=also)


def refuse(kind, text):
    return Refusal(kind, text=text)


BOTH, GUEST = "both", "guest"
L0, L1, X = "/run/layers/@L0@", "/run/layers/@L1@", "/run/layers/@X@"
LONG_ID = "a" * 129
SECRET = "s3cr3t"  # a value that must never come back in a reason (env values are redacted)
HUGE_ARG = "A" * 100_000

# ------------------------------------------------------------------ the table

ROWS = [
    # ---- mount_device
    ("mount_device: a root hash no policy container has (the stranger disk's own)",
     ("mount_device", {"serial": "stranger", "root_hash": "@X@"}), deny("layers", "device_hash"), BOTH),
    ("mount_device: the stranger disk claims a policy layer's hash",
     ("mount_device", {"serial": "stranger", "root_hash": "@L1@"}), deny("device_root_hash", None), GUEST),
    ("mount_device: a policy layer's disk claims the stranger's hash",
     ("mount_device", {"serial": "layer1", "root_hash": "@X@"}), deny("device_root_hash", None), GUEST),
    ("mount_device: the base layer's disk claims the top layer's hash",
     ("mount_device", {"serial": "layer0", "root_hash": "@L1@"}), deny("device_root_hash", None), GUEST),
    # Facts are the guest's: a host that states them (here the hash of a policy layer
    # for the stranger disk, which would pass the layers rule) is refused before any
    # decision, so the engine only ever sees what the guest read from the device.
    ("mount_device: the host states the device's hash (a fact)",
     ("mount_device", {"serial": "stranger", "root_hash": "@X@", "device_hash": "@L1@"}),
     refuse("malformed", "unknown key"), GUEST),
    ("mount_device: the host chooses the target (a fact)",
     ("mount_device", {"serial": "stranger", "root_hash": "@X@", "target": "/run/layers/@L1@"}),
     refuse("malformed", "unknown key"), GUEST),
    ("mount_device: a layer that is mounted already",
     ("mount_device", {"serial": "layer0", "root_hash": "@L0@"}), deny("state", "target"), BOTH),
    ("mount_device: the mounted layer's hash in upper case",
     ("mount_device", {"serial": "layer0", "root_hash": "@L0U@"}), deny("state", "target"), GUEST),
    ("mount_device: a root hash of 63 digits",
     ("mount_device", {"serial": "layer0", "root_hash": "@L0-63@"}), refuse("malformed", "64 hex digits"),
     GUEST),
    ("mount_device: a root hash that is not hex",
     ("mount_device", {"serial": "layer0", "root_hash": "zz" * 32}), refuse("malformed", "64 hex digits"), GUEST),
    ("mount_device: an empty serial",
     ("mount_device", {"serial": "", "root_hash": "@L0@"}), refuse("malformed", "serial"), GUEST),
    ("mount_device: a serial that climbs (../layer0)",
     ("mount_device", {"serial": "../layer0", "root_hash": "@L0@"}), refuse("malformed", "serial"), GUEST),
    ("mount_device: a device path as serial (/dev/vda)",
     ("mount_device", {"serial": "/dev/vda", "root_hash": "@L0@"}), refuse("malformed", "serial"), GUEST),
    ("mount_device: a serial of 21 characters",
     ("mount_device", {"serial": "s" * 21, "root_hash": "@L0@"}), refuse("malformed", "serial"), GUEST),
    ("mount_device: a serial with a newline",
     ("mount_device", {"serial": "layer0\nx", "root_hash": "@L0@"}), refuse("malformed", "serial"), GUEST),
    ("mount_device: a serial with a dot (layer0.)",
     ("mount_device", {"serial": "layer0.", "root_hash": "@L0@"}), refuse("malformed", "serial"), GUEST),
    ("mount_device: a serial no disk has",
     ("mount_device", {"serial": "nosuchdisk", "root_hash": "@L0@"}), refuse("failed", "nosuchdisk"), GUEST),
    ("mount_device: the scratch disk passed off as a layer",
     ("mount_device", {"serial": "scratch", "root_hash": "@L0@"}), refuse("failed", "not a layer image"), GUEST),
    ("mount_device: the host chooses the target",
     ("mount_device", {"serial": "stranger", "root_hash": "@X@", "target": "/run/layers/@L0@"}),
     refuse("malformed", "unknown key"), GUEST),
    ("mount_device: serial of the wrong type",
     ("mount_device", {"serial": 0, "root_hash": "@L0@"}), refuse("malformed", ".serial: "), GUEST),
    ("mount_device: verify of the wrong type",
     ("mount_device", {"serial": "layer0", "root_hash": "@L0@", "verify": "yes"}), refuse("malformed", ".verify: "),
     GUEST),
    ("mount_device: no arguments", ("mount_device", None), refuse("malformed", "mount_device"), GUEST),
    # ---- unmount_device
    ("unmount_device: the base layer under mounted overlays",
     ("unmount_device", {"target": L0}), deny("state", "target"), BOTH),
    ("unmount_device: the base layer by a detour (/run/layers/../layers/L0)",
     ("unmount_device", {"target": "/run/layers/../layers/@L0@"}), deny("state", "target"), BOTH),
    ("unmount_device: the top layer with a trailing slash",
     ("unmount_device", {"target": L1 + "/"}), deny("state", "target"), BOTH),
    ("unmount_device: a layer that was never mounted",
     ("unmount_device", {"target": X}), deny("state", "target"), BOTH),
    ("unmount_device: the root directory", ("unmount_device", {"target": "/"}), deny("state", "target"), BOTH),
    # ---- scratch
    ("scratch_mount: unencrypted without allow_unencrypted_scratch",
     ("scratch_mount", {"serial": "scratch2", "encrypted": False}), deny("allow_unencrypted_scratch", "encrypted"),
     BOTH),
    ("scratch_mount: the mounted scratch again, unencrypted",
     ("scratch_mount", {"serial": "scratch", "encrypted": False}), deny("allow_unencrypted_scratch", "encrypted"),
     BOTH),
    ("scratch_mount: a scratch that is mounted already",
     ("scratch_mount", {"serial": "scratch", "encrypted": True}), deny("state", "target"), BOTH),
    ("scratch_mount: a serial that climbs (../scratch)",
     ("scratch_mount", {"serial": "../scratch"}), refuse("malformed", "serial"), GUEST),
    ("scratch_mount: the host chooses the target",
     ("scratch_mount", {"serial": "scratch2", "target": "/run/layers/@L0@"}), refuse("malformed", "unknown key"),
     GUEST),
    ("scratch_mount: encrypted as a string",
     ("scratch_mount", {"serial": "scratch2", "encrypted": "false"}), refuse("malformed", ".encrypted: "), GUEST),
    ("scratch_unmount: the scratch that holds the containers' upper dirs",
     ("scratch_unmount", {"target": "/run/scratch/scratch"}), refuse("failed", "unmount its overlay first"), GUEST),
    ("scratch_unmount: a scratch that is not mounted",
     ("scratch_unmount", {"target": "/run/scratch/nosuch"}), refuse("failed", "no scratch disk is mounted"), GUEST),
    ("scratch_unmount: the scratch by a detour",
     ("scratch_unmount", {"target": "/run/scratch/../scratch/scratch"}),
     refuse("failed", "no scratch disk is mounted"), GUEST),
    # ---- mount_overlay
    ("mount_overlay: layers in the wrong order",
     overlay("o1", [L1, L0]), deny("layers", "layers"), BOTH),
    ("mount_overlay: the top layer missing", overlay("o1", [L0]), deny("layers", "layers"), BOTH),
    ("mount_overlay: the base layer missing", overlay("o1", [L1]), deny("layers", "layers"), BOTH),
    ("mount_overlay: an extra layer on top", overlay("o1", [L0, L1, L1]), deny("layers", "layers"), BOTH),
    ("mount_overlay: the base layer twice", overlay("o1", [L0, L0]), deny("layers", "layers"), BOTH),
    ("mount_overlay: a layer that is not mounted", overlay("o1", [L0, X]), deny("state", "layers[1]"), BOTH),
    ("mount_overlay: no layers at all", overlay("o1", []), refuse("malformed", "expected 1 to 1024 strings"), BOTH),
    ("mount_overlay: a scratch that is not mounted",
     overlay("o1", scratch="/run/scratch/nosuch"), refuse("failed", "no scratch disk is mounted"), GUEST),
    ("mount_overlay: a layer as the scratch",
     overlay("o1", scratch=L0), refuse("failed", "no scratch disk is mounted"), GUEST),
    ("mount_overlay: the scratch by a detour",
     overlay("o1", scratch="/run/scratch/scratch/../../layers/@L0@"), refuse("failed", "no scratch disk is mounted"),
     GUEST),
    ("mount_overlay: container id .. (dot-dot)", overlay(".."), refuse("malformed", "container_id"), GUEST),
    ("mount_overlay: container id . (dot)", overlay("."), refuse("malformed", "container_id"), GUEST),
    ("mount_overlay: container id with a slash", overlay("fresh/rootfs"), refuse("malformed", "container_id"), GUEST),
    ("mount_overlay: container id that climbs", overlay("../../layers/x"), refuse("malformed", "container_id"),
     GUEST),
    ("mount_overlay: container id of 129 characters", overlay(LONG_ID), refuse("malformed", "container_id"), GUEST),
    ("mount_overlay: empty container id", overlay(""), refuse("malformed", "container_id"), GUEST),
    ("mount_overlay: container id with NUL", overlay("o1\x00x"), refuse("malformed", "NUL"), GUEST),
    ("mount_overlay: container id with a newline", overlay("o1\nx"), refuse("malformed", "container_id"), GUEST),
    ("mount_overlay: container id with a non-ASCII letter", overlay("w\u00e9b"), refuse("malformed", "container_id"),
     GUEST),
    ("mount_overlay: container id with a space", overlay("o 1"), refuse("malformed", "container_id"), GUEST),
    ("mount_overlay: container id with a lone surrogate", overlay("o\ud8001"), refuse("malformed", "surrogate"),
     GUEST),
    ("mount_overlay: a layer by a detour",
     overlay("o1", ["/run/layers/../layers/@L0@", L1]), refuse("malformed", "layers[0]"), GUEST),
    ("mount_overlay: a layer's parent (L0/..)",
     overlay("o1", [L0 + "/..", L1]), refuse("malformed", "layers[0]"), GUEST),
    ("mount_overlay: the scratch as a layer",
     overlay("o1", ["/run/scratch/scratch", L1]), refuse("malformed", "layers[0]"), GUEST),
    ("mount_overlay: layers that are not strings",
     ("mount_overlay", {"container_id": "o1", "layers": [1, 2], "scratch": "/run/scratch/scratch"}),
     refuse("malformed", "layers[0]"), GUEST),
    ("mount_overlay: a container that has a root already", overlay("web1"), deny("state", "container_id"), BOTH),
    ("mount_overlay: an id with an overlay but no container yet", overlay("fresh"), deny("state", "target"), BOTH),
    ("mount_overlay: the host chooses the target",
     ("mount_overlay", {"container_id": "o1", "layers": [L0, L1], "target": "/run/layers/x"}),
     refuse("malformed", "unknown key"), GUEST),
    ("mount_overlay: no arguments", ("mount_overlay", None), refuse("malformed", "mount_overlay"), GUEST),
    ("mount_overlay: the host states the writable layer's size",
     ("mount_overlay", {"container_id": "o1", "layers": [L0, L1], "scratch": "/run/scratch/scratch",
                        "upper_bytes": 4 << 20}), refuse("malformed", "unknown key"), GUEST),
    ("mount_overlay: a writable layer below 4 MiB",
     overlay("o1", size=(4 << 20) - 1), refuse("malformed", "scratch_bytes"), GUEST),
    ("mount_overlay: a writable layer of more than 1 PiB",
     overlay("o1", size=(1 << 50) + 1), refuse("malformed", "scratch_bytes"), GUEST),
    ("mount_overlay: a writable layer larger than the scratch",
     overlay("o1", size=1 << 40), refuse("failed", "bytes free in one piece"), GUEST),
    ("mount_overlay: a writable layer's size without a scratch",
     ("mount_overlay", {"container_id": "o1", "layers": [L0, L1], "scratch_bytes": 4 << 20}),
     refuse("malformed", "scratch_bytes"), GUEST),
    # ---- unmount_overlay
    ("unmount_overlay: the root of a running container",
     ("unmount_overlay", {"target": "/run/containers/web1/rootfs"}), deny("state", "container_id"), BOTH),
    ("unmount_overlay: a running container's root by a detour",
     ("unmount_overlay", {"target": "/run/containers/fresh/../web1/rootfs"}), deny("state", "target"), BOTH),
    ("unmount_overlay: a layer instead of an overlay",
     ("unmount_overlay", {"target": L0}), deny("state", "target"), BOTH),
    ("unmount_overlay: an overlay never mounted",
     ("unmount_overlay", {"target": "/run/containers/ghost/rootfs"}), deny("state", "target"), BOTH),
    # ---- create_container: argv
    ("create_container: argv[2] changed by one char", web_create(argv=SLEEP[:2] + ["1001"]),
     deny("argv", "argv[2]", "web"), BOTH),
    ("create_container: argv with an extra argument", web_create(argv=SLEEP + ["--x"]), deny("argv", "argv", "web"),
     BOTH),
    ("create_container: argv missing an argument", web_create(argv=SLEEP[:2]), deny("argv", "argv", "web"), BOTH),
    ("create_container: argv[0] by another path to the same file",
     web_create(argv=["/bin/../bin/busybox"] + SLEEP[1:]), deny("argv", "argv[0]", "web"), BOTH),
    ("create_container: argv[0] another binary", web_create(argv=["/bin/sh"] + SLEEP[1:]),
     deny("argv", "argv[0]", "web"), BOTH),
    ("create_container: empty argv", web_create(argv=[]), refuse("malformed", "expected 1 to 1024 strings"), BOTH),
    ("create_container: argv of 1025 strings", web_create(argv=["x"] * 1025),
     refuse("malformed", "expected 1 to 1024 strings"), BOTH),
    ("create_container: argv with a 100 KB argument", web_create(argv=SLEEP[:2] + [HUGE_ARG]),
     deny("argv", "argv[2]", "web"), BOTH),
    ("create_container: argv with a number", web_create(argv=SLEEP[:2] + [1000]),
     refuse("malformed", "expected a string"), BOTH),
    # ---- create_container: env
    ("create_container: env value changed", web_create(env=["PATH=/bin", "GREETING=" + SECRET, "MODE=fast"]),
     deny("env", "env[1]", "web"), BOTH),
    ("create_container: env with LD_PRELOAD added",
     web_create(env=["PATH=/bin", "GREETING=hello", "MODE=fast", "LD_PRELOAD=/tmp/" + SECRET + ".so"]),
     deny("env", "env[3]", "web"), BOTH),
    ("create_container: env PATH extended", web_create(env=["PATH=/tmp:/bin", "GREETING=hello", "MODE=fast"]),
     deny("env", "env[0]", "web", also={"env_required"}), BOTH),
    ("create_container: env without the required PATH", web_create(env=["GREETING=hello", "MODE=fast"]),
     deny("env_required", "env", "web"), BOTH),
    ("create_container: env regex, a newline then another variable",
     web_create(env=["PATH=/bin", "GREETING=hello", "MODE=fast\nLD_PRELOAD=/tmp/" + SECRET]),
     deny("env", "env[2]", "web"), BOTH),
    ("create_container: env regex, both alternatives glued (fastslow)",
     web_create(env=["PATH=/bin", "GREETING=hello", "MODE=fastslow"]), deny("env", "env[2]", "web"), BOTH),
    ("create_container: env regex, the alternation itself (fast|slow)",
     web_create(env=["PATH=/bin", "GREETING=hello", "MODE=fast|slow"]), deny("env", "env[2]", "web"), BOTH),
    ("create_container: env regex, a prefix that matches (fast;id)",
     web_create(env=["PATH=/bin", "GREETING=hello", "MODE=fast;id"]), deny("env", "env[2]", "web"), BOTH),
    ("create_container: env regex, empty value", web_create(env=["PATH=/bin", "GREETING=hello", "MODE="]),
     deny("env", "env[2]", "web"), BOTH),
    ("create_container: env name in another case added",
     web_create(env=["PATH=/bin", "GREETING=hello", "MODE=fast", "path=/tmp"]), deny("env", "env[3]", "web"), BOTH),
    ("create_container: env with NUL then another variable",
     web_create(env=["PATH=/bin", "GREETING=hello", "MODE=fast\x00LD_PRELOAD=/tmp/x.so"]), refuse("malformed", "NUL"),
     GUEST),
    ("create_container: argv with NUL", web_create(argv=SLEEP[:2] + ["1000\x00; sh"]), refuse("malformed", "NUL"),
     GUEST),
    ("create_container: env entry without =", web_create(env=["PATH=/bin", "GREETING"]),
     refuse("malformed", "expected NAME=VALUE"), BOTH),
    ("create_container: env entry with an empty name", web_create(env=["PATH=/bin", "=x"]),
     refuse("malformed", "expected NAME=VALUE"), BOTH),
    ("create_container: env as an object", web_create(env={"PATH": "/bin"}), refuse("malformed", ".env: "), BOTH),
    ("create_container: env of 1025 entries", web_create(env=["PATH=/bin"] * 1025),
     refuse("malformed", "expected 0 to 1024 strings"), BOTH),
    # ---- create_container: working_dir
    ("create_container: working_dir /", web_create(working_dir="/"), deny("working_dir", "working_dir", "web"), BOTH),
    ("create_container: working_dir with a trailing slash", web_create(working_dir="/app/"),
     deny("working_dir", "working_dir", "web"), BOTH),
    ("create_container: working_dir by a detour", web_create(working_dir="/app/../app"),
     deny("working_dir", "working_dir", "web"), BOTH),
    ("create_container: working_dir relative", web_create(working_dir="app"), refuse("malformed", "absolute path"), BOTH),
    # ---- create_container: capabilities
    *[(f"create_container: CAP_SYS_ADMIN added to {s}",
       web_create(capabilities=web_caps(**{s: WEB_CAPS[s] + ["CAP_SYS_ADMIN"]})), deny("capabilities", f"capabilities.{s}", "web"), BOTH) for s in SETS],
    ("create_container: CAP_KILL left out of bounding", web_create(capabilities=web_caps(bounding=["CAP_CHOWN"])),
     deny("capabilities", "capabilities.bounding", "web"), BOTH),
    ("create_container: an unknown capability name", web_create(capabilities=web_caps(effective=["CAP_ALL"])),
     deny("capabilities", "capabilities.effective", "web"), BOTH),
    ("create_container: capabilities without the ambient set",
     web_create(capabilities={s: WEB_CAPS[s] for s in SETS if s != "ambient"}),
     refuse("malformed", 'missing required key "ambient"'), BOTH),
    ("create_container: a capability set as a string", web_create(capabilities=web_caps(effective="CAP_SYS_ADMIN")),
     refuse("malformed", ".capabilities.effective: "), BOTH),
    # ---- create_container: privilege flags and stdio
    ("create_container: privileged without allow_elevated", web_create(privileged=True),
     deny("allow_elevated", "privileged", "web"), BOTH),
    ("create_container: no_new_privileges false when the policy requires it", web_create(no_new_privileges=False),
     deny("no_new_privileges", "no_new_privileges", "web"), BOTH),
    ("create_container: no_new_privileges left out", web_create(**without("no_new_privileges")),
     deny("no_new_privileges", "no_new_privileges", "web"), BOTH),
    ("create_container: stdio without allow_stdio_access", web_create(stdio=True),
     deny("allow_stdio_access", "stdio", "web"), BOTH),
    ("create_container: privileged as a number", web_create(privileged=1), refuse("malformed", ".privileged: "), BOTH),
    ("create_container: stdio as a string", web_create(stdio="true"), refuse("malformed", ".stdio: "), BOTH),
    # ---- create_container: mounts
    ("create_container: mounts, the /tmp tmpfs dropped", web_create(mounts=[M_DATA]),
     deny("mounts", "mounts", "web"), BOTH),
    ("create_container: mounts, all dropped", web_create(mounts=[]), deny("mounts", "mounts", "web"), BOTH),
    ("create_container: mounts, the key left out", web_create(**without("mounts")),
     deny("mounts", "mounts", "web"), BOTH),
    ("create_container: mounts, reordered", web_create(mounts=[M_DATA, M_TMP]),
     deny("mounts", "mounts[1].destination", "web"), BOTH),
    ("create_container: mounts, an extra bind of /run/layers", web_create(mounts=[M_TMP, M_DATA, M_EXTRA]),
     deny("mounts", "mounts[2].destination", "web"), BOTH),
    ("create_container: mounts, one twice", web_create(mounts=[M_TMP, M_TMP, M_DATA]),
     deny("mounts", "mounts[1].destination", "web"), BOTH),
    ("create_container: mounts, option dev added",
     web_create(mounts=[dict(M_TMP, options=M_TMP["options"] + ["dev"]), M_DATA]),
     deny("mounts", "mounts[0].options", "web"), BOTH),
    ("create_container: mounts, suid instead of nosuid",
     web_create(mounts=[M_TMP, dict(M_DATA, options=["suid", "nodev"])]),
     deny("mounts", "mounts[1].options", "web"), BOTH),
    ("create_container: mounts, noexec left out",
     web_create(mounts=[dict(M_TMP, options=["nosuid", "nodev"]), M_DATA]),
     deny("mounts", "mounts[0].options", "web"), BOTH),
    ("create_container: mounts, an option twice",
     web_create(mounts=[M_TMP, dict(M_DATA, options=["nosuid", "nosuid"])]),
     deny("mounts", "mounts[1].options", "web"), BOTH),
    ("create_container: mounts, source changed",
     web_create(mounts=[dict(M_TMP, source="/run/layers"), M_DATA]), deny("mounts", "mounts[0].source", "web"), BOTH),
    ("create_container: mounts, type changed to bind",
     web_create(mounts=[dict(M_TMP, type="bind"), M_DATA]), deny("mounts", "mounts[0].type", "web"), BOTH),
    ("create_container: mounts, a destination by a detour (/tmp/../etc)",
     web_create(mounts=[dict(M_TMP, destination="/tmp/../etc"), M_DATA]), deny("mounts", "mounts", "web"), BOTH),
    ("create_container: mounts, a relative destination",
     web_create(mounts=[dict(M_TMP, destination="tmp"), M_DATA]), refuse("malformed", "absolute path"), BOTH),
    ("create_container: mounts, the policy's optional flag in the request",
     web_create(mounts=[dict(M_TMP, optional=True), M_DATA]), refuse("malformed", "unknown key"), BOTH),
    ("create_container: mounts, 1025 of them", web_create(mounts=[M_TMP] * 1025),
     refuse("malformed", "at most 1024 mounts"), BOTH),
    # ---- create_container: seccomp
    ("create_container: seccomp unconfined", web_create(seccomp={"profile": "unconfined"}),
     deny("seccomp", "seccomp.profile", "web"), BOTH),
    ("create_container: seccomp default plus allow ptrace",
     web_create(seccomp={"profile": "default", "allow": ["ptrace"]}), deny("seccomp", "seccomp.allow", "web"), BOTH),
    ("create_container: seccomp default plus a deny the policy lacks",
     web_create(seccomp={"profile": "default", "deny": ["chmod"]}), deny("seccomp", "seccomp.deny", "web"), BOTH),
    ("create_container: seccomp, an unknown syscall name",
     web_create(seccomp={"profile": "default", "allow": ["no_such_call"]}),
     refuse("malformed", "unknown syscall name"), BOTH),
    ("create_container: seccomp, an unknown profile", web_create(seccomp={"profile": "permissive"}),
     refuse("malformed", ".seccomp.profile: "), BOTH),
    ("create_container: seccomp, the policy's deny entry left out (batch)",
     batch_create(seccomp={"profile": "default"}), deny("seccomp", "seccomp.deny", "batch"), BOTH),
    ("create_container: seccomp left out where the policy denies more (batch)", batch_create(seccomp=DROP),
     deny("seccomp", "seccomp.deny", "batch"), BOTH),
    # ---- create_container: user
    ("create_container: uid by one", web_create(user=web_user(uid=1001)), deny("user", "user.uid", "web"), BOTH),
    ("create_container: uid 0", web_create(user=web_user(uid=0)), deny("user", "user.uid", "web"), BOTH),
    ("create_container: gid by one", web_create(user=web_user(gid=1001)), deny("user", "user.gid", "web"), BOTH),
    ("create_container: umask by one", web_create(user=web_user(umask="0023")), deny("user", "user.umask", "web"),
     BOTH),
    ("create_container: umask 0000", web_create(user=web_user(umask="0000")), deny("user", "user.umask", "web"),
     BOTH),
    ("create_container: umask of two digits", web_create(user=web_user(umask="22")),
     refuse("malformed", "4 octal digits"), BOTH),
    ("create_container: uid -1", web_create(user=web_user(uid=-1)), refuse("malformed", "out of range"), BOTH),
    ("create_container: uid 4294967295", web_create(user=web_user(uid=4294967295)),
     refuse("malformed", "out of range"), BOTH),
    ("create_container: uid as a string", web_create(user=web_user(uid="1000")), refuse("malformed", ".user.uid: "), BOTH),
    ("create_container: uid as a fraction", web_create(user=web_user(uid=1000.5)), refuse("malformed", ".user.uid: "),
     BOTH),
    ("create_container: user with an unknown key", web_create(user=web_user(home="/root")),
     refuse("malformed", "unknown key"), BOTH),
    ("create_container: user by name with uid 0 (named)", named_create(uid=0, gid=0), refuse("denied", "uid 1000"),
     GUEST),
    ("create_container: user by name with gid 0 (named)", named_create(gid=0), refuse("denied", "gid 1000"), GUEST),
    ("create_container: the policy's uid with the name root", web_create(user=web_user(name="root")),
     refuse("denied", "is not user 'root'"), GUEST),
    ("create_container: the policy's gid with the group root", web_create(user=web_user(group="root")),
     refuse("denied", "is not group 'root'"), GUEST),
    ("create_container: a user name the layers do not have", web_create(user=web_user(name="nobody")),
     refuse("denied", "nobody"), GUEST),
    ("create_container: user by name, group root (named)", named_create(gid=0, group="root"),
     deny("user", "user.group", "named"), BOTH),
    ("create_container: user by another name (named)", named_create(uid=0, gid=0, name="root", group="root"),
     deny("user", "user.name", "named"), BOTH),
    ("create_container: user by ids without the names (named)", named_create(name=DROP, group=DROP),
     deny("user", "user.name", "named"), BOTH),
    # ---- create_container: state, unknown keys, ids, duplicate keys
    ("create_container: a container id without an overlay", web_create("ghost"), deny("state", "container_id"), BOTH),
    ("create_container: a container id that exists", web_create("web1"), deny("state", "container_id"), BOTH),
    ("create_container: container id ..", web_create(".."), refuse("malformed", "expected an id"), BOTH),
    ("create_container: container id with a slash", web_create("fresh/../web1"), refuse("malformed", "expected an id"),
     BOTH),
    ("create_container: unknown key hostname", web_create(hostname="x"), refuse("malformed", "unknown key"), BOTH),
    ("create_container: unknown key rootfs", web_create(rootfs="/"), refuse("malformed", "unknown key"), BOTH),
    ("create_container: argv as a string", web_create(argv="/bin/sh"), refuse("malformed", ".argv: "), BOTH),
    ("create_container: user missing", web_create(**without("user")), refuse("malformed", 'missing required key "user"'),
     BOTH),
    ("create_container: duplicate key argv",
     Raw(b'{"id": 7, "op": "create_container", "args": {"container_id": "fresh", "argv": ["/bin/sh"], '
         b'"argv": ["/bin/busybox", "sleep", "1000"]}}'), refuse("malformed", "duplicate key"), GUEST),
    ("create_container: duplicate key uid",
     Raw(b'{"id": 7, "op": "create_container", "args": {"container_id": "fresh", "user": {"uid": 0, "uid": 1000}}}'),
     refuse("malformed", "duplicate key"), GUEST),
    ("create_container: no arguments", ("create_container", None), refuse("malformed", "needs \"args\""), GUEST),
    # ---- exec_in_container
    ("exec_in_container: a shell", web_exec(argv=["/bin/sh"]), deny("exec_processes", "argv", "web"), BOTH),
    ("exec_in_container: argv by one char", web_exec(argv=SLEEP500[:2] + ["501"]),
     deny("exec_processes", "argv", "web"), BOTH),
    ("exec_in_container: argv with an extra argument", web_exec(argv=ECHO + ["there"]),
     deny("exec_processes", "argv", "web"), BOTH),
    ("exec_in_container: the init's argv (not an exec process)", web_exec(argv=SLEEP),
     deny("exec_processes", "argv", "web"), BOTH),
    ("exec_in_container: env with LD_PRELOAD", web_exec(env=["PATH=/bin", "LD_PRELOAD=/tmp/" + SECRET]),
     deny("env", "env[1]", "web"), BOTH),
    ("exec_in_container: env regex abuse", web_exec(env=["PATH=/bin", "MODE=slow\nX=" + SECRET]),
     deny("env", "env[1]", "web"), BOTH),
    ("exec_in_container: env without the required PATH", web_exec(env=[]), deny("env_required", "env", "web"), BOTH),
    ("exec_in_container: working_dir /", web_exec(working_dir="/"), deny("working_dir", "working_dir", "web"), BOTH),
    ("exec_in_container: stdio without allow_stdio_access", web_exec(stdio=True),
     deny("allow_stdio_access", "stdio", "web"), BOTH),
    ("exec_in_container: an unknown container", web_exec(container_id="ghost"), deny("state", "container_id"), BOTH),
    ("exec_in_container: a container with only an overlay", web_exec(container_id="fresh"),
     deny("state", "container_id"), BOTH),
    ("exec_in_container: a process id in use", web_exec("p-live", argv=SLEEP500), deny("state", "process_id"), BOTH),
    ("exec_in_container: process id that climbs", web_exec("../p"), refuse("malformed", "expected an id"), BOTH),
    ("exec_in_container: process id missing", web_exec(DROP), refuse("malformed", 'missing required key "process_id"'),
     BOTH),
    ("exec_in_container: container id with a slash", web_exec(container_id="web1/.."),
     refuse("malformed", "expected an id"), BOTH),
    ("exec_in_container: as another user", web_exec(user={"uid": 0, "gid": 0, "umask": "0022"}),
     refuse("malformed", "unknown key"), BOTH),
    ("exec_in_container: with capabilities", web_exec(capabilities=web_caps(effective=["CAP_SYS_ADMIN"])),
     refuse("malformed", "unknown key"), BOTH),
    ("exec_in_container: into a container that was shut down",
     Seq(*running("victim-a"), ("shutdown_container", {"container_id": "victim-a"}),
         web_exec(container_id="victim-a")), deny("state", "container_id"), BOTH),
    ("exec_in_container: a container created but not started",
     Seq(overlay("idle-1"), web_create("idle-1"), web_exec(container_id="idle-1")),
     refuse("failed", "is not running"), GUEST),
    ("exec_in_container: no arguments", ("exec_in_container", None), refuse("malformed", "needs \"args\""), GUEST),
    # ---- exec_external
    ("exec_external: a shell", external(argv=["/bin/sh", "-c", "id"]), deny("argv", "argv"), BOTH),
    ("exec_external: argv by one char", external(argv=["/bin/ture"]), deny("argv", "argv[0]"), BOTH),
    ("exec_external: env changed", external(env=["PATH=/tmp"]), deny("env", "env[0]"), BOTH),
    ("exec_external: env added", external(env=["PATH=/bin", "LD_PRELOAD=/" + SECRET]), deny("env", "env[1]"), BOTH),
    ("exec_external: working_dir", external(working_dir="/tmp"), deny("working_dir", "working_dir"), BOTH),
    ("exec_external: stdio without allow_stdio_access", external(stdio=True), deny("allow_stdio_access", "stdio"),
     BOTH),
    ("exec_external: into a container (container_id)", external(container_id="web1"), refuse("malformed", "unknown key"),
     BOTH),
    ("exec_external: process id missing", external(process_id=DROP), refuse("malformed", "process_id"), GUEST),
    ("exec_external: process id that climbs", external(process_id="../x"), refuse("malformed", "process_id"), GUEST),
    # ---- signal_process
    ("signal_process: SIGKILL to the init (policy: 15)", ("signal_process", {"container_id": "web1", "signal": 9}),
     deny("signals", "signal", "web"), BOTH),
    ("signal_process: SIGTERM to the exec process (its list: 10)",
     ("signal_process", {"container_id": "web1", "process_id": "p-live", "signal": 15}),
     deny("signals", "signal", "web"), BOTH),
    ("signal_process: signal 0", ("signal_process", {"container_id": "web1", "signal": 0}),
     refuse("malformed", "out of range"), BOTH),
    ("signal_process: signal 65", ("signal_process", {"container_id": "web1", "signal": 65}),
     refuse("malformed", "out of range"), BOTH),
    ("signal_process: signal as a string", ("signal_process", {"container_id": "web1", "signal": "9"}),
     refuse("malformed", ".signal: "), GUEST),
    ("signal_process: an unknown container", ("signal_process", {"container_id": "ghost", "signal": 15}),
     deny("state", "container_id"), BOTH),
    ("signal_process: an unknown process", ("signal_process", {"container_id": "web1", "process_id": "nope",
                                                               "signal": 10}),
     deny("state", "process_id"), BOTH),
    ("signal_process: a container that was shut down",
     Seq(*running("victim-b"), ("shutdown_container", {"container_id": "victim-b"}),
         ("signal_process", {"container_id": "victim-b", "signal": 15})), deny("state", "container_id"), BOTH),
    ("signal_process: an unknown key", ("signal_process", {"container_id": "web1", "signal": 15, "pid": 1}),
     refuse("malformed", "unknown key"), GUEST),
    # ---- shutdown_container
    ("shutdown_container: an unknown container", ("shutdown_container", {"container_id": "ghost"}),
     deny("state", "container_id"), BOTH),
    ("shutdown_container: an overlay without a container", ("shutdown_container", {"container_id": "fresh"}),
     deny("state", "container_id"), BOTH),
    ("shutdown_container: twice",
     Seq(*running("victim-c"), ("shutdown_container", {"container_id": "victim-c"}),
         ("shutdown_container", {"container_id": "victim-c"})), deny("state", "container_id"), BOTH),
    ("shutdown_container: container id that climbs", ("shutdown_container", {"container_id": "../web1"}),
     refuse("malformed", "expected an id"), BOTH),
    ("shutdown_container: no arguments", ("shutdown_container", None), refuse("malformed", "needs \"args\""), GUEST),
    # ---- start (no decision: it starts what an allowed create made)
    ("start_container: a container started already", ("start_container", {"container_id": "web1"}),
     refuse("failed", "already started"), GUEST),
    ("start_container: an overlay without a container", ("start_container", {"container_id": "fresh"}),
     refuse("failed", "no container"), GUEST),
    ("start_container: container id that climbs", ("start_container", {"container_id": "../web1"}),
     refuse("malformed", "$.args.container_id: expected an id"), GUEST),
    ("start_container: an unknown key", ("start_container", {"container_id": "fresh", "argv": ["/bin/sh"]}),
     refuse("malformed", "unknown key"), GUEST),
    # ---- stdio and process table reads (what the policy's stdio flag keeps from the host)
    ("read_output: the init of a container without allow_stdio_access",
     ("read_output", {"container_id": "web1", "stream": "stdout"}), refuse("failed", "no stdio"), GUEST),
    ("read_output: stderr of an exec process without stdio",
     ("read_output", {"container_id": "web1", "process_id": "p-live", "stream": "stderr"}),
     refuse("failed", "no stdio"), GUEST),
    ("write_stdin: the init of a container without allow_stdio_access",
     ("write_stdin", {"container_id": "web1", "data_base64": "aWQK"}), refuse("failed", "no stdio"), GUEST),
    ("close_stdin: an exec process without stdio", ("close_stdin", {"container_id": "web1", "process_id": "p-live"}),
     refuse("failed", "no stdio"), GUEST),
    ("read_output: stream stdin", ("read_output", {"container_id": "web1", "stream": "stdin"}),
     refuse("malformed", "stream"), GUEST),
    ("read_output: max_bytes 0", ("read_output", {"container_id": "web1", "stream": "stdout", "max_bytes": 0}),
     refuse("malformed", "max_bytes"), GUEST),
    ("read_output: an unknown container", ("read_output", {"container_id": "ghost", "stream": "stdout"}),
     refuse("failed", "no process"), GUEST),
    ("read_output: container id that climbs", ("read_output", {"container_id": "../web1", "stream": "stdout"}),
     refuse("malformed", "container_id"), GUEST),
    ("write_stdin: data that is not base64", ("write_stdin", {"container_id": "web1", "data_base64": "%%%"}),
     refuse("malformed", "base64"), GUEST),
    ("wait_process: no address", ("wait_process", {}), refuse("malformed", "container_id"), GUEST),
    ("wait_process: process id with a slash", ("wait_process", {"container_id": "web1", "process_id": "p/live"}),
     refuse("malformed", "process_id"), GUEST),
    ("signal_process: an external process (no container)", ("signal_process", {"process_id": "x1", "signal": 9}),
     refuse("malformed", "container_id"), GUEST),
    # ---- a container whose overlay is gone
    ("create_container: after its overlay was unmounted",
     Seq(overlay("gone-1"), ("unmount_overlay", {"target": "/run/containers/gone-1/rootfs"}), web_create("gone-1")),
     deny("state", "container_id"), BOTH),
    # ---- framework flags
    ("get_properties without allow_properties_access", ("get_properties", None),
     deny("allow_properties_access", "allow_properties_access"), BOTH),
    ("dump_stacks without allow_dump_stacks", ("dump_stacks", None), deny("allow_dump_stacks", "allow_dump_stacks"),
     BOTH),
    ("runtime_logging without allow_runtime_logging", ("runtime_logging", None),
     deny("allow_runtime_logging", "allow_runtime_logging"), BOTH),
    ("get_properties with arguments", ("get_properties", {"all": True}), refuse("malformed", "takes no arguments"),
     GUEST),
    # ---- binding and attestation
    ("set_policy: another policy after binding",
     ("set_policy", {"policy_base64": base64.b64encode(b'{"version": "1", "containers": []}').decode()}),
     refuse("denied", "already bound"), GUEST),
    ("get_report: host-chosen report_data", ("get_report", {"nonce": "00", "report_data": "11" * 64}),
     refuse("malformed", "unknown key"), GUEST),
    ("get_report: a nonce of 65 bytes", ("get_report", {"nonce": "00" * 65}), refuse("malformed", "nonce"), GUEST),
    # ---- frames
    ("frame: JSON cut short", Raw(b'{"id": 1, "op": "ping"'), refuse("malformed", "unexpected end"), GUEST),
    ("frame: not an object", Raw(b'[1, 2]'), refuse("malformed", "expected an object"), GUEST),
    ("frame: trailing data", Raw(b'{"id": 1, "op": "ping"} x'), refuse("malformed", "trailing data"), GUEST),
    ("frame: duplicate op", Raw(b'{"id": 1, "op": "ping", "op": "get_properties"}'),
     refuse("malformed", "duplicate key"), GUEST),
    ("frame: byte order mark", Raw(b'\xef\xbb\xbf{"id": 1, "op": "ping"}'), refuse("malformed", "byte order mark"),
     GUEST),
    ("frame: invalid UTF-8", Raw(b'{"id": 1, "op": "pi\xffng"}'), refuse("malformed", "UTF-8"), GUEST),
    ("frame: NUL escape in op", Raw(b'{"id": 1, "op": "ping\\u0000x"}'), refuse("malformed", "NUL"), GUEST),
    ("frame: NaN as id", Raw(b'{"id": NaN, "op": "ping"}'), refuse("malformed", "unexpected"), GUEST),
    ("frame: nested 100 levels", Raw(b'{"id": 1, "op": "ping", "args": ' + b'[' * 100 + b']' * 100 + b'}'),
     refuse("malformed", "nesting"), GUEST),
    ("frame: id missing", Raw(b'{"op": "ping"}'), refuse("malformed", 'missing required key "id"'), GUEST),
    ("frame: id a string", Raw(b'{"id": "1", "op": "ping"}'), refuse("malformed", ".id: "), GUEST),
    ("frame: id a fraction", Raw(b'{"id": 1.5, "op": "ping"}'), refuse("malformed", ".id: "), GUEST),
    ("frame: op missing", Raw(b'{"id": 1}'), refuse("malformed", 'missing required key "op"'), GUEST),
    ("frame: op a number", Raw(b'{"id": 1, "op": 7}'), refuse("malformed", ".op: "), GUEST),
    ("frame: args an array", Raw(b'{"id": 1, "op": "get_properties", "args": []}'), refuse("malformed", ".args: "),
     GUEST),
    ("frame: an unknown top-level key", Raw(b'{"id": 1, "op": "ping", "policy": {}}'),
     refuse("malformed", "unknown key"), GUEST),
    ("frame: an unknown op", ("exec_anything", {"argv": ["/bin/sh"]}), refuse("unknown_op", "exec_anything"), GUEST),
    ("frame: an op name the protocol does not have (the engine's old signal op)", ("signal_container_process", {"container_id": "web1",
                                                                                        "signal": 9}),
     refuse("unknown_op", "signal_container_process"), GUEST),
    ("frame: an op with a trailing space", ("ping ", None), refuse("unknown_op", "unknown op"), GUEST),
    ("frame: an op in upper case", ("GET_PROPERTIES", None), refuse("unknown_op", "unknown op"), GUEST),
    ("frame: length 0", Raw(b"", header=0), refuse("malformed", "outside"), GUEST),
    ("frame: length 2 MiB", Raw(b"", header=2 << 20, pad=b"\0" * (2 << 20)), refuse("malformed", "outside"), GUEST),
]

NAMES = [r[0] for r in ROWS]
assert len(set(NAMES)) == len(NAMES), "attack names must be unique"


def slug(name):
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")


IDS = [slug(n) for n in NAMES]
assert len(set(IDS)) == len(IDS)
ENGINE_ROWS = [r for r in ROWS if r[3] == BOTH]
ENGINE_IDS = [slug(r[0]) for r in ENGINE_ROWS]

# ------------------------------------------------------------------ the state every row sees

PREAMBLE = [
    ("mount_device", {"serial": "layer0", "root_hash": "@L0@"}),
    ("mount_device", {"serial": "layer1", "root_hash": "@L1@"}),
    ("scratch_mount", {"serial": "scratch", "encrypted": True}),
    overlay("web1"), overlay("fresh"), overlay("named1"),
    web_create("web1"),
    ("start_container", {"container_id": "web1"}),
    web_exec("p-live", argv=SLEEP500),
]


def subst(obj, hashes):
    """Replaces the tokens in a request: @L0@, @L1@, @X@ (root hashes),
    @L0U@ (L0 in upper case), @L0-63@ (its first 63 digits)."""
    if isinstance(obj, str):
        obj = obj.replace("@L0U@", hashes["@L0@"].upper()).replace("@L0-63@", hashes["@L0@"][:63])
        for token, value in hashes.items():
            obj = obj.replace(token, value)
        return obj
    if isinstance(obj, bytes):
        return subst(obj.decode("latin-1"), hashes).encode("latin-1")
    if isinstance(obj, list):
        return [subst(v, hashes) for v in obj]
    if isinstance(obj, tuple):
        return tuple(subst(v, hashes) for v in obj)
    if isinstance(obj, dict):
        return {k: subst(v, hashes) for k, v in obj.items()}
    if isinstance(obj, Seq):
        return Seq(*subst(obj.steps, hashes))
    if isinstance(obj, Raw):
        return Raw(subst(obj.body, hashes), obj.header, obj.pad)
    return obj


def steps_of(request):
    return request.steps if isinstance(request, Seq) else [request]


# ------------------------------------------------------------------ judging an answer

def failures(reason, cand):
    """(rule, field) pairs the reason lists: request-level ones, and those of
    every candidate (or only of the candidate named cand)."""
    out = {(f["rule"], f.get("field")) for f in reason.get("failed", []) or []}
    if "rule" in reason:
        out.add((reason["rule"], None))
    for c in reason.get("candidates", []) or []:
        if isinstance(c, dict) and (cand is None or c.get("name") == cand):
            out |= {(f["rule"], f.get("field")) for f in c["failed"]}
    return out


def judge(reason, message, exp, where):
    """Asserts that a refusal is the one the row names. reason: the engine's
    reason object (or {}), message: the agent's message (or "")."""
    if exp.rule:
        got = failures(reason, exp.cand)
        assert (exp.rule, exp.field) in got, f"{where}: expected ({exp.rule}, {exp.field}) in {sorted(got, key=str)}"
        if exp.cand:
            cand = [c for c in reason.get("candidates", []) if isinstance(c, dict) and c.get("name") == exp.cand]
            assert cand, f"{where}: candidate {exp.cand} not listed: {reason}"
            rules = {f["rule"] for f in cand[0]["failed"]}
            assert exp.rule in rules <= {exp.rule} | exp.also, \
                f"{where}: {exp.cand} failed {rules}, the row changes only {exp.rule}"
    if exp.text:
        text = message + " " + str(reason.get("error", ""))
        assert exp.text in text, f"{where}: {exp.text!r} not in {text!r}"


# ------------------------------------------------------------------ fixtures

def stranger_layer(work):
    """A one-file layer no policy container lists."""
    tar = work / "stranger.tar"
    with tarfile.open(tar, "w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo("stranger")
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1700000000
        t.addfile(info)
    r = subprocess.run([UVM, "layer", "--tar", str(tar), "--out", str(work / "stranger")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    (entry,) = json.loads((work / "stranger" / "layers.json").read_text())
    return entry, work / "stranger" / entry["path"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The sample layers, a stranger layer and the policy on them."""
    work = tmp_path_factory.mktemp("hostile")
    layers = sample_layers(work)
    assert len(layers) == 2
    stranger, stranger_img = stranger_layer(work)
    hashes = {"@L0@": layers[0]["root_hash"], "@L1@": layers[1]["root_hash"], "@X@": stranger["root_hash"]}
    assert len(set(hashes.values())) == 3
    policy_bytes = json.dumps(subst(POLICY, hashes), indent=1).encode()
    (work / "policy.json").write_bytes(policy_bytes)
    r = subprocess.run([UVM, "policy", "check", str(work / "policy.json")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    disks = [(f"layer{i}", work / "layers" / l["path"], "ro") for i, l in enumerate(layers)]
    scratch = work / "scratch.img"
    with open(scratch, "wb") as f:
        f.truncate(64 << 20)
    disks += [("stranger", stranger_img, "ro"), ("scratch", scratch)]
    return {"work": work, "hashes": hashes, "policy_bytes": policy_bytes, "disks": disks}


# ------------------------------------------------------------------ 1. the host engine

def to_engine(op, args):
    """The engine request the agent makes of (op, args), or None for an
    agent-only op (docs/policy.md "Requests")."""
    a = dict(args or {})
    a.pop("op", None)  # the agent never lets the host choose the enforcement point
    if op == "mount_device":
        return {"op": op, "target": "/run/layers/" + a["root_hash"], "device_hash": a["root_hash"]}
    if op == "scratch_mount":
        return {"op": op, "target": "/run/scratch/" + a["serial"], "encrypted": a.get("encrypted", True)}
    if op == "mount_overlay":
        cid = a["container_id"]
        req = {"op": op, "container_id": cid, "target": f"/run/containers/{cid}/rootfs", "layers": a["layers"]}
        if "scratch" in a:  # the guest states the writable layer's size (the default: 256 MiB)
            req.update(scratch=a["scratch"], upper_bytes=a.get("scratch_bytes", 256 << 20))
        return req
    if op == "exec_external":
        a.pop("process_id", None)
    if op in ("start_container", "wait_process", "read_output", "set_policy", "get_report"):
        return None
    return {"op": op, **a}


def replay(world, tmp_path, requests):
    reqs = [e for e in (to_engine(op, args) for op, args in subst(requests, world["hashes"])) if e is not None]
    path = tmp_path / "requests.json"
    path.write_text(json.dumps(reqs))
    r = subprocess.run([UVM, "policy", "replay", "--policy", str(world["work"] / "policy.json"),
                        "--requests", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode in (0, 1), r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(lines) == len(reqs), r.stdout
    return lines


@pytest.mark.parametrize("row", ENGINE_ROWS, ids=ENGINE_IDS)
def test_engine_refuses(world, tmp_path, row):
    """Proves, without QEMU: the host's engine (the same C the guest runs)
    refuses the row's request, naming the row's rule and field (or error),
    from the state the guest is in for every row; the steps before it are
    allowed."""
    name, request, exp, _ = row
    lines = replay(world, tmp_path, PREAMBLE + steps_of(request))
    *before, last = lines
    assert all(d["allowed"] for d in before), [d for d in before if not d["allowed"]]
    assert last["allowed"] is False, f"REFUSAL DID NOT HAPPEN in the engine: {name}: {json.dumps(last)[:2000]}"
    judge(last, "", exp, "engine")
    assert SECRET not in json.dumps(last), "an environment value came back in the reason"


BASE_REQUESTS = [web_create("fresh"), named_create(), web_exec("p-echo"), external(),
                 external(process_id="x2", argv=["/bin/pwd"], env=[], stdio=True),
                 ("signal_process", {"container_id": "web1", "process_id": "p-live", "signal": 10}),
                 ("signal_process", {"container_id": "web1", "signal": 15}),
                 ("shutdown_container", {"container_id": "web1"})]


def test_engine_allows_the_requests_the_rows_change(world, tmp_path):
    """Proves: the requests the rows are made from are allowed by the engine,
    so each row's refusal comes from what the row changed."""
    lines = replay(world, tmp_path, PREAMBLE + BASE_REQUESTS)
    assert all(d["allowed"] for d in lines), [d for d in lines if not d["allowed"]]


# ------------------------------------------------------------------ 2. the guest under QEMU

def send(vm, step):
    """One step: (op, args) through the agent, or a raw frame."""
    if isinstance(step, Raw):
        if vm.sock is None:
            vm.connect()
        if step.header is None:
            vm.send_frame(step.body)
        else:
            vm.send_raw(step.header.to_bytes(4, "big") + step.body + step.pad)
        return vm.recv_frame()
    op, args = step
    return vm.request(op, args)


@pytest.fixture(scope="module")
def guest(world):
    """One VM: the policy bound, then PREAMBLE."""
    work = world["work"]
    vm = Vm.launch(work, image=IMAGE, policy=work / "policy.json", disks=world["disks"]).start()
    try:
        vm.wait_ready()
        started = time.monotonic()
        ok(vm.request("set_policy", {"policy_base64": base64.b64encode(world["policy_bytes"]).decode()}))
        for step in subst(PREAMBLE, world["hashes"]):
            ok(send(vm, step))
        yield {"vm": vm, "hashes": world["hashes"], "preamble_seconds": time.monotonic() - started}
    finally:
        vm.kill()


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_guest_refuses(guest, row):
    """Proves, in the real test image: the agent refuses the row's request
    with the row's kind and rule/field (or message), the value of an
    environment variable never comes back, and the agent still answers on
    the same connection afterwards."""
    vm = guest["vm"]
    name, request, exp, _ = row
    *before, last = steps_of(subst(request, guest["hashes"]))
    for step in before:
        ok(send(vm, step))
    resp = send(vm, last)
    text = json.dumps(resp)
    assert not resp["ok"], f"REFUSAL DID NOT HAPPEN in the guest: {name}: {text[:2000]}"
    assert resp["error"]["kind"] == exp.kind, f"{name}: expected {exp}, got {text[:2000]}"
    judge(resp["error"].get("reason") or {}, resp["error"]["message"], exp, "guest")
    assert SECRET not in text, "an environment value came back in the answer"
    assert len(text) < 64 << 10, f"a {len(text)}-byte answer: reasons cut values at 256 bytes"
    assert ok(vm.request("ping")) == {"pong": True}


def test_guest_still_does_what_the_policy_allows(guest):
    """Proves (after every row): the state the rows attacked is intact (web1
    and its exec process run, the base layer is still in use) and the
    requests the rows were made from are allowed and work: WEB is created on
    "fresh" and starts, its listed exec runs and exits 0, NAMED runs `id` as
    app (1000) with its output read back, an external process runs with
    stdio, and the signals the policy lists are delivered."""
    vm = guest["vm"]
    assert ok(vm.request("wait_process", {"container_id": "web1"})) == {"state": "running"}
    assert ok(vm.request("wait_process", {"container_id": "web1", "process_id": "p-live"})) == {"state": "running"}
    resp = vm.request("unmount_device", {"target": "/run/layers/" + guest["hashes"]["@L0@"]})
    assert not resp["ok"] and resp["error"]["kind"] == "denied", resp
    base = subst(BASE_REQUESTS, guest["hashes"])
    # The scratch a row could not unmount is still mounted, for the engine
    # and for the agent.
    resp = vm.request("scratch_mount", {"serial": "scratch", "encrypted": True})
    assert not resp["ok"] and ("state", "target") in failures(resp["error"]["reason"], None), resp
    ok(send(vm, subst(overlay("after-rows"), guest["hashes"])))
    ok(send(vm, base[0]))
    ok(vm.request("start_container", {"container_id": "fresh"}))
    assert ok(vm.request("wait_process", {"container_id": "fresh"})) == {"state": "running"}
    ok(send(vm, base[2]))
    assert poll(vm, "wait_process", {"container_id": "web1", "process_id": "p-echo"},
                lambda r: r["state"] == "exited") == {"state": "exited", "exit_code": 0}
    ok(send(vm, base[1]))
    ok(vm.request("start_container", {"container_id": "named1"}))
    assert poll(vm, "wait_process", {"container_id": "named1"}, lambda r: r["state"] == "exited")["exit_code"] == 0
    out = read_stream(vm, {"container_id": "named1", "stream": "stdout"})
    assert out.startswith(b"uid=1000(app) gid=1000(app)"), out
    ok(send(vm, base[3]))
    assert poll(vm, "wait_process", {"process_id": "x1"}, lambda r: r["state"] == "exited")["exit_code"] == 0
    ok(send(vm, base[4]))
    assert read_stream(vm, {"process_id": "x2", "stream": "stdout"}) == b"/\n"
    ok(send(vm, base[5]))
    assert poll(vm, "wait_process", {"container_id": "web1", "process_id": "p-live"},
                lambda r: r["state"] == "exited") == {"state": "exited", "signal": 10}
    ok(send(vm, base[6]))
    ok(send(vm, base[7]))
    assert poll(vm, "wait_process", {"container_id": "web1"}, lambda r: r["state"] == "exited")["signal"] == 9
