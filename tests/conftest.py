"""Shared pytest set-up: every test runs from the repository root, so paths
like out/image/bzImage and tests/data/... work the same everywhere."""
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))
