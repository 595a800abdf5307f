"""A short run of every libFuzzer target (tests/fuzz/fuzz_*.c, built with
ASan/UBSan by `make fuzz-bins`) over its committed corpus plus a few
thousand new inputs. `make fuzz` runs them for longer."""
import glob
import os
import subprocess

import pytest

TARGETS = sorted(os.path.basename(p)[:-2] for p in glob.glob("tests/fuzz/fuzz_*.c"))


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target_short_run(target, tmp_path):
    binary = os.path.join("out/fuzz", target)
    assert os.path.exists(binary), f"{binary} is missing: run `make fuzz-bins`"
    corpus = os.path.join("tests/fuzz/corpus", target[len("fuzz_"):])
    dirs = [str(tmp_path)] + ([corpus] if os.path.isdir(corpus) else [])
    proc = subprocess.run([binary, "-runs=20000", "-max_len=65536", "-timeout=10",
                           f"-artifact_prefix={tmp_path}/", *dirs],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{target} found a problem:\n{proc.stderr[-6000:]}"
