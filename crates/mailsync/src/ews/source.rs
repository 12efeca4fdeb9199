//! EWS as a [`MailboxSource`]: SyncFolderHierarchy below "Top of Information Store",
//! SyncFolderItems per folder, GetItem with MimeContent in batches.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::NaiveDateTime;

use super::parse::{EwsFolder, EwsFolderKind, HierarchyChange, ItemSyncChange, Status};
use super::{EwsClient, EwsConfig, FolderRef};
use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::source::{
    ContentFormat, FetchError, Fetched, FolderChange, FolderKind, FolderPage, ItemChange,
    ItemContent, ItemPage, MailboxSource, SourceFolder, WellKnown,
};

pub struct EwsSource {
    client: EwsClient,
}

impl EwsSource {
    pub fn new(config: EwsConfig) -> Result<EwsSource, SourceError> {
        Ok(EwsSource {
            client: EwsClient::new(config)?,
        })
    }

    pub fn client(&self) -> &EwsClient {
        &self.client
    }
}

fn root() -> FolderRef {
    FolderRef::Distinguished("msgfolderroot".into())
}

/// The standard folders EWS can name by DistinguishedFolderId (it has no "archive" one).
const DISTINGUISHED: [WellKnown; 8] = [
    WellKnown::Inbox,
    WellKnown::SentItems,
    WellKnown::Drafts,
    WellKnown::DeletedItems,
    WellKnown::JunkEmail,
    WellKnown::Outbox,
    WellKnown::Calendar,
    WellKnown::Contacts,
];

/// Whether a folder stays out of the archive: hidden, or a system folder by its class.
fn is_skipped(f: &EwsFolder) -> bool {
    f.hidden == Some(true)
        || f.folder_class
            .as_deref()
            .is_some_and(crate::source::is_system_folder_class)
}

