//! The metadata database. One connection pool type for both backends (`sqlx::Any`), so the stores
//! above it are written once in portable SQL (`$1` placeholders work in SQLite and PostgreSQL).
//! Each backend has its own migrations folder with matching file names: `migrations/sqlite` and
//! `migrations/postgresql` at the workspace root.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::ConnectOptions;

pub use sqlx::AnyPool as Pool;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgresql");

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("database URL must start with sqlite:// or postgres:// (got scheme `{0}`)")]
    UnsupportedScheme(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// Which SQL dialect a pool speaks; stores use it for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, DatabaseError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(DatabaseError::UnsupportedScheme(other.to_owned())),
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// A connected pool and the dialect it speaks.
#[derive(Debug, Clone)]
pub struct Database {
    pub pool: Pool,
    pub backend: Backend,
}

impl Database {
    /// Connects without migrating. A SQLite file is created when missing; WAL mode lets readers
    /// (the portal) go on while the writer (sync, import) commits.
    pub async fn connect(url: &str) -> Result<Self, DatabaseError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let (options, max_connections) = match backend {
            Backend::Sqlite => {
                let sqlite = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .map_err(DatabaseError::Connect)?
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30));
                // Any's options are built from a URL; carry the SQLite settings through it.
                let any = AnyConnectOptions::from_str(sqlite.to_url_lossy().as_str())
                    .map_err(DatabaseError::Connect)?;
                (any, 8)
            }
            Backend::Postgres => (
                AnyConnectOptions::from_str(url).map_err(DatabaseError::Connect)?,
                16,
            ),
        };
        let options = options.log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(DatabaseError::Connect)?;
        Ok(Database { pool, backend })
    }

    /// Applies every migration not yet applied. Safe to call on every start.
    pub async fn migrate(&self) -> Result<(), DatabaseError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Connects and migrates: what the server does at start.
    pub async fn open(url: &str) -> Result<Self, DatabaseError> {
        let db = Self::connect(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// A trivial round trip, for health checks.
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unknown_scheme() {
        let err = Backend::from_url("mysql://localhost/db").expect_err("mysql is refused");
        assert!(err.to_string().contains("`mysql`"), "{err}");
        assert_eq!(
            Backend::from_url("sqlite://x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://localhost/x").ok(),
            Some(Backend::Postgres)
        );
    }

    #[tokio::test]
    async fn sqlite_file_is_created_and_migrated_twice_without_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/meta.db", dir.path().display());
        let db = Database::open(&url).await.expect("open");
        db.ping().await.expect("ping");
        db.migrate().await.expect("second migrate is a no-op");
        assert!(dir.path().join("meta.db").exists());
    }
}
