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
# The workspace's debug build, shared with the tests: about 700 messages a second.
cargo build --quiet --workspace --exclude frontend --exclude frontend-admin --example read_back
"${CARGO_TARGET_DIR:-target}/debug/examples/read_back" "$mbox" > "$out"
python3 scripts/mailcheck/compare.py "$mbox" "$out" "$@"
