//! The archive core: what a mailbox held, in which folder, and when.
//!
//! - [`Archive`] is the store: SQL metadata through [`database::Database`] (SQLite or PostgreSQL,
//!   one portable set of statements) and raw content through [`Blobs`].
//! - Folder tree and folder membership are intervals (`seen_from`, `seen_until`), so a source
//!   change never deletes archived content and [`Archive::state_at`] rebuilds any past instant.
//! - Formats (legacy import, calendar and contact files) live in the `transfer` crate, which
//!   uses only this crate's public API.

pub mod blob;
mod error;
pub mod history;
pub mod meta;
pub mod retention;
mod s3;
mod store;
mod types;

pub use blob::{BlobError, BlobHash, BlobKey, BlobStore, Blobs, ByteStream, LocalBlobStore};
pub use error::ArchiveError;
pub use history::*;
pub use retention::*;
pub use s3::{S3BlobStore, S3Settings, MULTIPART_ABOVE};
pub use store::{read_retention_policy, Archive};
pub use types::*;
