//! Getting things back, as background jobs.
//!
//! ```text
//! ExportRequest ──plan──► items and their folders ──► BagWriter (scratch zip, one entry at a time)
//!                                                        │
//!                         job outcomes (the report) ◄────┤
//!                                                        ▼
//!                                        blob store, in parts ──► download
//! ```
//!
//! - [`export`]: what an export takes ([`ExportRequest`]), the checks before it may start, and
//!   the runner that writes the bag.
//! - [`worker`]: claims jobs from the queue and runs each with its kind's runner.
//!
//! Who may start or see a job is decided in `access`; this crate trusts its caller.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod export;
pub mod import;
mod job_end;
pub mod plan;
pub mod purge;
pub mod restore;
pub mod worker;

pub use error::RecoveryError;
pub use export::{
    ExportChunk, ExportFile, ExportPart, ExportRequest, Exporter, MailFormat, EXPORT_KIND,
};
pub use import::{ImportFile, ImportReport, ImportRequest, Importer, IMPORT_KIND};
pub use plan::{ItemSource, Plan, PlannedItem};
pub use purge::{MailboxPreview, PurgeRequest, PurgeSummary, Purger, PURGE_KIND};
pub use restore::{
    Placement, RestoreRequest, RestoreSummary, RestoreTarget, Restorer, RESTORE_KIND,
};
pub use worker::{JobEnded, Worker};
