//! Legacy ingestion: an mbox file, a folder of .eml files, or a Maildir++ tree into a named
//! mailbox, keeping the folder tree. Streaming (one message and one batch in memory), idempotent
//! (an item's source id is its folder path and content hash, so importing the same data again adds
//! nothing), and tolerant: a message that cannot be parsed is kept as raw bytes, one that cannot be
//! read is reported with its reason, and the import goes on.

mod mbox;

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

pub use mbox::{MboxMessage, MboxReader};

use crate::blob::BlobHash;
use crate::error::ArchiveError;
use crate::store::Archive;
use crate::types::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Mbox,
    EmlFolder,
    Maildir,
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
}

pub type ProgressFn<'a> = dyn FnMut(&ImportProgress) + Send + 'a;

struct Pending {
    item: PutItem,
    location: String,
}

struct Sink<'a> {
    archive: &'a Archive,
    mailbox: MailboxId,
    folders: HashSet<Vec<String>>,
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
    async fn ensure_folder(&mut self, path: &[String]) -> Result<(), ArchiveError> {
        for depth in 1..=path.len() {
            let sub = &path[..depth];
            if self.folders.contains(sub) {
                continue;
            }
            let spec = FolderSpec {
                source_id: folder_source_id(sub),
                parent_source_id: (depth > 1).then(|| folder_source_id(&path[..depth - 1])),
                name: sub[depth - 1].clone(),
                kind: folder_kind(sub),
            };
            self.archive
                .upsert_folder(self.mailbox, &spec, self.at)
                .await?;
            self.folders.insert(sub.to_vec());
        }
        Ok(())
    }

    fn fail(&mut self, location: String, reason: String) {
        self.summary.failed.push(ImportFailure { location, reason });
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
        raw: Vec<u8>,
        is_read: bool,
        flags: Vec<String>,
        location: String,
        progress: &mut ProgressFn<'_>,
    ) -> Result<(), ArchiveError> {
        self.summary.read += 1;
        self.progress.messages_read += 1;
        progress(&self.progress);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            self.fail(location, "empty message".into());
            return Ok(());
        }
        self.ensure_folder(folder).await?;
        let source_id = format!("{}:{}", folder_source_id(folder), BlobHash::of(&raw));
        self.batch_bytes += raw.len();
        self.batch.push(Pending {
            item: PutItem {
                mailbox_id: self.mailbox,
                folder_source_id: folder_source_id(folder),
                source_id,
                kind: ItemKind::Message,
                raw,
                is_read,
                flags,
                meta: None,
                received_at: None,
                at: self.at,
            },
            location,
        });
        if self.batch.len() >= self.batch_size || self.batch_bytes >= 32 * 1024 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), ArchiveError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let unparsed: Vec<bool> = pending
            .iter()
            .map(|p| !crate::meta::looks_like_message(&p.item.raw))
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

fn io_err(path: &Path, source: std::io::Error) -> ArchiveError {
    ArchiveError::Io {
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
) -> Result<ImportSummary, ArchiveError> {
    let mailbox = archive.ensure_mailbox(&options.mailbox).await?;
    let mut sink = Sink {
        archive,
        mailbox: mailbox.id,
        folders: HashSet::new(),
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
        ImportFormat::Mbox => import_mbox(&mut sink, path, options, progress).await?,
        ImportFormat::EmlFolder => import_eml(&mut sink, path, options, progress).await?,
        ImportFormat::Maildir => import_maildir(&mut sink, path, options, progress).await?,
    }
    sink.flush().await?;
    progress(&sink.progress);
    Ok(sink.summary)
}

async fn import_mbox(
    sink: &mut Sink<'_>,
    path: &Path,
    options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<(), ArchiveError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    sink.progress.bytes_total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let folder = vec![options.root_folder.clone()];
    let mut reader = MboxReader::new(BufReader::with_capacity(256 * 1024, file));
    let mut last_offset = 0;
    loop {
        match reader.next() {
            None => break,
            Some(Ok(message)) => {
                sink.progress.bytes_read = message.offset;
                last_offset = message.offset;
                let location = format!("{}@{}", path.display(), message.offset);
                sink.add(&folder, message.raw, false, Vec::new(), location, progress)
                    .await?;
            }
            Some(Err(e)) => {
                // A read error leaves the reader's position unknown: report and stop this file.
                sink.unreadable(
                    format!("{}@{}", path.display(), last_offset),
                    e.to_string(),
                    progress,
                );
                break;
            }
        }
    }
    sink.progress.bytes_read = sink.progress.bytes_total;
    Ok(())
}

/// Regular files under `dir`, sorted, with their sizes; symlinks are not followed.
fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64)>) -> Result<(), ArchiveError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io_err(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io_err(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type().map_err(|e| io_err(&entry.path(), e))?;
        if kind.is_dir() {
            walk(&entry.path(), out)?;
        } else if kind.is_file() {
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push((entry.path(), len));
        }
    }
    Ok(())
}

