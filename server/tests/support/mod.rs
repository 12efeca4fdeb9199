//! Set-up shared by the test binaries that run `sync-recover` itself.

use std::path::{Path, PathBuf};

/// A stand-in for the built browser bundles (empty files under the names bundle.txt gives), so
/// `serve` starts without scripts/build-site.sh having run: tests of the binary call its API,
/// not its pages' scripts.
pub fn stand_in_site(dir: &Path) -> PathBuf {
    let site = dir.join("site");
    std::fs::create_dir_all(site.join("pkg")).expect("mkdir");
    for file in [
        "sync-recover.test.js",
        "sync-recover.test_bg.wasm",
        "sync-recover-admin.test.js",
        "sync-recover-admin.test_bg.wasm",
        "style.test.css",
    ] {
        std::fs::write(site.join("pkg").join(file), "").expect("write");
    }
    std::fs::write(
        site.join("bundle.txt"),
        "mail=sync-recover.test\nadmin=sync-recover-admin.test\nstylesheet=style.test.css\n",
    )
    .expect("write");
    site
}
