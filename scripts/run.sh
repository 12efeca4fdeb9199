#!/usr/bin/env bash
# Builds and starts the portal on http://127.0.0.1:3000 with the embedded default: a SQLite file and
# data folder under ./data, created on first start, with demo accounts. Installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-site.sh
cargo build --release -p server
BIN=${CARGO_TARGET_DIR:-target}/release/sync-recover
exec "$BIN" serve --demo "$@"
