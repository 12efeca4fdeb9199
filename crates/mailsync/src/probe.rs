//! Connection tests that say exactly what failed: the URL, name resolution, the TCP connection,
//! TLS, then the credentials and, given a mailbox, the right to open it. The last steps use the
//! real connectors, so a passing test means a sync would get in too.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connection::{build_source, graph_config, ConnectionSettings};
use crate::context::{MailboxCtx, RetryPolicy};
use crate::error::SourceError;

const NET_TIMEOUT: Duration = Duration::from_secs(8);

/// What went wrong in a connection test, for the UI to pick an icon and a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestFailure {
    InvalidUrl,
    Dns,
    ConnectionRefused,
    Timeout,
    Tls,
    Http,
    BadCredentials,
    ClientSecretRefused,
    UnknownApplication,
    ImpersonationDenied,
    MailboxNotFound,
    SecretUnreadable,
    /// The server only throttled (EWS ErrorServerBusy, Graph 429): nothing is wrong with the
    /// settings, the test should be repeated later.
    ServerBusy,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestStep {
    pub step: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTestReport {
    pub ok: bool,
    pub failure: Option<TestFailure>,
    /// One sentence saying what failed (or that everything worked).
    pub message: String,
    pub steps: Vec<TestStep>,
}

impl ConnectionTestReport {
    /// A test that could not start: `step` failed before anything was sent.
    pub fn failed_before_start(step: &str, failure: TestFailure, message: String) -> Self {
        Steps { steps: Vec::new() }.fail(step, failure, message)
    }
}

struct Steps {
    steps: Vec<TestStep>,
}

impl Steps {
    fn ok(&mut self, step: &str, detail: impl Into<String>) {
        self.steps.push(TestStep {
            step: step.into(),
            ok: true,
            detail: detail.into(),
        });
    }

    fn fail(mut self, step: &str, failure: TestFailure, message: String) -> ConnectionTestReport {
        self.steps.push(TestStep {
            step: step.into(),
            ok: false,
            detail: message.clone(),
        });
        ConnectionTestReport {
            ok: false,
            failure: Some(failure),
            message,
            steps: self.steps,
        }
    }

    fn done(self, message: String) -> ConnectionTestReport {
        ConnectionTestReport {
            ok: true,
            failure: None,
            message,
            steps: self.steps,
        }
    }
}

/// The whole error chain: reqwest's own message leaves out the cause that matters (refused,
/// certificate, ...).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let m = s.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        cur = s.source();
    }
    out
}

/// URL, DNS, TCP and TLS/HTTP reachability of one endpoint. Any HTTP answer counts as reachable.
async fn reach(
    steps: &mut Steps,
    label: &str,
    url: &str,
) -> std::result::Result<(), (TestFailure, String)> {
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        (
            TestFailure::InvalidUrl,
            format!("{label} URL `{url}` is not valid: {e}"),
        )
    })?;
    let host = parsed
        .host_str()
        .ok_or_else(|| {
            (
                TestFailure::InvalidUrl,
                format!("{label} URL `{url}` has no host"),
            )
        })?
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let lookup =
        tokio::time::timeout(NET_TIMEOUT, tokio::net::lookup_host((host.as_str(), port))).await;
    let addrs: Vec<std::net::SocketAddr> = match lookup {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => {
            return Err((
                TestFailure::Dns,
                format!("{label}: the host name `{host}` cannot be resolved (DNS): {e}"),
            ))
        }
        Err(_) => {
            return Err((
                TestFailure::Dns,
                format!("{label}: resolving `{host}` timed out (DNS)"),
            ))
        }
    };
    if addrs.is_empty() {
        return Err((
            TestFailure::Dns,
            format!("{label}: `{host}` resolves to no address (DNS)"),
        ));
    }
    steps.ok(
        &format!("{label}: DNS"),
        format!("{host} resolves to {}", addrs[0].ip()),
    );

    let mut last = None;
    let mut connected = None;
    for addr in &addrs {
        match tokio::time::timeout(NET_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                connected = Some(*addr);
                break;
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = Some((TestFailure::ConnectionRefused, format!("{label}: connection to {host}:{port} ({addr}) was refused: nothing listens there")));
            }
            Ok(Err(e)) => {
                last = Some((
                    TestFailure::ConnectionRefused,
                    format!("{label}: cannot connect to {host}:{port} ({addr}): {e}"),
                ))
            }
            Err(_) => {
                last = Some((
                    TestFailure::Timeout,
                    format!("{label}: connecting to {host}:{port} ({addr}) timed out (firewall?)"),
                ))
            }
        }
    }
    let Some(addr) = connected else {
        return Err(last.unwrap_or((
            TestFailure::Other,
            format!("{label}: no address to connect to"),
        )));
    };
    steps.ok(&format!("{label}: TCP"), format!("connected to {addr}"));

    let http = reqwest::Client::builder()
        .timeout(NET_TIMEOUT)
        .build()
        .map_err(|e| (TestFailure::Other, format!("HTTP client: {e}")))?;
    match http.get(url).send().await {
        Ok(resp) => {
            let what = if parsed.scheme() == "https" {
                "TLS and HTTP"
            } else {
                "HTTP"
            };
            steps.ok(
                &format!("{label}: {what}"),
                format!("the server answers (HTTP {})", resp.status().as_u16()),
            );
            Ok(())
        }
        Err(e) => {
            let detail = chain(&e);
            let lower = detail.to_ascii_lowercase();
            // TCP just worked, so a connect-phase failure over https is the TLS handshake.
            if parsed.scheme() == "https"
                && (e.is_connect()
                    || ["certificate", "tls", "handshake", "ssl", "corrupt message"]
                        .iter()
                        .any(|k| lower.contains(k)))
            {
                Err((
                    TestFailure::Tls,
                    format!("{label}: the TLS handshake with {host} failed: {detail}"),
                ))
            } else if e.is_timeout() {
                Err((
                    TestFailure::Timeout,
                    format!("{label}: {host} accepted the connection but did not answer: {detail}"),
                ))
            } else {
                Err((
                    TestFailure::Http,
                    format!("{label}: HTTP request to {url} failed: {detail}"),
                ))
            }
        }
    }
}

