//! What a job takes from the archive: a mailbox, folders, a snapshot, a stored selection or
//! items picked one by one, resolved into the items and the folder each is filed under. Export
//! and restore read the same plan.

use std::collections::{HashMap, HashSet};

use archive::{Archive, FolderId, ItemDetail, ItemId, ItemKind, Mailbox, MailboxId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::RecoveryError;

/// Which archived items a job takes: what an export writes or a restore writes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ItemSource {
    /// A whole mailbox, now or as it was at an instant.
    Mailbox {
        mailbox: MailboxId,
        at: Option<Timestamp>,
    },
    /// Folders with everything below them, now or at an instant.
    Folders {
        mailbox: MailboxId,
        folders: Vec<FolderId>,
        at: Option<Timestamp>,
    },
    /// A mailbox as a snapshot shows it.
    Snapshot { snapshot: i64 },
    /// A stored selection (for example everything deleted between two instants); each item is
    /// filed under the folder it was in when it was chosen.
    Selection { selection: i64 },
    /// Items picked one by one, filed under the folder they are in now (or were last in).
    Items {
        mailbox: MailboxId,
        items: Vec<ItemId>,
    },
}

#[derive(Debug, Clone)]
pub struct PlannedItem {
    pub item: ItemId,
    pub kind: ItemKind,
    /// The folder path it is filed under, from the top of the mailbox.
    pub folder: Vec<String>,
    /// Its read state at the chosen instant (or now).
    pub is_read: bool,
}

/// A request resolved against the archive: the items it takes and where each goes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub mailbox: Mailbox,
    /// The instant the items were taken at (None: now).
    pub at: Option<Timestamp>,
    pub items: Vec<PlannedItem>,
    /// The items' stored size: what the scratch file and parts need at most.
    pub bytes: u64,
}

impl Plan {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Messages, calendar items and contacts.
    pub fn counts(&self) -> (usize, usize, usize) {
        let of = |k: ItemKind| self.items.iter().filter(|i| i.kind == k).count();
        (
            of(ItemKind::Message),
            of(ItemKind::Calendar),
            of(ItemKind::Contact),
        )
    }
}

pub(crate) fn invalid(message: &str) -> RecoveryError {
    RecoveryError::Invalid(message.to_owned())
}

async fn mailbox_or_refuse(archive: &Archive, id: MailboxId) -> Result<Mailbox, RecoveryError> {
    archive
        .mailbox(id)
        .await?
        .ok_or_else(|| invalid("That mailbox does not exist."))
}

impl ItemSource {
    /// The mailbox the request reads: what a scope check looks at before anything else.
    pub async fn mailbox_of(&self, archive: &Archive) -> Result<MailboxId, RecoveryError> {
        match self {
            ItemSource::Mailbox { mailbox, .. }
            | ItemSource::Folders { mailbox, .. }
            | ItemSource::Items { mailbox, .. } => Ok(*mailbox),
            ItemSource::Snapshot { snapshot } => Ok(archive
                .snapshot(*snapshot)
                .await?
                .ok_or_else(|| invalid("That snapshot does not exist."))?
                .mailbox_id),
            ItemSource::Selection { selection } => Ok(archive
                .selection(*selection)
                .await?
                .ok_or_else(|| invalid("That selection does not exist."))?
                .mailbox_id),
        }
    }

    /// What the jobs screen calls it, before the mailbox: "Whole mailbox", "3 folders".
    pub fn describe(&self) -> String {
        match self {
            ItemSource::Mailbox { at: None, .. } => "Whole mailbox".to_owned(),
            ItemSource::Mailbox { at: Some(t), .. } => {
                format!("Mailbox as of {}", t.to_rfc3339())
            }
            ItemSource::Folders { folders, .. } => match folders.len() {
                1 => "1 folder".to_owned(),
                n => format!("{n} folders"),
            },
            ItemSource::Snapshot { snapshot } => format!("Snapshot {snapshot}"),
            ItemSource::Selection { selection } => format!("Selection {selection}"),
            ItemSource::Items { items, .. } => match items.len() {
                1 => "1 item".to_owned(),
                n => format!("{n} items"),
            },
        }
    }