#[async_trait]
impl MailboxSource for EwsSource {
    fn protocol(&self) -> &'static str {
        "ews"
    }

    fn fetch_batch_size(&self) -> usize {
        self.client.config().get_item_batch.max(1)
    }

    fn content_format(&self, kind: FolderKind) -> ContentFormat {
        match kind {
            FolderKind::Mail => ContentFormat::Mime,
            FolderKind::Calendar => ContentFormat::Ics,
            FolderKind::Contacts => ContentFormat::Vcf,
        }
    }

    /// One GetFolder for the top of the store and every distinguished folder: the ids of the
    /// latter identify the standard folders whatever language the mailbox is in.
    async fn owner_name(&self, mb: &MailboxCtx) -> Result<Option<String>, SourceError> {
        self.client.resolve_owner_name(mb).await
    }

    async fn open(&self, mb: &MailboxCtx) -> Result<(), SourceError> {
        let mut refs = vec![root()];
        refs.extend(
            DISTINGUISHED
                .iter()
                .map(|w| FolderRef::Distinguished(w.server_name().into())),
        );
        let mut results = self.client.get_folders(mb, &refs).await?.into_iter();
        let top = results
            .next()
            .ok_or_else(|| SourceError::Protocol("GetFolder returned no message".into()))?
            .map_err(|s| s.to_error())?;
        let mut roles = HashMap::new();
        for (role, result) in DISTINGUISHED.iter().zip(results) {
            match result {
                Ok(f) => {
                    roles.insert(f.id, *role);
                }
                // ErrorFolderNotFound and the like: this mailbox has no such folder.
                Err(status) => {
                    tracing::debug!(mailbox = %mb.address, folder = role.server_name(), code = %status.code, "no distinguished folder");
                }
            }
        }
        let _ = mb.root_folder_id.set(top.id);
        let _ = mb.well_known.set(roles);
        Ok(())
    }

    async fn sync_folders(
        &self,
        mb: &MailboxCtx,
        state: Option<&str>,
    ) -> Result<FolderPage, SourceError> {
        let sync = self
            .client
            .sync_folder_hierarchy(mb, &root(), state)
            .await?;
        let root_id = mb.root_folder_id.get();
        let mut changes = Vec::new();
        for c in sync.changes {
            match c {
                HierarchyChange::Create(f) | HierarchyChange::Update(f) => {
                    if is_skipped(&f) {
                        changes.push(FolderChange::Skip { id: f.id });
                        continue;
                    }
                    let kind = match f.kind {
                        EwsFolderKind::Mail => FolderKind::Mail,
                        EwsFolderKind::Calendar => FolderKind::Calendar,
                        EwsFolderKind::Contacts => FolderKind::Contacts,
                        EwsFolderKind::Other => continue,
                    };
                    let parent_id = f.parent_id.filter(|p| Some(p) != root_id);
                    changes.push(FolderChange::Upsert(SourceFolder {
                        well_known: mb.role_of(&f.id),
                        id: f.id,
                        parent_id,
                        display_name: f.display_name.unwrap_or_default(),
                        kind,
                    }));
                }
                HierarchyChange::Delete { id } => changes.push(FolderChange::Delete { id }),
            }
        }
        Ok(FolderPage {
            changes,
            state: sync.sync_state,
            more: !sync.includes_last,
        })
    }

    async fn sync_items(
        &self,
        mb: &MailboxCtx,
        folder: &SourceFolder,
        state: Option<&str>,
    ) -> Result<ItemPage, SourceError> {
        let sync = self
            .client
            .sync_folder_items(mb, &FolderRef::Id(folder.id.clone()), state)
            .await?;
        let changes = sync
            .changes
            .into_iter()
            .map(|c| match c {
                ItemSyncChange::Create(h) | ItemSyncChange::Update(h) => ItemChange::Upsert {
                    id: h.id,
                    is_read: h.is_read,
                    content: None,
                    search_key: h.search_key,
                },
                ItemSyncChange::Delete { id } => ItemChange::Delete { id },
                ItemSyncChange::ReadFlagChange { id, is_read } => {
                    ItemChange::ReadFlag { id, is_read }
                }
            })
            .collect();
        Ok(ItemPage {
            changes,
            state: sync.sync_state,
            more: !sync.includes_last,
        })
    }

    /// GetItem in one call for the batch. Items that Exchange answers with
    /// ErrorBatchProcessingStopped (it stopped the batch part-way) are asked for again at once,
    /// as long as each round gets some answered; everything else gets its own outcome.
    async fn fetch(
        &self,
        mb: &MailboxCtx,
        folder: &SourceFolder,
        ids: &[String],
    ) -> Result<Vec<Fetched>, SourceError> {
        let mut out = Vec::with_capacity(ids.len());
        let mut pending: Vec<String> = ids.to_vec();
        while !pending.is_empty() {
            let results = if folder.kind == FolderKind::Mail {
                self.client.get_items_mime(mb, &pending).await?
            } else {
                self.client.get_items_full(mb, &pending).await?
            };
            if results.len() != pending.len() {
                let reason = format!(
                    "GetItem answered {} messages for {} ids",
                    results.len(),
                    pending.len()
                );
                out.extend(pending.into_iter().map(|id| Fetched {
                    id,
                    content: Err(FetchError::Retryable {
                        reason: reason.clone(),
                        wait: None,
                        throttled: false,
                    }),
                }));
                break;
            }
            let mut stopped = Vec::new();
            let mut photos = Vec::new();
            let mut occurrences = Vec::new();
            for (id, r) in pending.iter().zip(results) {
                let content = match r {
                    Ok(item) => {
                        if let Some(photo) = item.photo_id.clone() {
                            photos.push((out.len(), photo));
                        }
                        for (original, occurrence) in &item.occurrence_ids {
                            occurrences.push((out.len(), *original, occurrence.clone()));
                        }
                        match item.mime {
                            Some(data) => Ok(ItemContent {
                                data,
                                record: item.record.map(Box::new),
                            }),
                            None => Err(FetchError::Retryable {
                                reason: "no MimeContent in the response".into(),
                                wait: None,
                                throttled: false,
                            }),
                        }
                    }
                    Err(st) if st.code == "ErrorBatchProcessingStopped" => {
                        stopped.push(id.clone());
                        continue;
                    }
                    Err(st) => {
                        let e = item_error(&st);
                        if matches!(
                            e,
                            FetchError::Retryable {
                                throttled: true,
                                ..
                            }
                        ) {
                            mb.note_throttled(1);
                        }
                        Err(e)
                    }
                };
                out.push(Fetched {
                    id: id.clone(),
                    content,
                });
            }
            self.add_photos(mb, &mut out, photos).await?;
            self.add_occurrences(mb, &mut out, occurrences).await?;
            if stopped.len() == pending.len() {
                // No progress: leave the rest to the engine's back-off instead of hammering.
                out.extend(stopped.into_iter().map(|id| Fetched {
                    id,
                    content: Err(FetchError::Retryable {
                        reason: "ErrorBatchProcessingStopped".into(),
                        wait: None,
                        throttled: true,
                    }),
                }));
                break;
            }
            pending = stopped;
        }
        Ok(out)
    }

    fn ids_change_on_move(&self) -> bool {
        true
    }

    async fn exist(&self, mb: &MailboxCtx, ids: &[String]) -> Result<Vec<bool>, SourceError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.fetch_batch_size()) {
            let results = self.client.get_items_id_only(mb, chunk).await?;
            if results.len() != chunk.len() {
                out.extend(chunk.iter().map(|_| true));
                continue;
            }
            out.extend(
                results
                    .iter()
                    .map(|r| !matches!(r, Err(st) if st.code == "ErrorItemNotFound")),
            );
        }
        Ok(out)
    }
}

