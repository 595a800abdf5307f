"""The C style is the tree's .clang-format (Debian 12's clang-format): every
tracked .c and .h file is already formatted, so a change that is not fails
here, naming the files and the command that fixes them."""
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_c_sources_are_formatted():
    """Proves: `clang-format --dry-run --Werror` finds nothing to change in any
    tracked C source or header."""
    exe = shutil.which("clang-format")
    assert exe, "clang-format is missing: make deps installs it (Debian package clang-format)"
    files = subprocess.run(["git", "ls-files", "*.c", "*.h"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    assert len(files) > 100, files
    bad = []
    for i in range(0, len(files), 50):
        chunk = files[i:i + 50]
        r = subprocess.run([exe, "--dry-run", "--Werror", *chunk], cwd=ROOT, capture_output=True, text=True)
        if r.returncode != 0:
            bad += sorted({line.split(":")[0] for line in r.stderr.splitlines() if ": error:" in line})
    assert not bad, f"not formatted: {bad}; fix with: clang-format -i {' '.join(bad)}"


def test_go_sources_are_formatted():
    """Proves: gofmt (Debian's golang-go) finds nothing to change in the
    tracked Go sources (the containerd shim)."""
    exe = shutil.which("gofmt")
    assert exe, "gofmt is missing: make deps installs it (Debian package golang-go)"
    files = subprocess.run(["git", "ls-files", "*.go"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    assert files
    r = subprocess.run([exe, "-l", *files], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), f"not formatted: {r.stdout.split()}; fix with: gofmt -w " \
                                                       f"{' '.join(r.stdout.split())} {r.stderr}"
