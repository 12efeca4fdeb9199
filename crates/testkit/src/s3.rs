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
    MOTO.get_or_init(|| start(&[]))
}

/// The bucket of [`moto_checking_credentials`].
pub const GUARDED_BUCKET: &str = "guarded";

/// A second moto server that checks credentials as S3 does (`INITIAL_NO_AUTH_ACTION_COUNT`):
/// its one bucket, [`GUARDED_BUCKET`], is created before the check starts, and from then on a
/// request signed with a key moto does not know is refused with 403 `InvalidAccessKeyId`.
pub fn moto_checking_credentials() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let moto = start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "1")]);
        // The one request moto lets through unsigned (a blocking client: this may run inside
        // a test's runtime).
        let address = moto.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("moto answers");
        std::io::Write::write_all(
            &mut stream,
            format!(
                "PUT /{GUARDED_BUCKET} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .expect("create the guarded bucket");
        let mut status = String::new();
        BufReader::new(stream)
            .read_line(&mut status)
            .expect("moto's answer");
        assert!(status.contains(" 200 "), "the guarded bucket: {status}");
        moto
    })
}

fn start(env: &[(&str, &str)]) -> Moto {
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
        .envs(env.iter().copied())
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
    /// The `[storage.s3]` section of a `sync-recover` configuration file for one of its buckets.
    pub fn storage_toml(&self, bucket: &str) -> String {
        format!(
            "[storage.s3]\nbucket = \"{bucket}\"\nendpoint = \"{}\"\nregion = \"{REGION}\"\n\
             path_style = true\naccess_key_id = \"{ACCESS_KEY_ID}\"\nsecret_access_key = \"{SECRET_ACCESS_KEY}\"\n",
            self.endpoint
        )
    }

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

    /// Every key in a bucket (`ListObjectsV2`, page after page), to check what a test left there.
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let client = reqwest::Client::new();
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = client
                .get(format!("{}/{bucket}", self.endpoint))
                .query(&[("list-type", "2")]);
            if let Some(t) = &token {
                request = request.query(&[("continuation-token", t.as_str())]);
            }
            let body = request
                .send()
                .await
                .expect("list")
                .text()
                .await
                .expect("list body");
            keys.extend(
                body.split("<Key>")
                    .skip(1)
                    .filter_map(|rest| rest.split("</Key>").next())
                    .map(str::to_owned),
            );
            token = body
                .split("<NextContinuationToken>")
                .nth(1)
                .and_then(|rest| rest.split("</NextContinuationToken>").next())
                .map(str::to_owned);
            if token.is_none() {
                return keys;
            }
        }
    }
}

/// A front for the S3 server that answers `503 Slow Down` while it is failing, then passes
/// connections through: S3 under strain, for the retry tests. Each refused connection is
/// closed after its answer, so a client's next try is a new connection.
pub struct FailingFront {
    pub endpoint: String,
    failing: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FailingFront {
    /// Fails the next `times` connections (`usize::MAX`: until told otherwise).
    pub fn start(upstream: &str, times: usize) -> FailingFront {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let failing = Arc::new(AtomicUsize::new(times));
        let refused = Arc::new(AtomicUsize::new(0));
        let (left, count) = (Arc::clone(&failing), Arc::clone(&refused));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let fail = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                let upstream = upstream.clone();
                let count = Arc::clone(&count);
                std::thread::spawn(move || {
                    let mut client = client;
                    if fail {
                        // Read the request head, answer 503, close.
                        let mut head = Vec::new();
                        let mut buf = [0u8; 4096];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match client.read(&mut buf) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        count.fetch_add(1, Ordering::SeqCst);
                        let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                        let _ = write!(
                            client,
                            "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        return;
                    }
                    // Pass through: bytes both ways until either side closes.
                    let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                        return;
                    };
                    let (Ok(mut client_read), Ok(mut server_write)) =
                        (client.try_clone(), server.try_clone())
                    else {
                        return;
                    };
                    let up = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut client_read, &mut server_write);
                        let _ = server_write.shutdown(std::net::Shutdown::Write);
                    });
                    let mut server_read = server;
                    let _ = std::io::copy(&mut server_read, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                    let _ = up.join();
                });
            }
        });
        FailingFront {
            endpoint,
            failing,
            refused,
        }
    }

    /// Stops failing: every connection from now on goes through.
    pub fn recover(&self) {
        self.failing.store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many connections were answered 503.
    pub fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}
