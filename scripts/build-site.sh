#!/usr/bin/env bash
# Builds the browser half of the portal into target/site (the server's default site_root):
#   pkg/sync-recover.<hash>.js, _bg.wasm              the mail screen's bundle (frontend/): sign-in,
#                                                     mail, search, access log
#   pkg/sync-recover-admin.<hash>.js, _bg.wasm        the admin screens' bundle (frontend-admin/)
#   pkg/style.<hash>.css                              style/main.css
#   each of them also brotli (.br) and gzip (.gz) compressed, once, at the highest level
#   bundle.txt                                        the three names with their hashes
#   everything in public/
# A hash is of its files' contents, so a browser may keep them for ever (Cache-Control:
# immutable) and a new build is fetched under its new name. The unhashed outputs of wasm-bindgen
# and wasm-opt stay in target/site-build (not served). Two bundles, so that a person who reads
# their mail never downloads the admin screens; each is built by its own cargo call, since one
# call would unify the app's features and put the admin screens in both.
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

# Smaller bundles through unstable compiler flags, which the stable compiler takes with
# RUSTC_BOOTSTRAP=1 for this build only: std rebuilt from source with the bundle's own settings
# (opt-level z, LTO across std), a panic aborts at once without formatting a message, and no
# `Debug` formatting or panic locations are compiled in. `--cfg erase_components` is repeated
# because these flags replace .cargo/config.toml's for the wasm target. Together about 9% smaller
# (server/BENCHMARKS.md, "Browser bundles").
WASM_RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none"
build_wasm() {
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
      RUSTC_BOOTSTRAP=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$WASM_RUSTFLAGS" \
        cargo build -p "$1" --lib --target wasm32-unknown-unknown --profile "$PROFILE" \
        -Zbuild-std=std,panic_abort
    else
      # No std source to rebuild: the prebuilt std, as a plain stable build.
      cargo build -p "$1" --lib --target wasm32-unknown-unknown --profile "$PROFILE"
    fi
  else
    # Its own target folder: the artifacts of another compiler must not invalidate rustup's.
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$WASM_RUSTFLAGS" \
      CARGO_TARGET_DIR=$WASM_TARGET_DIR \
      /usr/bin/cargo build -p "$1" --lib --target wasm32-unknown-unknown --profile "$PROFILE" \
      -Zbuild-std=std,panic_abort
  fi
}
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  WASM_TARGET_DIR=$TARGET_DIR
else
  WASM_TARGET_DIR=$TARGET_DIR/wasm-debian
fi
build_wasm frontend
build_wasm frontend-admin

BUILD=target/site-build
mkdir -p "$BUILD" "$SITE/pkg"

# Copies a file into pkg/ under its hashed name with its .br and .gz (Node's zlib: brotli quality
# 11, gzip level 9, done once here instead of per request).
publish() {
  cp "$1" "$2"
  node -e '
    const zlib = require("zlib"), fs = require("fs");
    const file = process.argv[1], bytes = fs.readFileSync(file);
    fs.writeFileSync(file + ".br", zlib.brotliCompressSync(bytes, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
    fs.writeFileSync(file + ".gz", zlib.gzipSync(bytes, { level: 9 }));' "$2"
}

# bundle CRATE NAME: wasm-bindgen and wasm-opt (when the crate's wasm changed), then the hashed,
# compressed copies in pkg/ (when new). Prints the hashed name.
bundle() {
  local wasm_in=$WASM_TARGET_DIR/wasm32-unknown-unknown/$PROFILE/${1//-/_}.wasm
  local wasm_out=$BUILD/${2}_bg.wasm
  if [ ! -f "$wasm_out" ] || [ "$wasm_in" -nt "$wasm_out" ]; then
    log "$2: wasm-bindgen" >&2
    wasm-bindgen --target web --no-typescript --out-dir "$BUILD" --out-name "$2" "$wasm_in"
    log "$2: wasm-opt -Oz" >&2
    end2end/node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "$wasm_out" -o "$wasm_out.opt"
    mv "$wasm_out.opt" "$wasm_out"
  fi
  local hashed
  hashed=$2.$(cat "$BUILD/$2.js" "$wasm_out" | sha256sum | cut -c1-16)
  if [ ! -f "$SITE/pkg/${hashed}_bg.wasm.br" ]; then
    # Only the current build is served: an older one's files go.
    rm -f "$SITE/pkg/$2".*
    log "$2: brotli and gzip" >&2
    publish "$BUILD/$2.js" "$SITE/pkg/$hashed.js"
    publish "$wasm_out" "$SITE/pkg/${hashed}_bg.wasm"
  fi
  echo "$hashed"
}
MAIL=$(bundle frontend "$NAME")
ADMIN=$(bundle frontend-admin "$NAME-admin")
STYLE=style.$(sha256sum style/main.css | cut -c1-16).css
if [ ! -f "$SITE/pkg/$STYLE.br" ]; then
  rm -f "$SITE/pkg/style".*
  publish style/main.css "$SITE/pkg/$STYLE"
fi
# Written last: a server reading it finds every file it names.
printf 'mail=%s\nadmin=%s\nstylesheet=%s\n' "$MAIL" "$ADMIN" "$STYLE" > "$SITE/bundle.txt"

if [ -d public ]; then cp -r public/. "$SITE/"; fi
for name in "$MAIL" "$ADMIN"; do
  wasm=$SITE/pkg/${name}_bg.wasm
  log "$name: $(wc -c < "$wasm") bytes wasm, $(wc -c < "$wasm.br") brotli, $(wc -c < "$wasm.gz") gzip"
done
log "site ready in $SITE"