impl EwsSource {
    /// Puts each contact's photo (GetAttachment, one call for the batch) into its record.
    /// A photo the server cannot give now makes its contact retryable: stored without it,
    /// the next version would look like the photo was removed.
    async fn add_photos(
        &self,
        mb: &MailboxCtx,
        out: &mut [Fetched],
        photos: Vec<(usize, String)>,
    ) -> Result<(), SourceError> {
        if photos.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = photos.iter().map(|(_, id)| id.clone()).collect();
        let answers = self.client.get_attachments(mb, &ids).await?;
        for (i, (at, _)) in photos.iter().enumerate() {
            let Some(fetched) = out.get_mut(*at) else {
                continue;
            };
            match answers.get(i) {
                Some(Ok(a)) => {
                    if let Ok(ItemContent {
                        record: Some(record),
                        ..
                    }) = &mut fetched.content
                    {
                        let pim::Record::Contact(c) = record.as_mut() else {
                            continue;
                        };
                        c.photo = Some(pim::Photo {
                            content_type: if a.content_type.is_empty() {
                                "image/jpeg".into()
                            } else {
                                a.content_type.clone()
                            },
                            data: STANDARD.encode(&a.content),
                        });
                    }
                }
                Some(Err(st)) if st.code == "ErrorAttachmentNotFound" => {}
                other => {
                    let reason = match other {
                        Some(Err(st)) => format!("contact photo: {}: {}", st.code, st.text),
                        _ => "contact photo: no answer".into(),
                    };
                    let throttled = matches!(other, Some(Err(st)) if matches!(item_error(st), FetchError::Retryable { throttled: true, .. }));
                    fetched.content = Err(FetchError::Retryable {
                        reason,
                        wait: None,
                        throttled,
                    });
                }
            }
        }
        Ok(())
    }
}

