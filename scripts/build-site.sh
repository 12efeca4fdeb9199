#!/usr/bin/env bash
# Builds the browser half of the portal into target/site (the server's default site_root):
#   pkg/sync-recover.js, pkg/sync-recover_bg.wasm   the hydrate entry (frontend/), via wasm-bindgen
#   pkg/sync-recover.css                            style/main.css
#   everything in public/
#
# Why our own small step instead of cargo-leptos: cargo-leptos takes about 25 minutes to install on
# these 2-core machines (and needs Debian's newer cargo to build at all), which a fresh CI machine
# would pay inside its 90 minutes. What it would do for us is these few commands.
#
# The wasm32 standard library: rustup's when installed; otherwise Debian's rustc-web toolchain
# rebuilds std from source (see ../shared/toolchain.md). Cargo skips the build when nothing
# changed, and the post-processing is skipped when its output is newer than its input.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
SITE=target/site
PROFILE=wasm-release
NAME=sync-recover
log() { printf '[build-site] %s\n' "$*"; }

if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  WASM_TARGET_DIR=$TARGET_DIR
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$PROFILE"
else
  # Its own target folder: the artifacts of another compiler must not invalidate rustup's.
  WASM_TARGET_DIR=$TARGET_DIR/wasm-debian
  RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
    CARGO_TARGET_DIR=$WASM_TARGET_DIR \
    /usr/bin/cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$PROFILE" \
    -Zbuild-std=std,panic_abort
fi
WASM_IN=$WASM_TARGET_DIR/wasm32-unknown-unknown/$PROFILE/frontend.wasm

mkdir -p "$SITE/pkg"
WASM_OUT=$SITE/pkg/${NAME}_bg.wasm
if [ ! -f "$WASM_OUT" ] || [ "$WASM_IN" -nt "$WASM_OUT" ]; then
  log "wasm-bindgen"
  wasm-bindgen --target web --no-typescript --out-dir "$SITE/pkg" --out-name "$NAME" "$WASM_IN"
  log "wasm-opt -Oz"
  end2end/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$WASM_OUT" -o "$WASM_OUT.opt"
  mv "$WASM_OUT.opt" "$WASM_OUT"
fi

cp style/main.css "$SITE/pkg/$NAME.css"
if [ -d public ]; then cp -r public/. "$SITE/"; fi
log "site ready in $SITE ($(du -h "$WASM_OUT" | cut -f1) wasm, $(gzip -9c "$WASM_OUT" | wc -c) bytes gzipped)"
