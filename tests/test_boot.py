"""QEMU smoke tests of the image (issue: reproducible boot image): both
flavours boot under TCG with direct kernel boot, PID 1 reports ready on the
console, answers on the agent channel, and powers the VM off cleanly."""
import pytest

from uvmvm import Vm


@pytest.fixture
def vm_factory(tmp_path):
    vms = []

    def make(image_dir):
        vm = Vm.direct_boot(image_dir, tmp_path).start()
        vms.append(vm)
        return vm

    yield make
    for vm in vms:
        vm.kill()


@pytest.mark.parametrize("image_dir,flavour", [("out/image", "production"), ("out/image-test", "test")])
def test_boots_to_ready_and_powers_off(vm_factory, image_dir, flavour):
    vm = vm_factory(image_dir)
    seconds = vm.wait_ready()
    print(f"{flavour}: ready {seconds:.2f}s after QEMU start (TCG)")
    vm.wait_console(rf"uvm-init: flavour {flavour}\b")
    # PID 1 logged its own boot-time stamps for the benchmark.
    vm.wait_console(r"uvm-init: timestamp init_start \d+\.\d{6}")
    vm.wait_console(r"uvm-init: timestamp agent_ready \d+\.\d{6}")
    assert vm.request("ping") == {"id": 1, "ok": True, "result": {"pong": True}}
    resp = vm.request("shutdown")
    assert resp["ok"] is True and resp["result"] == {"powering_off": True}
    assert vm.wait_exit() == 0
    vm.wait_console(r"uvm-init: powering off: the host requested shutdown")
    assert "Kernel panic" not in vm.console


def test_production_pid1_memory_under_10000_hostile_requests(vm_factory):
    """The production binary (no policy can be bound without SNP hardware, so
    every op past the channel is refused): 10,000 mixed frames, oversized
    ones among them, leave PID 1 within 2 MiB and without growth."""
    import struct
    from test_runtime import mixed_frames
    vm = vm_factory("out/image")
    vm.wait_ready()
    before = vm.request("status")["result"]["vmrss_kib"]
    answered = 0
    for start in range(0, 10000, 100):
        for i in range(start, start + 100):
            vm.send_frame(mixed_frames(i))
        vm.send_raw(struct.pack(">I", 2 << 20))
        vm.send_raw(b"\0" * (2 << 20))
        for _ in range(101):
            vm.recv_frame()
            answered += 1
    after = vm.request("status")["result"]["vmrss_kib"]
    print(f"\nproduction PID 1 VmRSS before {before} KiB, after 10,000 requests {after} KiB")
    assert answered == 10100
    assert after <= 2048 and after - before <= 64, (before, after)