    /// Resolves the source: every item it takes of these kinds, in which folder. Refuses, with
    /// one sentence naming what is done (`verb`: "export", "restore"), what cannot be taken (no
    /// kind chosen, an instant in the future, a folder that was not there, nothing in it).
    pub async fn plan(
        &self,
        kinds: &[ItemKind],
        archive: &Archive,
        verb: &str,
    ) -> Result<Plan, RecoveryError> {
        if kinds.is_empty() {
            return Err(RecoveryError::Invalid(format!(
                "Choose at least one of mail, calendar and contacts to {verb}."
            )));
        }
        let now = Timestamp::now();
        let (mailbox, at, chosen): (Mailbox, Option<Timestamp>, Vec<Chosen>) = match self {
            ItemSource::Mailbox { mailbox, at } => {
                let mb = mailbox_or_refuse(archive, *mailbox).await?;
                let items = state_items(archive, *mailbox, *at, now, None).await?;
                (mb, *at, items)
            }
            ItemSource::Folders {
                mailbox,
                folders,
                at,
            } => {
                if folders.is_empty() {
                    return Err(RecoveryError::Invalid(format!(
                        "Choose at least one folder to {verb}."
                    )));
                }
                let mb = mailbox_or_refuse(archive, *mailbox).await?;
                let items = state_items(archive, *mailbox, *at, now, Some(folders)).await?;
                (mb, *at, items)
            }
            ItemSource::Snapshot { snapshot } => {
                let snap = archive
                    .snapshot(*snapshot)
                    .await?
                    .ok_or_else(|| invalid("That snapshot does not exist."))?;
                let mb = mailbox_or_refuse(archive, snap.mailbox_id).await?;
                let at = Some(snap.taken_at);
                let items = state_items(archive, snap.mailbox_id, at, now, None).await?;
                (mb, at, items)
            }
            ItemSource::Selection { selection } => {
                let sel = archive
                    .selection(*selection)
                    .await?
                    .ok_or_else(|| invalid("That selection does not exist."))?;
                let mb = mailbox_or_refuse(archive, sel.mailbox_id).await?;
                let paths = archive.folder_paths(sel.mailbox_id).await?;
                let items = archive
                    .selection_items(*selection)
                    .await?
                    .into_iter()
                    .map(|s| (s.item_id, folder_path(&paths, s.folder_id), None))
                    .collect();
                (mb, None, items)
            }
            ItemSource::Items { mailbox, items } => {
                let mb = mailbox_or_refuse(archive, *mailbox).await?;
                let paths = archive.folder_paths(*mailbox).await?;
                let mut chosen = Vec::new();
                for chunk in items.chunks(500) {
                    for detail in archive.items(chunk).await? {
                        // An item of another mailbox is not this job's to take.
                        if detail.mailbox_id == *mailbox {
                            chosen.push((detail.id, folder_path(&paths, detail.folder_id), None));
                        }
                    }
                }
                (mb, None, chosen)
            }
        };

        let wanted: HashSet<ItemKind> = kinds.iter().copied().collect();
        let mut items = Vec::with_capacity(chosen.len());
        let mut bytes = 0u64;
        for chunk in chosen.chunks(500) {
            let ids: Vec<ItemId> = chunk.iter().map(|(id, _, _)| *id).collect();
            let details: HashMap<ItemId, ItemDetail> = archive
                .items(&ids)
                .await?
                .into_iter()
                .map(|d| (d.id, d))
                .collect();
            for (id, folder, is_read) in chunk {
                let Some(detail) = details.get(id) else {
                    continue;
                };
                if detail.mailbox_id != mailbox.id || !wanted.contains(&detail.kind) {
                    continue;
                }
                bytes += u64::try_from(detail.size).unwrap_or(0);
                items.push(PlannedItem {
                    item: *id,
                    kind: detail.kind,
                    folder: folder.clone(),
                    is_read: is_read.unwrap_or(detail.is_read),
                });
            }
        }
        if items.is_empty() {
            return Err(RecoveryError::Invalid(format!(
                "There is nothing to {verb}: the selection holds no items of the chosen kinds."
            )));
        }
        // Mail first, then calendars, then contacts; within each by folder, then as archived.
        let rank = |k: ItemKind| match k {
            ItemKind::Message => 0,
            ItemKind::Calendar => 1,
            ItemKind::Contact => 2,
        };
        items.sort_by(|a, b| {
            rank(a.kind)
                .cmp(&rank(b.kind))
                .then_with(|| lower(&a.folder).cmp(&lower(&b.folder)))
                .then(a.item.cmp(&b.item))
        });
        Ok(Plan {
            mailbox,
            at,
            items,
            bytes,
        })
    }
}

