//! The archive over the shared test kit's databases (SQLite always, PostgreSQL unless
//! SR_TEST_POSTGRES=skip).

#![allow(dead_code, clippy::unwrap_used)]

use archive::{Archive, Blobs, Timestamp};

pub struct TestArchive {
    pub archive: Archive,
    kit: testkit::TestDb,
}

impl TestArchive {
    fn over(kit: testkit::TestDb) -> TestArchive {
        let blobs = Blobs::local(kit.dir().join("blobs"), None).unwrap();
        TestArchive {
            archive: Archive::new(kit.db.clone(), blobs),
            kit,
        }
    }

    pub async fn sqlite() -> TestArchive {
        TestArchive::over(testkit::TestDb::sqlite().await)
    }

    /// None when PostgreSQL tests are switched off.
    pub async fn postgres() -> Option<TestArchive> {
        Some(TestArchive::over(testkit::TestDb::postgres().await?))
    }

    /// The test's folder (blobs live in `blobs/`).
    pub fn dir(&self) -> &std::path::Path {
        self.kit.dir()
    }

    pub async fn finish(self) {
        self.archive.database().pool.close().await;
        self.kit.finish().await;
    }
}

/// An archive over one of the test kit's databases, its blobs in the kit's folder.
pub fn archive_on(kit: &testkit::TestDb) -> Archive {
    Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    )
}

pub fn t(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + seconds)
}

pub fn message(subject: &str, from: &str, date: &str, body: &str) -> Vec<u8> {
    let id = blake3::hash(format!("{subject}{from}{date}{body}").as_bytes()).to_hex();
    testkit::mime::Mail::new(subject)
        .from(from)
        .to("someone@example.com")
        .date(date)
        .message_id(&format!("<{id}@test>"))
        .text(body)
        .build()
}
