use crate::blob::BlobError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("metadata database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Database(#[from] database::DatabaseError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("mailbox {0} does not exist")]
    UnknownMailbox(i64),
    #[error("folder `{0}` is not known in this mailbox")]
    UnknownFolder(String),
    #[error("item `{0}` is not known in this mailbox")]
    UnknownItem(String),
    #[error("invalid page cursor `{0}`")]
    BadCursor(String),
    #[error(transparent)]
    Retention(#[from] crate::retention::RetentionRefusal),
    #[error("stored record is inconsistent: {0}")]
    Inconsistent(String),
}
