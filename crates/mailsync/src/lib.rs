//! `mailsync`: Exchange connectors and the mailbox sync engine.
//!
//! - [`ews`]: EWS with ApplicationImpersonation (Exchange on-premises).
//! - [`graph`]: Microsoft Graph, app-only OAuth2 (Exchange Online).
//! - [`source::MailboxSource`]: what both connectors offer the engine.
//! - [`target::SyncTarget`]: where the engine writes (the archive implements it).
//! - [`engine`]: incremental, resumable sync of one or many mailboxes, with run reports.
//! - [`scheduler`]: when each mailbox of a task runs.

// Tests may unwrap: a panic there is a test failure with a clear location.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod context;
pub mod engine;
pub mod error;
pub mod ews;
pub mod graph;
pub mod scheduler;
pub mod source;
pub mod target;
pub use soapxml as xml;

pub use context::{MailboxCtx, RetryPolicy};
pub use engine::{sync_mailbox, sync_mailboxes, MailboxJob, MailboxStatus, RunReport, SyncOptions};
pub use error::{SourceError, TargetError};
pub use ews::{EwsConfig, EwsSource};
pub use graph::{GraphConfig, GraphSource};
pub use source::{ContentFormat, FetchError, FolderKind, MailboxSource, SourceFolder};
pub use target::{FailedItem, ItemLocation, MemoryTarget, SyncTarget};
