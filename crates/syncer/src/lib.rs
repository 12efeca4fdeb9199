//! `syncer`: the sync engine wired to the archive and run on a schedule (capabilities 4, 5, 8 of
//! `DESIGN.md`). Layering stays one-way: `mailsync` (connectors, engine) -> `syncer` -> `archive`,
//! with the calendar and contact formats read by `transfer`.
//!
//! - [`ArchiveTarget`]: `mailsync::SyncTarget` on the archive store for one mailbox, sync states
//!   in the `sync_states` table.
//! - [`SyncStore`]: server connections (secrets sealed with AES-256-GCM), sync tasks, the status
//!   of each task mailbox and the run history, plus [`SyncStore::test_connection`].
//! - [`SyncService`]: finds due mailboxes, claims them with a lease, runs them and records the
//!   outcome; [`SyncService::spawn`] is the server's background loop.
//! - [`backfill_records`]: records for calendar items and contacts that were archived without.

// Tests may unwrap: a panic there is a test failure with a clear location.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod backfill;
mod crypto;
mod error;
mod meta;
mod prerequisites;
mod rules;
pub mod schedule;
mod service;
mod store;
mod target;
mod types;

pub use backfill::{backfill_records, record_from_content, BackfillReport};
pub use crypto::SecretBox;
pub use error::{Result, SyncerError};
pub use meta::item_meta;
pub use prerequisites::{LastTest, MissingPrerequisite, PrerequisiteKind, MIN_RETENTION_DAYS};
// Connections and their test are Exchange knowledge (mailsync); the syncer stores them.
pub use mailsync::{
    test_settings, ConnectionKind, ConnectionSettings, ConnectionTestReport, TestFailure, TestStep,
};
pub use rules::MAX_RUNS_PER_DAY;
pub use schedule::next_run;
pub use service::{ServiceOptions, SyncService, SyncWorker};
pub use store::SyncStore;
pub use target::ArchiveTarget;
pub use types::*;
