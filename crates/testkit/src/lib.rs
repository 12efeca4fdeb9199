//! The one test harness every crate's tests share: a fresh database on each backend, and test
//! messages built from parts ([`mime::Mail`]). SQLite always; PostgreSQL at 127.0.0.1:5432 (user
//! `postgres`, trust) unless `SR_TEST_POSTGRES=skip`. Each test database is new and empty
//! (migrations run), and `finish` drops a PostgreSQL one.
//!
//! The simulator is started by `exchange_sim::start(SimConfig::for_tests())` (its own test
//! set-up, used by every suite that talks to Exchange); the kit stays free of the crates it tests
//! so their unit tests can use it without building them twice.
//!
//! ```ignore
//! async fn signs_in(kit: &testkit::TestDb) { /* kit.db ... */ }
//! testkit::each_backend!(signs_in);
//! ```

// A test harness fails loudly: a panic here is a broken test machine, named at once.
#![allow(clippy::unwrap_used)]

pub mod corpus;
pub mod http;
pub mod load;
pub mod memory;
pub mod mime;
pub mod net;
pub mod s3;

use std::path::Path;

use database::Database;

const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, migrated database and a temporary folder beside it (blobs, index, files).
pub struct TestDb {
    pub db: Database,
    pub backend: Backend,
    /// The connection URL, for code that opens the database itself (a server under test).
    pub url: String,
    dir: tempfile::TempDir,
    pg_name: Option<String>,
}

/// Whether PostgreSQL tests are switched off on this machine.
pub fn postgres_skipped() -> bool {
    std::env::var("SR_TEST_POSTGRES").as_deref() == Ok("skip")
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/meta.db", dir.path().display());
        let db = Database::open(&url).await.unwrap();
        TestDb {
            db,
            backend: Backend::Sqlite,
            url,
            dir,
            pg_name: None,
        }
    }

    /// None when PostgreSQL tests are switched off.
    pub async fn postgres() -> Option<TestDb> {
        if postgres_skipped() {
            return None;
        }
        let admin = Database::connect(POSTGRES_ADMIN)
            .await
            .expect("PostgreSQL at 127.0.0.1:5432 (set SR_TEST_POSTGRES=skip to skip)");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("sr_kit_{}_{}", std::process::id(), nanos);
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin.pool)
            .await
            .unwrap();
        admin.pool.close().await;
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        let db = Database::open(&url).await.unwrap();
        Some(TestDb {
            db,
            backend: Backend::Postgres,
            url,
            dir: tempfile::tempdir().unwrap(),
            pg_name: Some(name),
        })
    }

    /// The backend asked for; None for PostgreSQL when it is switched off.
    pub async fn on(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite().await),
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Closes the pool and drops a PostgreSQL database.
    pub async fn finish(self) {
        self.db.pool.close().await;
        if let Some(name) = self.pg_name {
            if let Ok(admin) = Database::connect(POSTGRES_ADMIN).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin.pool)
                    .await;
                admin.pool.close().await;
            }
        }
    }
}

/// Runs `async fn name(kit: &TestDb)` once per backend, as tests `name::sqlite` and
/// `name::postgres` (the latter passes without running when PostgreSQL is switched off), and
/// drops the database afterwards.
#[macro_export]
macro_rules! each_backend {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let kit = $crate::TestDb::sqlite().await;
                super::$name(&kit).await;
                kit.finish().await
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(kit) = $crate::TestDb::postgres().await {
                    super::$name(&kit).await;
                    kit.finish().await
                }
            }
        }
    };
}