async fn import_eml(
    sink: &mut Sink<'_>,
    root: &Path,
    options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<(), ArchiveError> {
    let mut files = Vec::new();
    walk(root, &mut files)?;
    files.retain(|(p, _)| {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .unwrap_or_default();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        !hidden && options.eml_extensions.contains(&ext)
    });
    sink.progress.bytes_total = files.iter().map(|(_, l)| l).sum();
    for (file, len) in files {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let mut folder: Vec<String> = relative
            .parent()
            .map(|p| {
                p.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if folder.is_empty() {
            folder.push(options.root_folder.clone());
        }
        sink.progress.bytes_read += len;
        let location = file.display().to_string();
        match std::fs::read(&file) {
            Ok(raw) => {
                sink.add(&folder, raw, false, Vec::new(), location, progress)
                    .await?
            }
            Err(e) => sink.unreadable(location, e.to_string(), progress),
        }
    }
    Ok(())
}

/// Maildir info flags (`:2,FRS`) to the read flag and flag names.
fn maildir_flags(file_name: &str) -> (bool, Vec<String>) {
    // `;` stands in for `:` where file systems forbid it (Windows, some sync tools).
    let info = file_name
        .rsplit_once(":2,")
        .or_else(|| file_name.rsplit_once(";2,"));
    let Some((_, info)) = info else {
        return (false, Vec::new());
    };
    let mut flags = Vec::new();
    let mut seen = false;
    for c in info.chars() {
        let name = match c {
            'S' => {
                seen = true;
                "seen"
            }
            'F' => "flagged",
            'R' => "answered",
            'D' => "draft",
            'T' => "deleted",
            'P' => "forwarded",
            _ => continue,
        };
        flags.push(name.to_owned());
    }
    (seen, flags)
}

async fn import_maildir(
    sink: &mut Sink<'_>,
    root: &Path,
    options: &ImportOptions,
    progress: &mut ProgressFn<'_>,
) -> Result<(), ArchiveError> {
    // The Maildir itself is the INBOX; each `.A.B` subfolder is folder B inside A.
    let mut folders: Vec<(Vec<String>, PathBuf)> =
        vec![(vec![options.root_folder.clone()], root.to_path_buf())];
    let mut entries: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| io_err(root, e))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(dotted) = name.strip_prefix('.') {
            if entry.path().join("cur").is_dir() || entry.path().join("new").is_dir() {
                let path: Vec<String> = dotted
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if !path.is_empty() {
                    folders.push((path, entry.path()));
                }
            }
        }
    }
    let mut files = Vec::new();
    for (folder, dir) in &folders {
        for sub in ["cur", "new"] {
            let d = dir.join(sub);
            if !d.is_dir() {
                continue;
            }
            let mut names: Vec<_> = std::fs::read_dir(&d)
                .map_err(|e| io_err(&d, e))?
                .filter_map(Result::ok)
                .collect();
            names.sort_by_key(|e| e.file_name());
            for e in names {
                if e.file_type().map(|t| t.is_file()).unwrap_or(false) {
                    let len = e.metadata().map(|m| m.len()).unwrap_or(0);
                    files.push((folder.clone(), e.path(), len));
                }
            }
        }
    }
    sink.progress.bytes_total = files.iter().map(|(_, _, l)| l).sum();
    for (folder, file, len) in files {
        let file_name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (seen, flags) = maildir_flags(&file_name);
        sink.progress.bytes_read += len;
        let location = file.display().to_string();
        match std::fs::read(&file) {
            Ok(raw) => {
                sink.add(&folder, raw, seen, flags, location, progress)
                    .await?
            }
            Err(e) => sink.unreadable(location, e.to_string(), progress),
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn maildir_flag_letters() {
        assert_eq!(
            maildir_flags("123.host,S=10:2,FS"),
            (true, vec!["flagged".into(), "seen".into()])
        );
        assert_eq!(maildir_flags("123.host:2,"), (false, vec![]));
        assert_eq!(
            maildir_flags("123.host,S=1;2,Sb"),
            (true, vec!["seen".into()])
        );
        assert_eq!(maildir_flags("123.host"), (false, vec![]));
        assert_eq!(folder_kind(&["INBOX".into()]), FolderKind::Inbox);
    }
}
