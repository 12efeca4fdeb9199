//! Export: any selection of a mailbox, as a BagIt zip.
//!
//! Messages go in as EML files (one per message, in the folder tree) or as mboxrd (one file
//! per folder); calendar items as one iCalendar file per calendar folder and contacts as one
//! vCard file per contacts folder, written from the stored records so attendees, recurrences
//! and photos survive. The zip is written to a scratch file one entry at a time, then stored in
//! the blob store in parts of a configured size and the scratch file removed: memory holds one
//! item and one part at most, whatever the size of the export.
//!
//! A job that is resumed after its worker died writes its file again from the start: a zip
//! cannot be continued from a crash, and an export changes nothing outside our own store.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

use archive::{Archive, ItemDetail, ItemId, ItemKind, Mailbox, MailboxId, Timestamp};
use chrono::{DateTime, Utc};
use jobs::{Job, JobState, Jobs, Lease, NewJob, Outcome, OutcomeKind};
use pim::{Event, Record};
use serde::{Deserialize, Serialize};
use transfer::export::bag::{self, BagWriter, Prepared};
use transfer::export::{ics, mbox, names, vcf};

use crate::error::{human_bytes, RecoveryError};
use crate::plan::{invalid, ItemSource, Plan, PlannedItem};

/// The `kind` of export jobs in the queue.
pub const EXPORT_KIND: &str = "export";

/// Items are read, written and recorded this many at a time; the job's progress moves, and a
/// cancel is seen, after each batch.
const BATCH: usize = 200;

/// Message contents held at once while a batch is written (one larger message alone may pass
/// it).
const GROUP_BYTES: u64 = 16 * 1024 * 1024;

/// Messages up to this size are compressed ahead on the readers' threads; a larger one is
/// compressed by the writer as it is written.
const PREPARE_LIMIT: u64 = 64 * 1024 * 1024;

/// A message compressed ahead for the bag when it is small enough; otherwise (or when that
/// fails) the raw bytes, written the ordinary way, where a failure stops the export.
fn prepared(raw: Vec<u8>) -> (Vec<u8>, Option<Prepared>, u64) {
    let size = raw.len() as u64;
    if size >= PREPARE_LIMIT {
        return (raw, None, size);
    }
    match bag::prepare(&raw) {
        Ok(p) => (Vec::new(), Some(p), size),
        Err(_) => (raw, None, size),
    }
}

/// Consecutive runs of messages whose stored sizes add up to about `limit`.
fn by_size<'a, T>(
    messages: &'a [(&ItemDetail, T, String, String)],
    limit: u64,
) -> Vec<&'a [(&'a ItemDetail, T, String, String)]> {
    let mut groups = Vec::new();
    let (mut start, mut sum) = (0, 0u64);
    for (n, m) in messages.iter().enumerate() {
        let size = u64::try_from(m.0.size).unwrap_or(0);
        if n > start && sum + size > limit {
            groups.push(&messages[start..n]);
            start = n;
            sum = 0;
        }
        sum += size;
    }
    if start < messages.len() {
        groups.push(&messages[start..]);
    }
    groups
}

/// How messages are written. Calendar items and contacts are always ICS and VCF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailFormat {
    /// One `.eml` file per message.
    Eml,
    /// One mboxrd file per folder.
    Mbox,
}

impl MailFormat {
    pub fn label(self) -> &'static str {
        match self {
            MailFormat::Eml => "EML",
            MailFormat::Mbox => "mbox",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequest {
    pub source: ItemSource,
    pub format: MailFormat,
    /// Which kinds of item to take; at least one.
    pub kinds: Vec<ItemKind>,
}

/// A finished export: what its job's result holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFile {
    pub file_name: String,
    pub size: u64,
    /// Payload files in the bag.
    pub files: u64,
    /// SHA-256 of the bag's `manifest-sha256.txt`, as the audit log records it.
    pub manifest_sha256: String,
    /// The file's bytes in order: parts (what a person downloads on its own), each stored as
    /// chunks (what memory holds at once).
    pub parts: Vec<ExportPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPart {
    pub size: u64,
    pub chunks: Vec<ExportChunk>,
}

/// One blob of an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportChunk {
    pub blob: String,
    pub size: u64,
}

/// The most an export holds in memory of its file at once, when storing or serving it: a
/// chunk is sealed (compressed, encrypted) whole, which takes a few copies of it.
const CHUNK: u64 = 8 * 1024 * 1024;

impl ExportFile {
    /// `export.zip.001`, as split archives are named, for a part downloaded on its own.
    pub fn part_name(&self, n: usize) -> String {
        format!("{}.{:03}", self.file_name, n + 1)
    }

