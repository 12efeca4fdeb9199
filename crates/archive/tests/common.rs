//! Test backends: a fresh SQLite file always, and a fresh PostgreSQL database unless
//! SR_TEST_POSTGRES=skip.

#![allow(dead_code, clippy::unwrap_used)]

use archive::{Archive, Blobs, Timestamp};
use database::Database;

pub struct TestArchive {
    pub archive: Archive,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestArchive {
    pub async fn sqlite() -> TestArchive {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/meta.db", dir.path().display());
        let db = Database::open(&url).await.unwrap();
        let blobs = Blobs::local(dir.path().join("blobs"), None).unwrap();
        TestArchive {
            archive: Archive::new(db, blobs),
            dir,
            pg_name: None,
        }
    }

    /// None when PostgreSQL tests are switched off.
    pub async fn postgres() -> Option<TestArchive> {
        if std::env::var("SR_TEST_POSTGRES").as_deref() == Ok("skip") {
            return None;
        }
        let admin = Database::connect("postgres://postgres@127.0.0.1:5432/postgres")
            .await
            .expect("PostgreSQL at 127.0.0.1:5432 (set SR_TEST_POSTGRES=skip to skip)");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("sr_test_{}_{}", std::process::id(), nanos);
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin.pool)
            .await
            .unwrap();
        admin.pool.close().await;
        let db = Database::open(&format!("postgres://postgres@127.0.0.1:5432/{name}"))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path().join("blobs"), None).unwrap();
        Some(TestArchive {
            archive: Archive::new(db, blobs),
            dir,
            pg_name: Some(name),
        })
    }

    pub async fn finish(self) {
        self.archive.database().pool.close().await;
        if let Some(name) = self.pg_name {
            let admin = Database::connect("postgres://postgres@127.0.0.1:5432/postgres")
                .await
                .unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin.pool)
                .await
                .unwrap();
            admin.pool.close().await;
        }
    }
}

pub fn t(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + seconds)
}

pub fn message(subject: &str, from: &str, date: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: someone@example.com\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{}@test>\r\n\r\n{body}\r\n",
        blake3::hash(format!("{subject}{from}{date}{body}").as_bytes()).to_hex()
    )
    .into_bytes()
}
