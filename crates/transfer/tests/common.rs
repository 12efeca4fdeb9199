//! A fresh SQLite archive in a temporary directory. The import tests need no PostgreSQL run:
//! they exercise the formats, and the store's SQL is covered by the archive crate's own tests.

#![allow(dead_code, clippy::unwrap_used)]

use archive::{Archive, Blobs};
use database::Database;

pub struct TestArchive {
    pub archive: Archive,
    pub dir: tempfile::TempDir,
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
        }
    }

    pub async fn finish(self) {
        self.archive.database().pool.close().await;
    }
}
