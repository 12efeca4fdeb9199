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

/// Reads a started `serve`'s log (its stderr) on a thread, so the pipe never fills, and returns
/// the address it announces. With `echo`, the log is shown too, each line under `label`.
// Not every test binary that shares this file starts servers.
#[allow(dead_code)]
pub fn announced_address(child: &mut std::process::Child, label: &str, echo: bool) -> String {
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    let label = label.to_owned();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if echo {
                eprintln!("[{label}] {line}");
            }
            if sent {
                continue;
            }
            if let Some(at) = line.find("portal listening on http://") {
                let address = line[at + "portal listening on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(|c: char| !c.is_ascii_digit())
                    .to_owned();
                let _ = tx.send(address);
                sent = true;
            }
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(120))
        .expect("the server announced its address")
}