    /// Every chunk of the file in order, as (part, chunk) positions.
    pub fn chunks(&self) -> Vec<(usize, usize)> {
        self.parts
            .iter()
            .enumerate()
            .flat_map(|(p, part)| (0..part.chunks.len()).map(move |c| (p, c)))
            .collect()
    }

    /// The result of a finished export job.
    pub fn of(job: &Job) -> Option<ExportFile> {
        if job.kind != EXPORT_KIND || job.state != JobState::Done {
            return None;
        }
        serde_json::from_str(job.result.as_deref()?).ok()
    }
}

impl ExportRequest {
    /// What the jobs screen calls it: "Inbox and 2 more folders of alice@contoso.com, as mbox".
    pub fn describe(&self, mailbox: &Mailbox) -> String {
        format!(
            "{} of {}, as {}",
            self.source.describe(),
            mailbox.name,
            self.format.label()
        )
    }

    /// The mailbox the request reads: what a scope check looks at before anything else.
    pub async fn mailbox_of(&self, archive: &Archive) -> Result<MailboxId, RecoveryError> {
        self.source.mailbox_of(archive).await
    }

    /// Every item the export takes, in which folder.
    pub async fn plan(&self, archive: &Archive) -> Result<Plan, RecoveryError> {
        self.source.plan(&self.kinds, archive, "export").await
    }
}

/// Starts, runs and reads export jobs.
#[derive(Clone)]
pub struct Exporter {
    archive: Archive,
    jobs: Jobs,
    scratch: PathBuf,
    part_size: u64,
}

/// One message read for the bag.
struct MailEntry {
    key: String,
    source_path: String,
    folder: Vec<String>,
    sender: String,
    date: DateTime<Utc>,
    subject: String,
    /// The message, unless it was compressed ahead (`prepared`).
    raw: Vec<u8>,
    prepared: Option<Prepared>,
    size: u64,
}

/// One calendar item or contact, filed under its folder's single file.
struct PimEntry {
    key: String,
    source_path: String,
}

fn date_of(t: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.0).unwrap_or_default()
}

fn eml_name(entry: &MailEntry) -> String {
    let subject: String = entry.subject.chars().take(60).collect();
    let subject = if subject.trim().is_empty() {
        "(no subject)".to_owned()
    } else {
        subject
    };
    names::segment(&format!(
        "{} {}.eml",
        entry.date.format("%Y-%m-%d %H%M"),
        subject.trim()
    ))
}

fn folder_file(folder: &[String], extension: &str) -> String {
    let segments: Vec<&str> = folder.iter().map(String::as_str).collect();
    format!("{}.{extension}", names::path(segments))
}

impl Exporter {
    /// `scratch` is where a zip is written before it goes to the blob store in parts of
    /// `part_size` bytes.
    pub fn new(archive: Archive, jobs: Jobs, scratch: PathBuf, part_size: u64) -> Self {
        Exporter {
            archive,
            jobs,
            scratch,
            part_size: part_size.max(64 * 1024),
            // A part is whole chunks; only a part smaller than a chunk makes chunks smaller.
        }
    }

    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    fn check_space(&self, plan: &Plan) -> Result<(), RecoveryError> {
        std::fs::create_dir_all(&self.scratch).map_err(|e| RecoveryError::io(&self.scratch, e))?;
        let free =
            fs4::available_space(&self.scratch).map_err(|e| RecoveryError::io(&self.scratch, e))?;
        if free < plan.bytes {
            return Err(RecoveryError::NoSpace {
                need: human_bytes(plan.bytes),
                free: human_bytes(free),
                dir: self.scratch.display().to_string(),
            });
        }
        Ok(())
    }