/// The failure for a server that only throttled, saying how long it asked to wait.
fn busy(retry_after: Option<Duration>) -> (TestFailure, String) {
    let message = match retry_after {
        // Rounded up: "try again in 0 s" would invite an immediate retry that is refused again.
        Some(d) => format!(
            "the server is busy, try again in {} s",
            d.as_millis().div_ceil(1000).max(1)
        ),
        None => "the server is busy, try again later".to_string(),
    };
    (TestFailure::ServerBusy, message)
}

fn ctx(mailbox: &str) -> MailboxCtx {
    // One quick retry at most: a test should answer in seconds, not back off for minutes.
    MailboxCtx::new(
        mailbox,
        2,
        RetryPolicy {
            max_attempts: 2,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_millis(500),
            max_server_wait: Duration::from_secs(2),
        },
    )
}

/// Tests settings and a secret (also before they are saved). `probe_mailbox` is a mailbox the
/// connection should be able to open; without one, only reachability and credentials are tested.
/// The connection test: can a sync get in (the report's `ok`), and, given a mailbox, what a
/// restore could write there (a step of its own, `restore`, that names what is missing and where
/// it is granted; a sync works without it).
pub async fn test_settings(
    settings: &ConnectionSettings,
    secret: &str,
    probe_mailbox: Option<&str>,
) -> ConnectionTestReport {
    let mut report = test_sync(settings, secret, probe_mailbox).await;
    let probe = probe_mailbox.map(str::trim).filter(|m| !m.is_empty());
    if let (true, Some(mailbox)) = (report.ok, probe) {
        report
            .steps
            .push(restore_step(settings, secret, mailbox).await);
    }
    report
}

async fn restore_step(settings: &ConnectionSettings, secret: &str, mailbox: &str) -> TestStep {
    let answer = match crate::connection::build_writer(settings, secret, Some(NET_TIMEOUT)) {
        Ok(writer) => writer.write_access(&ctx(mailbox)).await,
        Err(e) => Err(e),
    };
    match answer {
        Ok(a) if a.missing.is_empty() => TestStep {
            step: "restore".into(),
            ok: true,
            detail: format!(
                "A restore may write mail, calendar items and contacts into {mailbox}."
            ),
        },
        Ok(a) => TestStep {
            step: "restore".into(),
            ok: false,
            detail: format!(
                "Sync works, but a restore into {mailbox} could not write everything: {}",
                a.missing.join(" ")
            ),
        },
        Err(e) => TestStep {
            step: "restore".into(),
            ok: false,
            detail: format!("What a restore may write into {mailbox} could not be checked: {e}"),
        },
    }
}