/// An item, the folder path it is filed under and, when the source says it, its read state.
type Chosen = (ItemId, Vec<String>, Option<bool>);

fn lower(path: &[String]) -> Vec<String> {
    path.iter().map(|s| s.to_lowercase()).collect()
}

fn folder_path(paths: &HashMap<FolderId, Vec<String>>, folder: Option<FolderId>) -> Vec<String> {
    folder
        .and_then(|f| paths.get(&f).cloned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| vec!["Unfiled".to_owned()])
}

/// The items of a mailbox at an instant, optionally only those in some folders and below.
async fn state_items(
    archive: &Archive,
    mailbox: MailboxId,
    at: Option<Timestamp>,
    now: Timestamp,
    only: Option<&[FolderId]>,
) -> Result<Vec<Chosen>, RecoveryError> {
    if at.is_some_and(|t| t > now) {
        return Err(invalid(
            "That instant is in the future; choose one up to now.",
        ));
    }
    let state = archive.state_at(mailbox, at.unwrap_or(now)).await?;
    let paths: HashMap<FolderId, Vec<String>> = state
        .folders
        .iter()
        .map(|f| (f.id, f.path.clone()))
        .collect();
    let keep: Option<HashSet<FolderId>> = match only {
        None => None,
        Some(chosen) => {
            for folder in chosen {
                if !paths.contains_key(folder) {
                    return Err(invalid(
                        "A chosen folder is not in the mailbox at that instant.",
                    ));
                }
            }
            let parents: HashMap<FolderId, Option<FolderId>> =
                state.folders.iter().map(|f| (f.id, f.parent_id)).collect();
            let chosen: HashSet<FolderId> = chosen.iter().copied().collect();
            let below = |mut f: Option<FolderId>| {
                let mut depth = 0;
                while let Some(id) = f {
                    if chosen.contains(&id) {
                        return true;
                    }
                    depth += 1;
                    if depth > 64 {
                        return false;
                    }
                    f = parents.get(&id).copied().flatten();
                }
                false
            };
            Some(
                state
                    .folders
                    .iter()
                    .filter(|f| below(Some(f.id)))
                    .map(|f| f.id)
                    .collect(),
            )
        }
    };
    Ok(state
        .items
        .into_iter()
        .filter(|i| keep.as_ref().is_none_or(|k| k.contains(&i.folder_id)))
        .map(|i| {
            let path = paths
                .get(&i.folder_id)
                .cloned()
                .unwrap_or_else(|| vec!["Unfiled".to_owned()]);
            (i.item_id, path, Some(i.is_read))
        })
        .collect())
}

/// An item's archived bytes, or why they cannot be read (for its outcome).
pub(crate) async fn item_content(
    archive: &Archive,
    detail: &ItemDetail,
) -> Result<Vec<u8>, String> {
    let hash = archive::BlobHash::parse(&detail.blob_hash).map_err(|e| e.to_string())?;
    archive
        .blobs()
        .get(&hash)
        .await
        .map_err(|e| format!("its content could not be read: {e}"))
}

/// A calendar item's or contact's stored properties.
pub(crate) async fn item_record(
    archive: &Archive,
    detail: &ItemDetail,
) -> Result<pim::Record, String> {
    let stored = archive
        .read_properties(detail.id)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(bytes) = stored {
        return pim::Record::from_json(&bytes).map_err(|e| e.to_string());
    }
    // Items archived before records were kept: read their own content.
    let raw = item_content(archive, detail).await?;
    match detail.kind {
        ItemKind::Calendar => transfer::records::ics_event(&raw).map(pim::Record::Event),
        ItemKind::Contact => transfer::records::vcf_contact(&raw).map(pim::Record::Contact),
        ItemKind::Message => None,
    }
    .ok_or_else(|| "no properties are stored and its content is not readable".to_owned())
}