    /// Checks a request (what it takes, the space it needs) and queues it for a worker.
    pub async fn enqueue(
        &self,
        request: &ExportRequest,
        owner: &str,
    ) -> Result<(Job, Plan), RecoveryError> {
        let plan = request.plan(&self.archive).await?;
        self.check_space(&plan)?;
        let job = self
            .jobs
            .enqueue(NewJob {
                kind: EXPORT_KIND.to_owned(),
                label: request.describe(&plan.mailbox),
                mailbox_id: Some(plan.mailbox.id),
                params: serde_json::to_string(request)?,
                owner: owner.to_owned(),
            })
            .await?;
        Ok((job, plan))
    }

    /// Runs a claimed export job to its end (done, failed or cancelled) and returns it as it
    /// ended. An error means the job could not be ended here (its lease passed to another
    /// worker, or the database is gone); the lease then runs out and it is taken again.
    pub async fn run(&self, job: &Job, lease: &Lease) -> Result<Job, RecoveryError> {
        let scratch_file = self.scratch.join(format!("export-{}.zip", job.id));
        let outcome = self.write(job, lease, &scratch_file).await;
        // Whatever happened, the scratch copy is not needed any more.
        let _ = std::fs::remove_file(&scratch_file);
        crate::job_end::end_job(&self.jobs, job, lease, outcome).await
    }

