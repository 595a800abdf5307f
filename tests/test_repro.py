"""Reproducibility, the cheaper check that runs in `make test`: the guest
binaries, both initrds, both IGVM images (the kernel comes from the build
cache) and the host CLI, built in two other directories (different absolute
paths, different times), are bit-identical to each other and to this tree's
build. `make repro-check` does the same for the whole image from clean caches."""
import hashlib
import os
import subprocess

ARTIFACTS = ["out/guest/init", "out/guest-test/init", "out/image/initrd", "out/image-test/initrd", "out/bin/uvm",
             "out/image/uvm.igvm", "out/image-test/uvm.igvm"]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def copy_tree(dest):
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True).stdout.split(b"\0")
    os.makedirs(dest)
    for f in filter(None, files):
        f = f.decode()
        if not os.path.exists(f):  # deleted in the work tree
            continue
        os.makedirs(os.path.join(dest, os.path.dirname(f)), exist_ok=True)
        subprocess.run(["cp", "-p", f, os.path.join(dest, f)], check=True)


def build(tmp_path, name):
    src = os.path.join(str(tmp_path), name)
    copy_tree(src)
    proc = subprocess.run(["make", "-C", src, *ARTIFACTS], capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {a: sha256(os.path.join(src, a)) for a in ARTIFACTS}


def test_guest_binaries_and_initrds_are_reproducible(tmp_path):
    first = build(tmp_path, "a")
    second = build(tmp_path, "build-b-in-a-deeper/directory")
    here = {a: sha256(a) for a in ARTIFACTS}
    for a in ARTIFACTS:
        print(f"{a}: {first[a]}")
        assert first[a] == second[a], f"{a} differs between two builds in different directories"
        assert first[a] == here[a], f"{a} differs from this tree's build"