impl EwsSource {
    /// Puts each changed occurrence's own subject and location into its series' record, where
    /// they differ from the series (GetItem of the occurrences, in batches). An occurrence the
    /// server cannot give now makes its series retryable: stored without it, the moved meeting
    /// would show the series' room.
    async fn add_occurrences(
        &self,
        mb: &MailboxCtx,
        out: &mut [Fetched],
        occurrences: Vec<(usize, NaiveDateTime, String)>,
    ) -> Result<(), SourceError> {
        for chunk in occurrences.chunks(self.fetch_batch_size().max(1)) {
            let ids: Vec<String> = chunk.iter().map(|(_, _, id)| id.clone()).collect();
            let answers = self.client.get_occurrences(mb, &ids).await?;
            for (i, (at, original, _)) in chunk.iter().enumerate() {
                let Some(fetched) = out.get_mut(*at) else {
                    continue;
                };
                let Ok(ItemContent {
                    record: Some(record),
                    ..
                }) = &mut fetched.content
                else {
                    continue;
                };
                let pim::Record::Event(series) = record.as_mut() else {
                    continue;
                };
                let failure = match answers.get(i) {
                    Some(Ok(item)) => {
                        if let Some(pim::Record::Event(own)) = &item.record {
                            let (subject, location) =
                                (series.subject.clone(), series.location.clone());
                            if let Some(x) = series
                                .exceptions
                                .iter_mut()
                                .find(|x| x.original_start == *original)
                            {
                                x.subject = (own.subject != subject).then(|| own.subject.clone());
                                x.location =
                                    (own.location != location).then(|| own.location.clone());
                            }
                        }
                        None
                    }
                    // Gone since the series was read: the next sync sees the series change.
                    Some(Err(st))
                        if st.code == "ErrorItemNotFound"
                            || st.code == "ErrorCalendarOccurrenceIsDeletedFromRecurrence" =>
                    {
                        None
                    }
                    Some(Err(st)) => Some((
                        format!("changed occurrence: {}: {}", st.code, st.text),
                        matches!(
                            item_error(st),
                            FetchError::Retryable {
                                throttled: true,
                                ..
                            }
                        ),
                    )),
                    None => Some(("changed occurrence: no answer".into(), false)),
                };
                if let Some((reason, throttled)) = failure {
                    if throttled {
                        mb.note_throttled(1);
                    }
                    fetched.content = Err(FetchError::Retryable {
                        reason,
                        wait: None,
                        throttled,
                    });
                }
            }
        }
        Ok(())
    }
}

/// What one GetItem response message that carries no item means for that item.
fn item_error(st: &Status) -> FetchError {
    let code = st.code.as_str();
    let inner = st.inner_code.as_deref().unwrap_or("");
    let reason = if inner.is_empty() {
        format!("{code}: {}", st.text)
    } else {
        format!("{code} ({inner}): {}", st.text)
    };
    let wait = st.backoff_ms.map(Duration::from_millis);
    if code == "ErrorServerBusy" || inner == "ErrorServerBusy" {
        return FetchError::Retryable {
            reason,
            wait,
            throttled: true,
        };
    }
    match code {
        "ErrorItemNotFound" => FetchError::NotFound(reason),
        "ErrorInternalServerError"
        | "ErrorInternalServerTransientError"
        | "ErrorTimeoutExpired"
        | "ErrorMailboxStoreUnavailable"
        | "ErrorConnectionFailed"
        | "ErrorExceededConnectionCount"
        | "ErrorTooManyObjectsOpened"
        | "ErrorMailboxMoveInProgress"
        | "ErrorBatchProcessingStopped"
        | "NoItemInResponse" => FetchError::Retryable {
            reason,
            wait,
            throttled: matches!(
                code,
                "ErrorTooManyObjectsOpened" | "ErrorExceededConnectionCount"
            ),
        },
        // ErrorMimeContentConversionFailed, ErrorCorruptData, ErrorInvalidIdMalformed, ...:
        // the item stays on the failed list and is asked for again on the next run.
        _ => FetchError::Permanent(reason),
    }
}
