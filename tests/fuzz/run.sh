#!/usr/bin/env bash
# make fuzz: run each libFuzzer target for SECONDS, growing its corpus under
# tests/fuzz/corpus/NAME (new inputs are kept: commit the interesting ones).
set -euo pipefail
seconds=${1:?usage: run.sh SECONDS TARGET...}; shift
mkdir -p out/fuzz/artifacts
for bin in "$@"; do
	name=$(basename "$bin"); corpus=tests/fuzz/corpus/${name#fuzz_}
	mkdir -p "$corpus"
	echo "== $name for ${seconds}s (corpus $corpus)"
	"$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=1 \
		-artifact_prefix=out/fuzz/artifacts/"$name"- "$corpus" 2>&1 |
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY)' || true
done
