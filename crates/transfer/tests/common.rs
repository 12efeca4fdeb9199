//! A fresh SQLite archive from the shared test kit. The import tests need no PostgreSQL run:
//! they exercise the formats, and the store's SQL is covered by the archive crate's own tests.

#![allow(dead_code, clippy::unwrap_used)]

use archive::{Archive, Blobs};

pub struct TestArchive {
    pub archive: Archive,
    kit: testkit::TestDb,
}

impl TestArchive {
    pub async fn sqlite() -> TestArchive {
        let kit = testkit::TestDb::sqlite().await;
        let blobs = Blobs::local(kit.dir().join("blobs"), None).unwrap();
        TestArchive {
            archive: Archive::new(kit.db.clone(), blobs),
            kit,
        }
    }

    /// The test's folder, for source files to import.
    pub fn dir(&self) -> &std::path::Path {
        self.kit.dir()
    }

    pub async fn finish(self) {
        self.archive.database().pool.close().await;
        self.kit.finish().await;
    }
}
