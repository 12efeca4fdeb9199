//! Legacy import as a job: a file in the server's import folder (put there by an administrator,
//! or uploaded through the portal) into a mailbox, with progress on the portal and a report.
//!
//! ```text
//! import folder/NAME ──check the name (no path tricks)──► transfer::import (mbox, EML folder,
//!     Maildir, PST) ──batches──► archive          heartbeat every 2 s: bytes read, cancel
//!                                                  failures ──► job outcomes (the report)
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use archive::{Archive, NewMailbox};
use jobs::{Job, Jobs, Lease, NewJob, Outcome, OutcomeKind};
use serde::{Deserialize, Serialize};
use transfer::import::{import, ImportFormat, ImportOptions, ImportProgress};

use crate::RecoveryError;

pub const IMPORT_KIND: &str = "import";

/// What an import takes: a file (or folder) of the import folder, by name, into a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    pub file: String,
    /// The mailbox's name (usually the owner's address); created when missing.
    pub mailbox: String,
    /// Whose mail it is; the mailbox's name when empty.
    pub owner: String,
}

/// What a finished import did, as the job's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub read: u64,
    pub imported: u64,
    pub duplicates: u64,
    pub kept_unparsed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl ImportReport {
    pub fn of(job: &Job) -> Option<ImportReport> {
        serde_json::from_str(job.result.as_deref()?).ok()
    }

    pub fn describe(&self) -> String {
        format!(
            "{} read: {} imported, {} already there, {} failed, {} skipped",
            self.read, self.imported, self.duplicates, self.failed, self.skipped
        )
    }
}

/// A file waiting in the import folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFile {
    pub name: String,
    pub size: u64,
    pub is_folder: bool,
}

#[derive(Clone)]
pub struct Importer {
    archive: Archive,
    jobs: Jobs,
    folder: PathBuf,
    /// How often a running import reports progress and looks for a cancel.
    beat: Duration,
}

impl Importer {
    /// `folder`: where files to import wait (created when missing).
    pub fn new(archive: Archive, jobs: Jobs, folder: PathBuf) -> Self {
        Importer {
            archive,
            jobs,
            folder,
            beat: Duration::from_secs(2),
        }
    }

    /// Beats more often than every two seconds, for tests that make the heartbeat meet the
    /// import's writes.
    pub fn with_beat(mut self, beat: Duration) -> Self {
        self.beat = beat;
        self
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The path of a name in the import folder. A name is one plain file or folder name: no
    /// separators, no `..`, nothing hidden, so no request reaches outside the folder.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, RecoveryError> {
        let name = name.trim();
        let plain = !name.is_empty()
            && name.len() <= 200
            && !name.starts_with('.')
            && !name.contains(['/', '\\', '\0'])
            && !name.chars().any(char::is_control);
        if !plain {
            return Err(RecoveryError::Invalid(format!(
                "“{name}” is not a file name of the import folder (plain names only, no folders or paths)"
            )));
        }
        Ok(self.folder.join(name))
    }

