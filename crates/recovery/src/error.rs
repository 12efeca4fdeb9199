/// What a person is told when an export cannot start or stops.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error(transparent)]
    Blob(#[from] archive::BlobError),
    #[error(transparent)]
    Jobs(#[from] jobs::JobError),
    #[error(transparent)]
    Syncer(#[from] syncer::SyncerError),
    #[error(transparent)]
    Transfer(#[from] transfer::TransferError),
    #[error(transparent)]
    Bag(#[from] transfer::export::bag::BagError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The request itself is wrong: one sentence for the person who made it.
    #[error("{0}")]
    Invalid(String),
    #[error(
        "The export needs about {need} of free space in {dir}, and {free} are free. Free some \
         space or choose fewer items."
    )]
    NoSpace {
        need: String,
        free: String,
        dir: String,
    },
    /// A runner's task ended without an answer (it panicked): a bug, said in one sentence.
    #[error("{0}")]
    Stopped(String),
    #[error("the export job's parameters are unreadable: {0}")]
    BadParams(#[from] serde_json::Error),
}

impl RecoveryError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        RecoveryError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// Bytes as a person reads them: "1.4 GB".
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
