#!/usr/bin/env bash
# Policy engine: decisions per second and median decision latency on a
# generated 50-container policy (tests/bench/bench_policy.c). Prints one JSON
# object. Builds the program against out/host/libuvm.a (make's host library).
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s out/host/libuvm.a >&2
mkdir -p out/bench
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -O2 -Ilib \
	tests/bench/bench_policy.c out/host/libuvm.a -o out/bench/bench_policy -lcrypto
exec out/bench/bench_policy
