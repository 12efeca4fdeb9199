use archive::ArchiveError;

#[derive(Debug, thiserror::Error)]
pub enum SyncerError {
    #[error("metadata database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("connection {0} does not exist")]
    UnknownConnection(i64),
    #[error("sync task {0} does not exist")]
    UnknownTask(i64),
    #[error("mailbox {address} is not part of sync task {task}")]
    UnknownTaskMailbox { task: i64, address: String },
    #[error("a {what} named `{name}` exists already")]
    NameTaken { what: &'static str, name: String },
    #[error("connection {0} is used by sync tasks; delete or move them first")]
    ConnectionInUse(i64),
    /// Input that breaks a rule, with the field it came from and a sentence for a person.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A task cannot be enabled yet: each entry says what is missing and where to fix it.
    #[error("{}", .0.iter().map(|m| m.message.as_str()).collect::<Vec<_>>().join(" "))]
    PrerequisitesMissing(Vec<crate::MissingPrerequisite>),
    #[error("connection secret cannot be decrypted (wrong server key or damaged record)")]
    SecretUnreadable,
    #[error("connection {0} has no secret stored")]
    NoSecret(i64),
    #[error("stored record is inconsistent: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Source(#[from] mailsync::SourceError),
    /// A run ended but its outcome could not be stored (a full disk, say); the mailbox is run
    /// again once its lease lapses. `reason` is why the run itself failed, if it did.
    #[error("the run's outcome could not be recorded ({error}){}", reason.as_deref().map(|r| format!("; the run: {r}")).unwrap_or_default())]
    NotRecorded {
        error: Box<SyncerError>,
        reason: Option<String>,
    },
}

impl SyncerError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> SyncerError {
        SyncerError::Invalid {
            field,
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, SyncerError>;

/// Unique-constraint violations look different on each backend; both name the constraint.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation() || {
                let m = d.message().to_ascii_lowercase();
                m.contains("unique") || m.contains("duplicate key")
            }
        }
        _ => false,
    }
}
