"""Runs every C unit-test program (tests/unit/test_*.c, built under ASan and
UBSan into out/asan/tests/ by `make unit`) and fails on any failed check or
sanitizer finding."""
import glob
import os
import subprocess

import pytest

SOURCES = sorted(glob.glob("tests/unit/test_*.c"))


@pytest.mark.parametrize("source", SOURCES, ids=[os.path.basename(s)[:-2] for s in SOURCES])
def test_unit_program(source):
    binary = os.path.join("out/asan/tests", os.path.basename(source)[:-2])
    assert os.path.exists(binary), f"{binary} is missing: run `make unit`"
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    proc = subprocess.run([binary], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{binary} exited {proc.returncode}:\n{output[-8000:]}"
    assert "not ok" not in proc.stdout, output[-8000:]
    assert "\n1.." in "\n" + proc.stdout, f"{binary} printed no TAP plan:\n{output[-2000:]}"
