//! A real S3 server for tests: PyPI `moto[server]` (Apache-2.0; it honours `If-None-Match: *` and
//! multipart uploads), installed by `scripts/setup.sh` into `.tools/venv`. Started once per test
//! binary on a free loopback port; it stops when the test process ends (its shell waits on our
//! stdin and kills it when that closes). Each test takes a bucket of its own.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Moto {
    pub endpoint: String,
    // Held open for the life of the process: closing it stops the server.
    _stdin: std::process::ChildStdin,
    // The shell ends with this process; nothing waits for it before.
    _shell: std::process::Child,
}

/// The credentials moto accepts (any); real ones never appear in tests.
pub const ACCESS_KEY_ID: &str = "testing";
pub const SECRET_ACCESS_KEY: &str = "testing";
pub const REGION: &str = "us-east-1";

/// The suite's moto server, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

fn start() -> Moto {
    let bin =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/moto_server");
    assert!(
        bin.is_file(),
        "moto is missing ({}): run scripts/setup.sh",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    // `read` returns when our end of the pipe closes (this process ended): then moto goes too.
    let script = format!(
        "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & moto=$!; echo started; read _; kill $moto",
        bin.display()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh starts moto");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("started");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: format!("http://127.0.0.1:{port}"),
        _stdin: stdin,
        _shell: child,
    }
}

impl Moto {
    /// Creates a new bucket (`CreateBucket`; moto does not check signatures).
    pub async fn bucket(&self, name: &str) -> String {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(
            response.status().is_success(),
            "create bucket {name}: {}",
            response.status()
        );
        name.to_owned()
    }

    /// The keys in a bucket (`ListObjectsV2`, first page), to check what a test left there.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let body = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.endpoint))
            .send()
            .await
            .expect("list")
            .text()
            .await
            .expect("list body");
        body.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }
}
