//! `mailsync`: Exchange connectors and the mailbox sync engine.
//!
//! - [`ews`]: EWS with ApplicationImpersonation (Exchange on-premises).
//! - [`graph`]: Microsoft Graph, app-only OAuth2 (Exchange Online).
//! - [`source::MailboxSource`]: what both connectors offer the engine.
//! - [`target::SyncTarget`]: where the engine writes (the archive implements it).
//! - [`connection`]: connection settings and the connector built from them; [`probe`]: the
//!   step-by-step connection test.
//! - [`restore`]: writing archived items back (folders, skip-existing, creation).
//! - [`engine`]: incremental, resumable sync of one or many mailboxes, with run reports.

// Tests may unwrap: a panic there is a test failure with a clear location.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod connection;
pub mod context;
pub mod engine;
pub mod error;
pub mod ews;
pub mod graph;
pub mod probe;
pub mod restore;
pub mod source;
pub mod target;
pub mod well_known;
pub use soapxml as xml;

pub use connection::{
    build_source, build_writer, graph_config, ConnectionKind, ConnectionSettings,
};
pub use context::{MailboxCtx, RetryPolicy};
pub use engine::{
    sync_mailbox, sync_mailboxes, MailboxJob, MailboxStatus, RunCounts, RunReport, SyncOptions,
};
pub use error::{SourceError, TargetError};
pub use ews::{EwsConfig, EwsSource};
pub use graph::{GraphConfig, GraphSource};
pub use probe::{test_settings, ConnectionTestReport, TestFailure, TestStep};
pub use source::{ContentFormat, FetchError, FolderKind, ItemContent, MailboxSource, SourceFolder};
pub use target::{FailedItem, ItemLocation, MemoryTarget, NewMessage, SyncTarget};
