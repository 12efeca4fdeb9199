#!/usr/bin/env bash
# Imports an mbox into a fresh archive and compares what we read of every message (subject,
# sender, date, first body words) with Python's `email` package. Exits non-zero when more than
# 0.1% of the messages differ in any of them; prints each difference for a person to judge.
#
#     scripts/mailcheck/run.sh FILE.mbox [--show N]
set -euo pipefail
cd "$(dirname "$0")/../.."
mbox=$(realpath "$1"); shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo run --quiet --release -p transfer --example read_back -- "$mbox" > "$out"
python3 scripts/mailcheck/compare.py "$mbox" "$out" "$@"