    /// Writes the bag and stores it; None when a cancel was asked for.
    async fn write(
        &self,
        job: &Job,
        lease: &Lease,
        scratch_file: &Path,
    ) -> Result<Option<ExportFile>, RecoveryError> {
        let request: ExportRequest = serde_json::from_str(&job.params)?;
        let plan = request.plan(&self.archive).await?;
        if job.attempts > 1 {
            self.jobs.restart(lease).await?;
        }
        let total = i64::try_from(plan.len()).unwrap_or(i64::MAX);
        self.jobs.heartbeat(lease, total, 0).await?;
        self.check_space(&plan)?;

        let file = File::create(scratch_file).map_err(|e| RecoveryError::io(scratch_file, e))?;
        let bag_name = format!("export-{}-{}", job.id, plan.mailbox.name);
        // While one group is written (deflate, SHA-256, the file) on a blocking thread, the
        // readers decrypt and decompress the next, so both cores work. A group's outcomes join
        // the batch in which its writing ends.
        let mut writer = Writer::Idle(
            Box::new(BagWriter::new(BufWriter::new(file), &bag_name)),
            None,
        );
        let format = request.format;
        let mut calendars: BTreeMap<Vec<String>, (Vec<Event>, Vec<PimEntry>)> = BTreeMap::new();
        let mut cards: BTreeMap<Vec<String>, (String, Vec<PimEntry>)> = BTreeMap::new();
        let mut bytes = 0u64;

        for batch in plan.items.chunks(BATCH) {
            let ids: Vec<ItemId> = batch.iter().map(|p| p.item).collect();
            let details: HashMap<ItemId, ItemDetail> = self
                .archive
                .items(&ids)
                .await?
                .into_iter()
                .map(|d| (d.id, d))
                .collect();
            let mut outcomes = Vec::new();
            let mut messages: Vec<(&ItemDetail, &PlannedItem, String, String)> = Vec::new();
            for planned in batch {
                let key = planned.item.to_string();
                let folder_text = planned.folder.join("/");
                let Some(detail) = details.get(&planned.item) else {
                    outcomes.push(failed(
                        &key,
                        &folder_text,
                        "the item is no longer in the archive",
                    ));
                    continue;
                };
                let source_path = format!("{folder_text}/{}", shown_subject(detail));
                match planned.kind {
                    ItemKind::Message => messages.push((detail, planned, key, source_path)),
                    ItemKind::Calendar => match self.record(detail).await {
                        Ok(Record::Event(event)) => {
                            let slot = calendars.entry(planned.folder.clone()).or_default();
                            slot.0.push(event);
                            slot.1.push(PimEntry { key, source_path });
                        }
                        Ok(Record::Contact(_)) | Err(_) => outcomes.push(failed(
                            &key,
                            &source_path,
                            "the calendar item has no readable properties to write iCalendar from",
                        )),
                    },
                    ItemKind::Contact => match self.record(detail).await {
                        Ok(Record::Contact(contact)) => {
                            let slot = cards.entry(planned.folder.clone()).or_default();
                            slot.0.push_str(&vcf::card(&contact));
                            slot.1.push(PimEntry { key, source_path });
                        }
                        Ok(Record::Event(_)) | Err(_) => outcomes.push(failed(
                            &key,
                            &source_path,
                            "the contact has no readable properties to write a vCard from",
                        )),
                    },
                }
            }
            // Messages a few megabytes at a time: their contents are read in parallel (each
            // one decrypted and decompressed on its own task), then written in order.
            for group in by_size(&messages, GROUP_BYTES) {
                let raws = self
                    .contents(group.iter().map(|m| m.0), format == MailFormat::Eml)
                    .await;
                let mut mail = Vec::with_capacity(group.len());
                for ((detail, planned, key, source_path), raw) in group.iter().zip(raws) {
                    match raw {
                        Ok((raw, prepared, size)) => mail.push(MailEntry {
                            key: key.clone(),
                            source_path: source_path.clone(),
                            folder: planned.folder.clone(),
                            sender: detail.sender_address.clone(),
                            date: date_of(detail.date),
                            subject: detail.subject.clone(),
                            raw,
                            prepared,
                            size,
                        }),
                        Err(problem) => outcomes.push(failed(key, source_path, &problem)),
                    }
                }
                bytes += mail.iter().map(|m| m.size).sum::<u64>();
                let (bag, open_mbox) = writer.idle(&mut outcomes).await?;
                // Compression and file writes are blocking work: off the async threads.
                writer = Writer::Busy(tokio::task::spawn_blocking(move || {
                    write_mail(bag, format, open_mbox, mail)
                }));
            }
            self.jobs.record(lease, &outcomes).await?;
            let beat = self
                .jobs
                .heartbeat(lease, total, i64::try_from(bytes).unwrap_or(i64::MAX))
                .await?;
            if beat.cancel_requested {
                // The writer thread still holds the file: let it end before the file goes.
                if let Writer::Busy(task) = writer {
                    let _ = task.await;
                }
                return Ok(None);
            }
        }

        let mut last = Vec::new();
        let (bag, _) = writer.idle(&mut last).await?;
        self.jobs.record(lease, &last).await?;
        let stamp = Utc::now();
        let (bag, pim_outcomes) =
            tokio::task::spawn_blocking(move || write_pim(bag, calendars, cards, stamp))
                .await
                .map_err(|e| invalid(&format!("the export writer stopped: {e}")))??;
        self.jobs.record(lease, &pim_outcomes).await?;

        let mut info = vec![
            ("Source-Mailbox", plan.mailbox.name.clone()),
            (
                "External-Identifier",
                format!("Sync & Recover export job {}", job.id),
            ),
            ("External-Description", job.label.clone()),
        ];
        if let Some(at) = plan.at {
            info.push(("Mailbox-As-Of", at.to_rfc3339()));
        }
        let agent = format!("Sync & Recover {}", env!("CARGO_PKG_VERSION"));
        let date = stamp.format("%Y-%m-%d").to_string();
        let scratch = scratch_file.to_path_buf();
        let summary = tokio::task::spawn_blocking(move || -> Result<_, RecoveryError> {
            let (writer, summary) = bag.finish(&agent, &date, &info)?;
            let file = writer
                .into_inner()
                .map_err(|e| RecoveryError::io(&scratch, e.into_error()))?;
            file.sync_all()
                .map_err(|e| RecoveryError::io(&scratch, e))?;
            Ok(summary)
        })
        .await
        .map_err(|e| invalid(&format!("the export writer stopped: {e}")))??;

        let parts = self.store_parts(lease, total, scratch_file).await?;
        let Some(parts) = parts else {
            return Ok(None);
        };
        Ok(Some(ExportFile {
            file_name: format!("{}.zip", names::segment(&bag_name)),
            size: parts.iter().map(|p| p.size).sum(),
            files: summary.files,
            manifest_sha256: summary.manifest_sha256,
            parts,
        }))
    }

