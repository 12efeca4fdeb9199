//! `exchange-sim`: a protocol-faithful Exchange simulator for tests, benchmarks and the demo.
//!
//! One axum server speaks:
//! - EWS SOAP at `POST /EWS/Exchange.asmx` (basic auth of a service account, ExchangeImpersonation),
//! - the OAuth2 token endpoint at `POST /{tenant}/oauth2/v2.0/token` (client credentials),
//! - Microsoft Graph v1.0 under `/v1.0` (bearer tokens from that endpoint).
//!
//! Mailboxes come from a seed directory (see [`mailbox::load_seed`]) and are changed between
//! syncs through [`SimHandle`], which also injects faults and reads request counters.
//!
//! Restores write through both protocols (folders, MIME and typed items, attachments); the
//! simulator records what a real server would have done with each write, a draft, an
//! invitation sent, a second copy, so tests can assert that none of it happened
//! ([`SimHandle::restored`], [`Counters`]).

// Tests may unwrap: a panic there is a test failure with a clear location.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod compose;
mod control;
mod dates;
pub mod ews;
mod ews_change;
mod ews_restore;
pub mod graph;
mod graph_change;
mod graph_restore;
pub mod mailbox;
mod occurrences;
mod odata;
mod properties;
pub mod restore;
pub mod state;
pub mod token;
pub mod tokens;
mod upload;
pub use soapxml as xml;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{any, post, put};
use axum::Router;

pub use mailbox::{FolderKind, ItemKind, ItemRef, MailboxError};
pub use restore::{AttachmentRecord, RestoredItem, RESTORE_STAMP_GUID, RESTORE_STAMP_NAME};
pub use state::{Counters, ItemFault, ItemIds, SimHandle, ThrottleRule};

/// Simulator settings. [`SimConfig::default`] gives:
///
/// | field | default |
/// |---|---|
/// | `listen` | `127.0.0.1:5080` |
/// | `seed_dir` | the `seed/` folder shipped in this crate's source tree |
/// | `service_account` / `service_password` | `svc-archive@example.com` / `sim-password` |
/// | `tenant` | `example.com` |
/// | `client_id` / `client_secret` | `00000000-0000-0000-0000-00000000c11e` / `sim-client-secret` |
/// | `token_lifetime` | 3599 s (as Microsoft's sample token response) |
/// | `graph_roles` | `Mail.ReadWrite`, `Calendars.ReadWrite`, `Contacts.ReadWrite` |
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub listen: SocketAddr,
    /// `None` starts with no mailboxes (tests then add their own through [`SimHandle`]).
    pub seed_dir: Option<PathBuf>,
    pub service_account: String,
    pub service_password: String,
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    pub token_lifetime: Duration,
    /// The application permissions (app roles) tokens carry; Graph writes check them.
    pub graph_roles: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5080)),
            seed_dir: Some(default_seed_dir()),
            service_account: "svc-archive@example.com".into(),
            service_password: "sim-password".into(),
            tenant: "example.com".into(),
            client_id: "00000000-0000-0000-0000-00000000c11e".into(),
            client_secret: "sim-client-secret".into(),
            token_lifetime: Duration::from_secs(3599),
            graph_roles: [
                "Mail.ReadWrite",
                "Calendars.ReadWrite",
                "Contacts.ReadWrite",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl SimConfig {
    /// Defaults, listening on an ephemeral port of 127.0.0.1: what tests want.
    pub fn for_tests() -> SimConfig {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..SimConfig::default()
        }
    }
}

/// The seed set shipped with this crate (3 mailboxes at example.com).
pub fn default_seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seed")
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Seed(#[from] MailboxError),
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// A simulator serving in the background; stops when dropped.
pub struct RunningSim {
    base_url: String,
    addr: SocketAddr,
    handle: SimHandle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), std::io::Error>>>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn ews_url(&self) -> String {
        format!("{}/EWS/Exchange.asmx", self.base_url)
    }

    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.base_url)
    }

    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.base_url)
    }

    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Stops serving and waits for the server task to end.
    pub async fn stop(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(r) => r.map_err(SimError::Serve)?,
                Err(e) => return Err(SimError::Serve(std::io::Error::other(e))),
            }
        }
        Ok(())
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn router(state: Arc<state::SimState>) -> Router {
    Router::new()
        .route("/EWS/Exchange.asmx", post(ews::ews_endpoint))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token_endpoint))
        .route("/v1.0/{*rest}", any(graph::graph_endpoint))
        .route(
            "/upload/{session}",
            put(upload::put_range).delete(upload::cancel),
        )
        .route("/_control/{address}/{action}", post(control::control))
        // axum's default of 2 MB is below what restores send: an EWS CreateItem of a large
        // message, a 4 MB upload range.
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state)
}

/// Loads the seed, binds `config.listen` and serves in a background task.
pub async fn start(config: SimConfig) -> Result<RunningSim, SimError> {
    let mailboxes = match &config.seed_dir {
        Some(dir) => mailbox::load_seed(dir, 1)?,
        None => Vec::new(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(SimError::Serve)?;
    let state = Arc::new(state::SimState::new(config, mailboxes));
    let handle = SimHandle {
        state: state.clone(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningSim {
        base_url: format!("http://{addr}"),
        addr,
        handle,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// Runs the simulator until Ctrl-C: the body of a `sync-recover simulator` subcommand.
pub async fn run(config: SimConfig) -> Result<(), SimError> {
    let sim = start(config).await?;
    tracing::info!(
        url = %sim.base_url(),
        mailboxes = ?sim.handle().mailboxes(),
        "Exchange simulator listening: EWS at /EWS/Exchange.asmx, Graph at /v1.0, token at /{{tenant}}/oauth2/v2.0/token"
    );
    let _ = tokio::signal::ctrl_c().await;
    sim.stop().await
}
