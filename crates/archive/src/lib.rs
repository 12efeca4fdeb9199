//! The archive core: what a mailbox held, in which folder, and when.
//!
//! - [`Archive`] is the store: SQL metadata through [`database::Database`] (SQLite or PostgreSQL,
//!   one portable set of statements) and raw content through [`Blobs`].
//! - Folder tree and folder membership are intervals (`seen_from`, `seen_until`), so a source
//!   change never deletes archived content and [`Archive::state_at`] rebuilds any past instant.
//! - [`import`] reads legacy mbox, EML folders and Maildir++ trees into a named mailbox.

pub mod blob;
mod error;
pub mod import;
pub mod mailgen;
pub mod meta;
mod store;
mod types;

pub use blob::{BlobError, BlobHash, BlobKey, BlobStore, Blobs, LocalBlobStore};
pub use error::ArchiveError;
pub use store::Archive;
pub use types::*;