    /// Copies the finished zip into the blob store, a chunk at a time, grouped into parts. Two
    /// chunks are stored at once (one sealed while the other is written and synced), and they
    /// are put into parts in file order.
    async fn store_parts(
        &self,
        lease: &Lease,
        total: i64,
        path: &Path,
    ) -> Result<Option<Vec<ExportPart>>, RecoveryError> {
        const IN_FLIGHT: usize = 2;
        type Storing = tokio::task::JoinHandle<Result<archive::BlobHash, archive::BlobError>>;
        let mut file = File::open(path).map_err(|e| RecoveryError::io(path, e))?;
        let chunk_size = CHUNK.min(self.part_size);
        let mut parts: Vec<ExportPart> = Vec::new();
        let mut stored = 0u64;
        let mut storing: std::collections::VecDeque<(Storing, u64)> = Default::default();
        let mut read_all = false;
        while !read_all || !storing.is_empty() {
            if !read_all && storing.len() < IN_FLIGHT {
                let mut chunk = Vec::new();
                (&mut file)
                    .take(chunk_size)
                    .read_to_end(&mut chunk)
                    .map_err(|e| RecoveryError::io(path, e))?;
                let size = chunk.len() as u64;
                read_all = size < chunk_size;
                // An empty file still gets one (empty) chunk, so the export has a part.
                if size > 0 || (parts.is_empty() && storing.is_empty()) {
                    let blobs = self.archive.blobs().clone();
                    storing.push_back((
                        tokio::spawn(async move { blobs.put_compressed(&chunk).await }),
                        size,
                    ));
                }
                continue;
            }
            let Some((task, size)) = storing.pop_front() else {
                break;
            };
            let hash = task
                .await
                .map_err(|e| invalid(&format!("storing the export stopped: {e}")))??;
            stored += size;
            let open = match parts.last_mut() {
                Some(part) if part.size < self.part_size => part,
                _ => {
                    parts.push(ExportPart {
                        size: 0,
                        chunks: Vec::new(),
                    });
                    parts.last_mut().ok_or_else(|| invalid("no part"))?
                }
            };
            open.size += size;
            open.chunks.push(ExportChunk {
                blob: hash.to_string(),
                size,
            });
            let beat = self
                .jobs
                .heartbeat(lease, total, i64::try_from(stored).unwrap_or(i64::MAX))
                .await?;
            if beat.cancel_requested {
                for (task, _) in storing {
                    let _ = task.await;
                }
                return Ok(None);
            }
        }
        Ok(Some(parts))
    }

