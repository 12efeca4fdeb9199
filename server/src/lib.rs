//! The server behind the `sync-recover` binary, as a library so integration tests can start it on
//! port 0 with a fresh data folder (`Application::build`).

pub mod config;
pub mod demo;
pub mod telemetry;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accounts::{Accounts, SignInThrottle};
use app::api::context::AppContext;
use database::Database;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use config::Settings;

/// Opens (and creates) the data folder and the database, running migrations.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    if settings.storage.database_url.is_none() {
        std::fs::create_dir_all(&settings.storage.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data folder `{}`: {e}",
                settings.storage.data_dir.display()
            )
        })?;
    }
    Ok(Database::open(settings.database_url().expose_secret()).await?)
}

/// A bound, ready-to-run portal.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = open_database(settings).await?;
        let ctx = AppContext {
            accounts: Accounts::new(db.clone()),
            throttle: Arc::new(SignInThrottle::new(5, Duration::from_secs(15 * 60))),
            secure_cookies: settings.secure_cookies(),
            session_lifetime: Duration::from_secs(settings.server.session_hours * 3600),
        };
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.server.listen))?;
        let router = web::router(settings, db, ctx);
        Ok(Application { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
