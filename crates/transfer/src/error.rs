use archive::ArchiveError;

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// Reading the source itself failed (a folder could not be listed, a file not opened).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not one this importer reads (an OST, a damaged PST): what it is, and what
    /// to do instead.
    #[error("{path}: {why}")]
    Unsupported { path: String, why: String },
}
