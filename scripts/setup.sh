#!/usr/bin/env bash
# Installs what building and testing Sync & Recover needs, and nothing that is already present.
# Safe to run again: every step checks first. See README.md and ../shared/toolchain.md.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
log() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# 1. The WebAssembly target. rustup first; where it cannot download (this workplace), fall back to
#    Debian's rustc-web toolchain, which carries the std source to rebuild std for wasm32.
#    With rustup, also the std source (rust-src): scripts/build-site.sh rebuilds std for the
#    bundles with their size settings, and builds them as before where it cannot be had.
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  log "wasm32 target: rustup"
  if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src' \
    && ! rustup component add rust-src >/dev/null 2>&1; then
    log "rust-src cannot be downloaded: the bundles are built with the prebuilt std (larger)"
  fi
else
  log "wasm32 target: rustup cannot download it, using Debian's rustc-web toolchain"
  apt_install rustc-web cargo-web rust-web-src lld-22
fi

# 2. Chromium for the browser tests (Debian's package: browser downloads are not possible here).
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium
fi

# 2b. The PST oracles: readpst (pst-utils) and pffexport (pff-tools, libpff) read the PST fixture
#     independently of our importer, and of each other.
if ! command -v readpst >/dev/null 2>&1 || ! command -v pffexport >/dev/null 2>&1; then
  apt_install pst-utils pff-tools
fi

# 2c. notmuch (Xapian underneath): the performance peer of `server/examples/notmuch_bench.rs`.
if ! command -v notmuch >/dev/null 2>&1; then
  apt_install notmuch
fi

# 3. wasm-bindgen, pinned to the exact version of the crate in Cargo.lock.
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once per machine)"
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# 4. Node packages: playwright-core drives Chromium; binaryen gives wasm-opt (Debian's is too old);
#    pst-extractor carries enron.pst (and two OST files), the PST import's fixtures.
if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/playwright-core ] \
   || [ ! -d end2end/node_modules/pst-extractor ] \
   || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  log "npm ci in end2end/"
  (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
fi

# 5. Python tools that check what we write, each an independent implementation: PyPI `bagit`
#    (validates export bags), `icalendar` and `vobject` (read exported ICS and VCF), and
#    `moto[server]` (a real S3 server for the S3 blob store tests).
#    In a virtual environment of the checkout, so nothing of the machine's Python changes.
if [ ! -x .tools/venv/bin/python ] || ! .tools/venv/bin/python -c "import bagit, icalendar, vobject, moto" 2>/dev/null; then
  log "python tools in .tools/venv (bagit, icalendar, vobject, moto)"
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install -q --disable-pip-version-check -r scripts/python-tools.txt
fi

log "done"
