//! Errors of the connectors and of the sync target.

use std::time::Duration;

/// What went wrong talking to Exchange. The engine decides per variant whether to resync,
/// flag the mailbox for attention, or fail the run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    /// The service account may not impersonate this mailbox / the app may not open it.
    #[error("access to the mailbox was denied: {0}")]
    AccessDenied(String),
    #[error("the mailbox does not exist: {0}")]
    MailboxNotFound(String),
    /// The sync state or delta link is unknown to the server: a full resync is needed.
    #[error("the server no longer accepts the saved sync state")]
    InvalidSyncState,
    #[error("folder not found on the server: {0}")]
    FolderNotFound(String),
    /// The item asked for is not (or no longer) there.
    #[error("item not found on the server: {0}")]
    ItemNotFound(String),
    /// Service account or app credentials were refused.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// `retry_after` is the wait the server asked for last (Retry-After, BackOffMilliseconds),
    /// so a caller can tell a person how long to wait.
    #[error("still throttled after {attempts} attempts")]
    Throttled {
        attempts: u32,
        retry_after: Option<Duration>,
    },
    #[error("transport error: {0}")]
    Transport(String),
    #[error("server error {code}: {message}")]
    Server { code: String, message: String },
    #[error("unexpected response: {0}")]
    Protocol(String),
}

impl From<crate::xml::XmlError> for SourceError {
    fn from(e: crate::xml::XmlError) -> Self {
        SourceError::Protocol(e.to_string())
    }
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("sync target error: {0}")]
pub struct TargetError(pub String);