    /// The files and folders waiting in the import folder, by name.
    pub fn files(&self) -> Result<Vec<ImportFile>, RecoveryError> {
        std::fs::create_dir_all(&self.folder).map_err(|e| RecoveryError::io(&self.folder, e))?;
        let mut out = Vec::new();
        for entry in
            std::fs::read_dir(&self.folder).map_err(|e| RecoveryError::io(&self.folder, e))?
        {
            let entry = entry.map_err(|e| RecoveryError::io(&self.folder, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.ends_with(".part") {
                continue;
            }
            let meta = entry
                .metadata()
                .map_err(|e| RecoveryError::io(&entry.path(), e))?;
            out.push(ImportFile {
                name,
                size: meta.len(),
                is_folder: meta.is_dir(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub async fn enqueue(
        &self,
        request: &ImportRequest,
        owner: &str,
    ) -> Result<Job, RecoveryError> {
        let path = self.path_of(&request.file)?;
        if !path.exists() {
            return Err(RecoveryError::Invalid(format!(
                "“{}” is not in the import folder",
                request.file
            )));
        }
        if request.mailbox.trim().is_empty() {
            return Err(RecoveryError::Invalid(
                "Name the mailbox to import into (usually its owner's address).".into(),
            ));
        }
        Ok(self
            .jobs
            .enqueue(NewJob {
                kind: IMPORT_KIND.to_owned(),
                label: format!("Import of {} into {}", request.file, request.mailbox.trim()),
                mailbox_id: None,
                params: serde_json::to_string(request)?,
                owner: owner.to_owned(),
            })
            .await?)
    }

    pub async fn run(&self, job: &Job, lease: &Lease) -> Result<Job, RecoveryError> {
        let outcome = self.import(job, lease).await;
        crate::job_end::end_job(&self.jobs, job, lease, outcome).await
    }

    async fn import(
        &self,
        job: &Job,
        lease: &Lease,
    ) -> Result<Option<ImportReport>, RecoveryError> {
        let request: ImportRequest = serde_json::from_str(&job.params)?;
        let path = self.path_of(&request.file)?;
        let mailbox = request.mailbox.trim().to_owned();
        let owner = match request.owner.trim() {
            "" => mailbox.to_lowercase(),
            o => o.to_lowercase(),
        };
        let options = ImportOptions::new(NewMailbox {
            name: mailbox.clone(),
            owner_address: owner,
            display_name: mailbox,
        });
        let total = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let (seen_total, seen_bytes) = (total.clone(), bytes.clone());
        let format = ImportFormat::guess(&path);
        let archive = self.archive.clone();
        // The import runs as a task of its own, beside the heartbeat. It holds a write
        // transaction across awaits; a heartbeat awaited while the import sat unpolled would
        // wait for that transaction's lock (SQLite has one writer) until the busy timeout and
        // fail the job. Dropping the set (an early return) aborts the import.
        let mut running = tokio::task::JoinSet::new();
        running.spawn(async move {
            import(
                &archive,
                format,
                &path,
                &options,
                &mut |p: &ImportProgress| {
                    seen_total.store(p.bytes_total, Ordering::Relaxed);
                    seen_bytes.store(p.bytes_read, Ordering::Relaxed);
                },
            )
            .await
        });
        // Every beat the job says how far the import is, and learns of a cancel.
        let summary = loop {
            tokio::select! {
                done = running.join_next() => match done {
                    Some(Ok(summary)) => break summary?,
                    Some(Err(e)) => return Err(RecoveryError::Stopped(format!("the import stopped unexpectedly: {e}"))),
                    None => return Err(RecoveryError::Stopped("the import stopped unexpectedly".into())),
                },
                _ = tokio::time::sleep(self.beat) => {
                    let beat = self
                        .jobs
                        .heartbeat(
                            lease,
                            i64::try_from(total.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
                            i64::try_from(bytes.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
                        )
                        .await?;
                    if beat.cancel_requested {
                        // What was stored until now stays; a new import of the file adds the
                        // rest. The import is gone before the job is ended.
                        running.shutdown().await;
                        return Ok(None);
                    }
                }
            }
        };
        let mut outcomes: Vec<Outcome> = summary
            .failed
            .iter()
            .enumerate()
            .map(|(n, f)| Outcome {
                key: format!("failed:{n}"),
                kind: OutcomeKind::Failed,
                source_path: f.location.clone(),
                target_path: String::new(),
                detail: f.reason.clone(),
            })
            .collect();
        outcomes.extend(summary.skipped.iter().enumerate().map(|(n, s)| Outcome {
            key: format!("skipped:{n}"),
            kind: OutcomeKind::Skipped,
            source_path: s.location.clone(),
            target_path: String::new(),
            detail: s.reason.clone(),
        }));
        for chunk in outcomes.chunks(500) {
            self.jobs.record(lease, chunk).await?;
        }
        self.jobs
            .heartbeat(
                lease,
                i64::try_from(total.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
                i64::try_from(total.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
            )
            .await?;
        Ok(Some(ImportReport {
            read: summary.read,
            imported: summary.imported,
            duplicates: summary.duplicates,
            kept_unparsed: summary.kept_unparsed,
            failed: summary.failed.len() as u64,
            skipped: summary.skipped.len() as u64,
        }))
    }
}
