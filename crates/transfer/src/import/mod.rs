//! Legacy ingestion: an mbox file, a folder of .eml files, or a Maildir++ tree into a named
//! mailbox, keeping the folder tree. Streaming (one message and one batch in memory), idempotent
//! (an item's source id is its folder path and content hash, so importing the same data again adds
//! nothing), and tolerant: a message that cannot be parsed is kept as raw bytes, one that cannot be
//! read is reported with its reason, and the import goes on.

mod eml;
mod maildir;
mod mbox;
mod pst;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use archive::{
    Archive, BlobHash, DateSource, FallbackDate, FolderKind, FolderSpec, ItemKind, MailboxId,
    NewMailbox, PutItem, PutOutcome, Timestamp,
};
pub use mbox::{MboxMessage, MboxReader};

use crate::TransferError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Mbox,
    EmlFolder,
    Maildir,
    /// Outlook's personal folders (ANSI or Unicode PST).
    Pst,
}

impl ImportFormat {
    /// The format a path says: a folder with cur/new is a Maildir, another folder holds .eml
    /// files, a .pst or .ost file is Outlook's (the importer says what an OST is), any other
    /// file is mbox.
    pub fn guess(path: &Path) -> ImportFormat {
        if path.is_dir() {
            return if path.join("cur").is_dir() || path.join("new").is_dir() {
                ImportFormat::Maildir
            } else {
                ImportFormat::EmlFolder
            };
        }
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("pst" | "ost") => ImportFormat::Pst,
            _ => ImportFormat::Mbox,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub mailbox: NewMailbox,
    /// The folder for an mbox file's messages, for the top of an EML folder, and for a Maildir's
    /// own cur/new (its INBOX).
    pub root_folder: String,
    /// File name extensions taken from an EML folder (lower case, no dot).
    pub eml_extensions: Vec<String>,
    /// Messages per store transaction.
    pub batch_size: usize,
}

impl ImportOptions {
    pub fn new(mailbox: NewMailbox) -> Self {
        ImportOptions {
            mailbox,
            root_folder: "Inbox".into(),
            eml_extensions: vec!["eml".into()],
            batch_size: 200,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    pub messages_read: u64,
    pub bytes_read: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// File path, with `@offset` for a message inside an mbox.
    pub location: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub mailbox_id: MailboxId,
    /// Messages found in the source.
    pub read: u64,
    /// New item records.
    pub imported: u64,
    /// Messages already in the archive (same folder, same bytes).
    pub duplicates: u64,
    /// Of `imported`: not parseable as MIME, kept as raw bytes.
    pub kept_unparsed: u64,
    pub failed: Vec<ImportFailure>,
    /// Items left out on purpose, each with why (a PST's tasks and notes, a series kept as one
    /// event).
    pub skipped: Vec<ImportFailure>,
}

pub type ProgressFn<'a> = dyn FnMut(&ImportProgress) + Send + 'a;

/// One message as a format's reader found it.
struct Found {
    raw: Vec<u8>,
    is_read: bool,
    flags: Vec<String>,
    /// The date the container gives it (mbox `From ` line, file time), for a message without one.
    fallback_date: Option<FallbackDate>,
}

struct Pending {
    item: PutItem,
    location: String,
}

struct Sink<'a> {
    archive: &'a Archive,
    mailbox: MailboxId,
    folders: HashSet<Vec<String>>,
    /// Kinds a container said its folders are (a PST's calendar and contact folders).
    kinds: HashMap<Vec<String>, FolderKind>,
    batch: Vec<Pending>,
    batch_bytes: usize,
    batch_size: usize,
    summary: ImportSummary,
    progress: ImportProgress,
    at: Timestamp,
}

fn folder_source_id(path: &[String]) -> String {
    format!("import:{}", path.join("/"))
}

fn folder_kind(path: &[String]) -> FolderKind {
    if path.len() != 1 {
        return FolderKind::Other;
    }
    match path[0].to_lowercase().as_str() {
        "inbox" => FolderKind::Inbox,
        "sent" | "sent items" | "sent messages" => FolderKind::Sent,
        "drafts" => FolderKind::Drafts,
        "trash" | "deleted items" | "deleted messages" => FolderKind::Deleted,
        "junk" | "spam" | "junk e-mail" => FolderKind::Junk,
        "archive" => FolderKind::Archive,
        _ => FolderKind::Other,
    }
}

impl Sink<'_> {
    async fn ensure_folder(&mut self, path: &[String]) -> Result<(), TransferError> {
        for depth in 1..=path.len() {
            let sub = &path[..depth];
            if self.folders.contains(sub) {
                continue;
            }
            let spec = FolderSpec {
                source_id: folder_source_id(sub),
                parent_source_id: (depth > 1).then(|| folder_source_id(&path[..depth - 1])),
                name: sub[depth - 1].clone(),
                kind: self
                    .kinds
                    .get(sub)
                    .copied()
                    .unwrap_or_else(|| folder_kind(sub)),
            };
            self.archive
                .upsert_folder(self.mailbox, &spec, self.at)
                .await?;
            self.folders.insert(sub.to_vec());
        }
        Ok(())
    }

    fn folder_kind(&mut self, path: Vec<String>, kind: FolderKind) {
        self.kinds.insert(path, kind);
    }