async fn test_sync(
    settings: &ConnectionSettings,
    secret: &str,
    probe_mailbox: Option<&str>,
) -> ConnectionTestReport {
    let mut steps = Steps { steps: Vec::new() };
    let probe = probe_mailbox
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    match settings {
        ConnectionSettings::Ews { url, username } => {
            if let Err((f, m)) = reach(&mut steps, "EWS endpoint", url).await {
                return steps.fail("reach", f, m);
            }
            let source = match build_source(settings, secret, Some(NET_TIMEOUT)) {
                Ok(s) => s,
                Err(e) => return steps.fail("connector", TestFailure::Other, e.to_string()),
            };
            // Exchange checks the credentials before the impersonation, so any mailbox serves to
            // test them; the service account's own address is the natural default.
            let target = probe.clone().unwrap_or_else(|| username.clone());
            match source.open(&ctx(&target)).await {
                Ok(()) => {
                    steps.ok("credentials", format!("{username} signed in"));
                    if let Some(p) = &probe {
                        steps.ok("impersonation", format!("{p} opened through impersonation"));
                        steps.done(format!("Connected: {username} can open {p}."))
                    } else {
                        steps.done(format!("Connected: the server accepted {username}."))
                    }
                }
                Err(SourceError::Auth(why)) => steps.fail(
                    "credentials",
                    TestFailure::BadCredentials,
                    format!("The EWS server refused the user name or password of {username} (HTTP 401): {why}"),
                ),
                Err(SourceError::AccessDenied(why)) if probe.is_some() => {
                    steps.ok("credentials", format!("{username} signed in"));
                    steps.fail(
                        "impersonation",
                        TestFailure::ImpersonationDenied,
                        format!(
                            "Credentials accepted, but {username} may not impersonate {}: {why}. Grant it the ApplicationImpersonation role.",
                            target
                        ),
                    )
                }
                Err(SourceError::MailboxNotFound(why)) if probe.is_some() => {
                    steps.ok("credentials", format!("{username} signed in"));
                    steps.fail("mailbox", TestFailure::MailboxNotFound, format!("Credentials accepted, but there is no mailbox {target}: {why}"))
                }
                // No probe mailbox: the service account itself need not have a mailbox, and the
                // answer still shows the credentials were accepted.
                Err(SourceError::MailboxNotFound(_) | SourceError::AccessDenied(_)) => {
                    steps.ok("credentials", format!("{username} signed in"));
                    steps.done(format!("Connected: the server accepted {username}. Give a mailbox address to test impersonation too."))
                }
                Err(SourceError::Throttled { retry_after, .. }) => {
                    let (failure, message) = busy(retry_after);
                    steps.fail("credentials", failure, message)
                }
                Err(e) => steps.fail("credentials", TestFailure::Other, format!("The EWS request failed: {e}")),
            }
        }
        ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint,
            token_endpoint,
        } => {
            let config = graph_config(
                tenant_id,
                client_id,
                secret,
                graph_endpoint.as_deref(),
                token_endpoint.as_deref(),
                Some(NET_TIMEOUT),
            );
            if let Err((f, m)) = reach(&mut steps, "token endpoint", &config.token_url).await {
                return steps.fail("reach", f, m);
            }
            let client = match crate::graph::GraphClient::new(config.clone()) {
                Ok(c) => c,
                Err(e) => return steps.fail("connector", TestFailure::Other, e.to_string()),
            };
            match client.access_token().await {
                Ok(_) => steps.ok(
                    "credentials",
                    format!("token issued to application {client_id}"),
                ),
                Err(SourceError::Auth(why)) => {
                    let (failure, message) = if why.contains("invalid_client")
                        || why.contains("7000215")
                    {
                        (TestFailure::ClientSecretRefused, format!("The token endpoint refused the client secret of application {client_id}: {why}"))
                    } else if why.contains("unauthorized_client") || why.contains("700016") {
                        (
                            TestFailure::UnknownApplication,
                            format!("The tenant {tenant_id} has no application {client_id}: {why}"),
                        )
                    } else {
                        (
                            TestFailure::BadCredentials,
                            format!("The token endpoint refused the credentials: {why}"),
                        )
                    };
                    return steps.fail("credentials", failure, message);
                }
                Err(e) => {
                    return steps.fail(
                        "credentials",
                        TestFailure::Other,
                        format!("The token request failed: {e}"),
                    )
                }
            }
            if let Err((f, m)) = reach(
                &mut steps,
                "Graph endpoint",
                &format!("{}/", config.graph_base),
            )
            .await
            {
                return steps.fail("reach", f, m);
            }
            let Some(p) = probe else {
                return steps.done(format!("Connected: application {client_id} got a token. Give a mailbox address to test mailbox access too."));
            };
            let source = match crate::graph::GraphSource::new(config) {
                Ok(s) => s,
                Err(e) => return steps.fail("connector", TestFailure::Other, e.to_string()),
            };
            match crate::source::MailboxSource::open(&source, &ctx(&p)).await {
                Ok(()) => {
                    steps.ok("mailbox", format!("{p} opened"));
                    steps.done(format!("Connected: application {client_id} can open {p}."))
                }
                Err(SourceError::AccessDenied(why)) => steps.fail(
                    "mailbox",
                    TestFailure::ImpersonationDenied,
                    format!("Token issued, but the application may not open {p}: {why}. Check Mail.Read application permission and any application access policy."),
                ),
                Err(SourceError::MailboxNotFound(why)) => steps.fail("mailbox", TestFailure::MailboxNotFound, format!("Token issued, but there is no mailbox {p}: {why}")),
                Err(SourceError::Throttled { retry_after, .. }) => {
                    let (failure, message) = busy(retry_after);
                    steps.fail("mailbox", failure, message)
                }
                Err(e) => steps.fail("mailbox", TestFailure::Other, format!("Opening {p} failed: {e}")),
            }
        }
    }
}