    /// The contents of several items, in their order, each read on a task of its own so that
    /// both cores decrypt and decompress. With `prepare` (EML files), each is also deflated and
    /// hashed for the bag ([`bag::prepare`]) on a blocking thread, and only its size is kept of
    /// the raw bytes: the one writer thread then only copies.
    async fn contents<'d>(
        &self,
        details: impl Iterator<Item = &'d ItemDetail>,
        prepare: bool,
    ) -> Vec<Result<(Vec<u8>, Option<Prepared>, u64), String>> {
        let tasks: Vec<_> = details
            .map(|detail| {
                let exporter = self.clone();
                let detail = detail.clone();
                tokio::spawn(async move {
                    let raw = exporter.content(&detail).await?;
                    if !prepare {
                        let size = raw.len() as u64;
                        return Ok((raw, None, size));
                    }
                    tokio::task::spawn_blocking(move || prepared(raw))
                        .await
                        .map_err(|e| format!("compressing it stopped: {e}"))
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(
                task.await
                    .unwrap_or_else(|e| Err(format!("reading its content stopped: {e}"))),
            );
        }
        out
    }

    async fn content(&self, detail: &ItemDetail) -> Result<Vec<u8>, String> {
        crate::plan::item_content(&self.archive, detail).await
    }

    async fn record(&self, detail: &ItemDetail) -> Result<Record, String> {
        crate::plan::item_record(&self.archive, detail).await
    }

    /// One chunk of a finished export's file, for a download, as it is read from the store: a
    /// download holds a segment of it at a time, never the chunk.
    pub async fn read_chunk(
        &self,
        file: &ExportFile,
        part: usize,
        chunk: usize,
    ) -> Result<archive::ByteStream, RecoveryError> {
        let chunk = file
            .parts
            .get(part)
            .and_then(|p| p.chunks.get(chunk))
            .ok_or_else(|| invalid("That part of the export does not exist."))?;
        let hash = archive::BlobHash::parse(&chunk.blob)?;
        Ok(self.archive.blobs().get_stream(&hash).await?)
    }
}

fn shown_subject(detail: &ItemDetail) -> String {
    if detail.subject.trim().is_empty() {
        "(no subject)".to_owned()
    } else {
        detail.subject.clone()
    }
}

fn failed(key: &str, source_path: &str, problem: &str) -> Outcome {
    Outcome {
        key: key.to_owned(),
        kind: OutcomeKind::Failed,
        source_path: source_path.to_owned(),
        target_path: String::new(),
        detail: problem.to_owned(),
    }
}

type Bag = BagWriter<BufWriter<File>>;

/// The bag's writer: idle, with the mbox it left open, or writing a group on a blocking thread.
enum Writer {
    Idle(Box<Bag>, OpenMbox),
    Busy(tokio::task::JoinHandle<(Bag, OpenMbox, Result<Vec<Outcome>, RecoveryError>)>),
}

impl Writer {
    /// Waits for the group being written, if any, and adds its outcomes.
    async fn idle(self, outcomes: &mut Vec<Outcome>) -> Result<(Bag, OpenMbox), RecoveryError> {
        match self {
            Writer::Idle(bag, open_mbox) => Ok((*bag, open_mbox)),
            Writer::Busy(task) => {
                let (bag, open_mbox, written) = task
                    .await
                    .map_err(|e| invalid(&format!("the export writer stopped: {e}")))?;
                outcomes.extend(written?);
                Ok((bag, open_mbox))
            }
        }
    }
}

/// The mbox file being written: the folder it holds and its path in the bag.
type OpenMbox = Option<(Vec<String>, String)>;

/// Writes a batch of messages; returns the writer, the mbox still open (an mbox spans
/// batches), and each message's outcome.
fn write_mail(
    mut bag: Bag,
    format: MailFormat,
    mut open_mbox: OpenMbox,
    mail: Vec<MailEntry>,
) -> (Bag, OpenMbox, Result<Vec<Outcome>, RecoveryError>) {
    let mut outcomes = Vec::with_capacity(mail.len());
    for entry in mail {
        let written = match format {
            MailFormat::Eml => {
                let segments: Vec<&str> = entry.folder.iter().map(String::as_str).collect();
                let relative = format!("{}/{}", names::path(segments), eml_name(&entry));
                match entry.prepared {
                    Some(prepared) => bag.add_prepared(&relative, prepared),
                    None => bag.add(&relative, &entry.raw),
                }
            }
            MailFormat::Mbox => {
                let path = match &open_mbox {
                    Some((folder, path)) if *folder == entry.folder => Ok(path.clone()),
                    _ => bag.start(&folder_file(&entry.folder, "mbox"), true),
                };
                path.and_then(|path| {
                    open_mbox = Some((entry.folder.clone(), path.clone()));
                    bag.write(&mbox::message(&entry.sender, entry.date, &entry.raw))
                        .map(|()| path)
                })
            }
        };
        match written {
            Ok(path) => outcomes.push(Outcome {
                key: entry.key,
                kind: OutcomeKind::Created,
                source_path: entry.source_path,
                target_path: path,
                detail: String::new(),
            }),
            // A write error is the disk or the file, not the item: the whole export stops.
            Err(e) => return (bag, open_mbox, Err(e.into())),
        }
    }
    (bag, open_mbox, Ok(outcomes))
}

/// Writes one `.ics` per calendar folder and one `.vcf` per contacts folder.
#[allow(clippy::type_complexity)]
fn write_pim(
    mut bag: Bag,
    calendars: BTreeMap<Vec<String>, (Vec<Event>, Vec<PimEntry>)>,
    cards: BTreeMap<Vec<String>, (String, Vec<PimEntry>)>,
    stamp: DateTime<Utc>,
) -> Result<(Bag, Vec<Outcome>), RecoveryError> {
    let mut outcomes = Vec::new();
    let mut done = |path: &str, entries: Vec<PimEntry>| {
        for entry in entries {
            outcomes.push(Outcome {
                key: entry.key,
                kind: OutcomeKind::Created,
                source_path: entry.source_path,
                target_path: path.to_owned(),
                detail: String::new(),
            });
        }
    };
    for (folder, (events, entries)) in calendars {
        let path = bag.add(
            &folder_file(&folder, "ics"),
            ics::calendar(&events, stamp).as_bytes(),
        )?;
        done(&path, entries);
    }
    for (folder, (text, entries)) in cards {
        let path = bag.add(&folder_file(&folder, "vcf"), text.as_bytes())?;
        done(&path, entries);
    }
    bag.end()?;
    Ok((bag, outcomes))
}
