#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("metadata database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error(transparent)]
    Syncer(#[from] syncer::SyncerError),
    /// Input that breaks a rule: a sentence for the person (or agent) that sent it.
    #[error("{0}")]
    Invalid(String),
    #[error("agent {0} does not exist")]
    UnknownAgent(i64),
    #[error("an agent named `{0}` exists already")]
    NameTaken(String),
    #[error("stored record is inconsistent: {0}")]
    Inconsistent(String),
}

pub type Result<T, E = LegacyError> = std::result::Result<T, E>;