    fn fail(&mut self, location: String, reason: String) {
        self.summary.failed.push(ImportFailure { location, reason });
    }

    fn skipped(&mut self, location: String, reason: String) {
        self.summary
            .skipped
            .push(ImportFailure { location, reason });
    }

    /// A message that could not even be read counts as read, and failed.
    fn unreadable(&mut self, location: String, reason: String, progress: &mut ProgressFn<'_>) {
        self.summary.read += 1;
        self.progress.messages_read += 1;
        progress(&self.progress);
        self.fail(location, reason);
    }

    async fn add(
        &mut self,
        folder: &[String],
        found: Found,
        location: String,
        progress: &mut ProgressFn<'_>,
    ) -> Result<(), TransferError> {
        self.add_keyed(folder, found, None, None, location, progress)
            .await
    }

    /// `key`: the item's source id when the container gives messages an identity of their own
    /// (a PST); otherwise it is the folder and the content's hash. `record`: a calendar item's or
    /// contact's properties, whose content is then iCalendar or vCard.
    async fn add_keyed(
        &mut self,
        folder: &[String],
        found: Found,
        key: Option<String>,
        record: Option<pim::Record>,
        location: String,
        progress: &mut ProgressFn<'_>,
    ) -> Result<(), TransferError> {
        let Found {
            raw,
            is_read,
            flags,
            fallback_date,
        } = found;
        self.summary.read += 1;
        self.progress.messages_read += 1;
        progress(&self.progress);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            self.fail(location, "empty message".into());
            return Ok(());
        }
        self.ensure_folder(folder).await?;
        let source_id =
            key.unwrap_or_else(|| format!("{}:{}", folder_source_id(folder), BlobHash::of(&raw)));
        self.batch_bytes += raw.len();
        self.batch.push(Pending {
            item: PutItem {
                mailbox_id: self.mailbox,
                folder_source_id: folder_source_id(folder),
                source_id,
                kind: match &record {
                    None => ItemKind::Message,
                    Some(pim::Record::Event(_)) => ItemKind::Calendar,
                    Some(pim::Record::Contact(_)) => ItemKind::Contact,
                },
                raw,
                is_read,
                flags,
                meta: record.as_ref().map(crate::records::record_meta),
                properties: record.as_ref().map(pim::Record::to_json),
                fallback_date,
                at: self.at,
            },
            location,
        });
        if self.batch.len() >= self.batch_size || self.batch_bytes >= 32 * 1024 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), TransferError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let unparsed: Vec<bool> = pending
            .iter()
            .map(|p| {
                p.item.kind == ItemKind::Message && !archive::meta::looks_like_message(&p.item.raw)
            })
            .collect();
        let (items, locations): (Vec<PutItem>, Vec<String>) =
            pending.into_iter().map(|p| (p.item, p.location)).unzip();
        let outcomes = self.archive.put_items(items).await?;
        for ((outcome, unparsed), location) in outcomes.into_iter().zip(unparsed).zip(locations) {
            match outcome {
                PutOutcome::Created(_) => {
                    self.summary.imported += 1;
                    if unparsed {
                        self.summary.kept_unparsed += 1;
                        tracing::info!(%location, "kept as raw bytes: not parseable as MIME");
                    }
                }
                PutOutcome::Existing(_) => self.summary.duplicates += 1,
            }
        }
        Ok(())
    }
}

/// A file's modification time, the last fallback for a message with no date of its own.
fn file_time(file: &std::fs::File) -> Option<FallbackDate> {
    let modified = file.metadata().and_then(|m| m.modified()).ok()?;
    let unix = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(FallbackDate {
        at: Timestamp::from_unix_seconds(i64::try_from(unix).ok()?),
        source: DateSource::FileTime,
    })
}

/// Reads a whole message file with its modification time.
fn read_file(path: &Path) -> std::io::Result<(Vec<u8>, Option<FallbackDate>)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let time = file_time(&file);
    let mut raw = Vec::new();
    file.read_to_end(&mut raw)?;
    Ok((raw, time))
}

fn io_err(path: &Path, source: std::io::Error) -> TransferError {
    TransferError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Imports `path` into the mailbox named in the options (created when missing).
pub async fn import(
    archive: &Archive,
    format: ImportFormat,
    path: &Path,
    options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<ImportSummary, TransferError> {
    let mailbox = archive.ensure_mailbox(&options.mailbox).await?;
    let mut sink = Sink {
        archive,
        mailbox: mailbox.id,
        folders: HashSet::new(),
        kinds: HashMap::new(),
        batch: Vec::new(),
        batch_bytes: 0,
        batch_size: options.batch_size.max(1),
        summary: ImportSummary {
            mailbox_id: mailbox.id,
            ..ImportSummary::default()
        },
        progress: ImportProgress::default(),
        at: Timestamp::now(),
    };
    match format {
        ImportFormat::Mbox => mbox::import(&mut sink, path, options, progress).await?,
        ImportFormat::EmlFolder => eml::import(&mut sink, path, options, progress).await?,
        ImportFormat::Maildir => maildir::import(&mut sink, path, options, progress).await?,
        ImportFormat::Pst => pst::import(&mut sink, path, options, progress).await?,
    }
    sink.flush().await?;
    progress(&sink.progress);
    Ok(sink.summary)
}
