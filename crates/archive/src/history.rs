//! What changed in a mailbox between two instants, and the named instants (snapshots) and stored
//! item sets (selections) built on that. Everything is computed from the interval tables: a
//! snapshot is a row, never a copy, so it is ready the moment it is made.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::types::*;

/// What happened to an item between two instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemChangeKind {
    Added,
    Deleted,
    Moved,
    ReadChanged,
}

impl ItemChangeKind {
    pub const ALL: [ItemChangeKind; 4] = [
        ItemChangeKind::Added,
        ItemChangeKind::Deleted,
        ItemChangeKind::Moved,
        ItemChangeKind::ReadChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemChangeKind::Added => "added",
            ItemChangeKind::Deleted => "deleted",
            ItemChangeKind::Moved => "moved",
            ItemChangeKind::ReadChanged => "read_changed",
        }
    }

    pub fn parse(s: &str) -> Option<ItemChangeKind> {
        ItemChangeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One item's change. `at` is when the archive observed it (the time its sync wrote it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    /// The item as it is at the later instant; for a deleted item, as it was at the earlier one.
    pub item_id: ItemId,
    /// Message, calendar item or contact.
    pub item_kind: ItemKind,
    pub kind: ItemChangeKind,
    pub at: Timestamp,
    pub from_folder: Option<FolderId>,
    pub to_folder: Option<FolderId>,
    pub was_read: Option<bool>,
    pub is_read: Option<bool>,
    /// For a move that the source reported as a delete and a create with a new id (EWS), paired
    /// here by Internet-Message-Id and content: the record of the item before the move.
    pub paired_with: Option<ItemId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FolderChangeKind {
    Created,
    Renamed,
    Moved,
    Deleted,
}

impl FolderChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FolderChangeKind::Created => "created",
            FolderChangeKind::Renamed => "renamed",
            FolderChangeKind::Moved => "moved",
            FolderChangeKind::Deleted => "deleted",
        }
    }
}

/// One folder's change; a folder renamed and moved gives two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderChange {
    pub folder_id: FolderId,
    pub kind: FolderChangeKind,
    pub at: Timestamp,
    pub old_name: Option<String>,
    pub new_name: Option<String>,
    pub old_parent: Option<FolderId>,
    pub new_parent: Option<FolderId>,
}

/// Everything that differs between the mailbox at `from` and at `to` (`from` < `to`).
/// Item changes are newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub from: Timestamp,
    pub to: Timestamp,
    pub items: Vec<ItemChange>,
    pub folders: Vec<FolderChange>,
}

/// Which item changes a page shows: none of the kinds named means every kind; a folder matches
/// a change that left it or arrived in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DifferenceFilter {
    pub kinds: Vec<ItemChangeKind>,
    pub folder: Option<FolderId>,
    /// The item kinds the caller may see (messages only, without calendar permission).
    pub item_kinds: Vec<ItemKind>,
    pub offset: usize,
    pub limit: usize,
}

/// One page of a difference: counts of the whole difference per kind, then the filtered rows
/// with what a list needs to show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DifferencePage {
    pub from: Timestamp,
    pub to: Timestamp,
    pub counts: Vec<(ItemChangeKind, usize)>,
    pub folders: Vec<FolderChange>,
    /// How many rows the filter lets through, across pages.
    pub matching: usize,
    pub rows: Vec<(ItemChange, ItemDetail)>,
}

/// A named instant of one mailbox, made from a sync task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: i64,
    pub mailbox_id: MailboxId,
    pub taken_at: Timestamp,
    pub label: String,
    pub task_id: Option<i64>,
    pub task_name: String,
    pub created_by: String,
    /// A held snapshot pins its content against retention purge.
    pub hold: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSnapshot {
    pub mailbox_id: MailboxId,
    pub taken_at: Timestamp,
    pub label: String,
    pub task_id: i64,
    pub task_name: String,
    pub created_by: String,
    pub hold: bool,
}

/// A stored set of items (of one mailbox) that export and restore take by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub id: i64,
    pub mailbox_id: MailboxId,
    pub label: String,
    /// How the items were chosen, in words ("deleted between … and …").
    pub rule: String,
    pub item_count: i64,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// An item of a selection and the folder it was in when chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectedItem {
    pub item_id: ItemId,
    pub folder_id: Option<FolderId>,
}

/// Whether the half-open interval [`from`, `until`) holds at `t`.
fn valid_at(from: i64, until: Option<i64>, t: i64) -> bool {
    from <= t && until.is_none_or(|u| u > t)
}

/// A membership interval as the difference reads it, with the kind of its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    pub item_id: ItemId,
    pub item_kind: ItemKind,
    pub folder_id: FolderId,
    pub is_read: bool,
    pub from: i64,
    pub until: Option<i64>,
}

impl Interval {
    fn valid_at(&self, t: i64) -> bool {
        valid_at(self.from, self.until, t)
    }
}

/// A folder version as the difference reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FolderVersion {
    pub folder_id: FolderId,
    pub parent_id: Option<FolderId>,
    pub name: String,
    pub from: i64,
    pub until: Option<i64>,
}

/// What pairing a delete with an add needs to know of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PairingKey {
    pub kind: ItemKind,
    pub message_id: Option<String>,
    pub blob_hash: String,
}

/// The item changes between `from` and `to`, given every interval that starts or ends in
/// (`from`, `to`], moves paired by `keys`, newest first. An item is in at most one folder at a
/// time (a move closes the old interval where it opens the new one), so its state at an
/// instant is its one interval valid then.
pub(crate) fn item_changes(
    from: i64,
    to: i64,
    intervals: &[Interval],
    keys: &HashMap<ItemId, PairingKey>,
) -> Vec<ItemChange> {
    let mut changes = state_changes(from, to, intervals);
    pair_moves(&mut changes, keys);
    changes.sort_by(|a, b| b.at.cmp(&a.at).then(b.item_id.cmp(&a.item_id)));
    changes
}

/// Each item's state at `from` against its state at `to`, unpaired and unordered.
fn state_changes(from: i64, to: i64, intervals: &[Interval]) -> Vec<ItemChange> {
    let mut by_item: HashMap<ItemId, (Option<Interval>, Option<Interval>)> = HashMap::new();
    for iv in intervals {
        let entry = by_item.entry(iv.item_id).or_default();
        if iv.valid_at(from) {
            entry.0 = Some(*iv);
        }
        if iv.valid_at(to) {
            entry.1 = Some(*iv);
        }
    }
    let mut changes = Vec::new();
    for (item_id, states) in by_item {
        let change = match states {
            (None, None) => None,
            (None, Some(after)) => Some(ItemChange {
                item_id,
                item_kind: after.item_kind,
                kind: ItemChangeKind::Added,
                at: Timestamp(after.from),
                from_folder: None,
                to_folder: Some(after.folder_id),
                was_read: None,
                is_read: Some(after.is_read),
                paired_with: None,
            }),
            (Some(before), None) => Some(ItemChange {
                item_id,
                item_kind: before.item_kind,
                kind: ItemChangeKind::Deleted,
                at: Timestamp(before.until.unwrap_or(to)),
                from_folder: Some(before.folder_id),
                to_folder: None,
                was_read: Some(before.is_read),
                is_read: None,
                paired_with: None,
            }),
            (Some(before), Some(after)) if before == after => None,
            (Some(before), Some(after)) => {
                let kind = if before.folder_id != after.folder_id {
                    ItemChangeKind::Moved
                } else if before.is_read != after.is_read {
                    ItemChangeKind::ReadChanged
                } else {
                    // Closed and reopened with nothing different: not a change anyone sees.
                    continue;
                };
                Some(ItemChange {
                    item_id,
                    item_kind: after.item_kind,
                    kind,
                    at: Timestamp(before.until.unwrap_or(after.from)),
                    from_folder: Some(before.folder_id),
                    to_folder: Some(after.folder_id),
                    was_read: Some(before.is_read),
                    is_read: Some(after.is_read),
                    paired_with: None,
                })
            }
        };
        changes.extend(change);
    }
    changes
}

/// Turns a delete and an add of the same message (same Internet-Message-Id and the same content,
/// or the same content when there is no id) into one move. EWS gives a moved item a new id; the
/// sync pairs such moves as they happen, and this pairs those archived before it did.
fn pair_moves(changes: &mut Vec<ItemChange>, keys: &HashMap<ItemId, PairingKey>) {
    let mut added: HashMap<&PairingKey, Vec<usize>> = HashMap::new();
    for (n, c) in changes.iter().enumerate() {
        if c.kind == ItemChangeKind::Added {
            if let Some(key) = keys.get(&c.item_id) {
                added.entry(key).or_default().push(n);
            }
        }
    }
    if added.is_empty() {
        return;
    }
    let mut gone = Vec::new();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (n, c) in changes.iter().enumerate() {
        if c.kind != ItemChangeKind::Deleted {
            continue;
        }
        let Some(key) = keys.get(&c.item_id) else {
            continue;
        };
        // The add that came first after the delete, so that repeated moves pair in order.
        if let Some(candidates) = added.get_mut(key) {
            if !candidates.is_empty() {
                let pos = candidates
                    .iter()
                    .position(|&a| changes[a].at >= c.at)
                    .unwrap_or(0);
                merged.push((n, candidates.remove(pos)));
            }
        }
    }
    for (deleted, added) in merged {
        let before = changes[deleted].clone();
        let after = &mut changes[added];
        after.kind = if before.from_folder == after.to_folder {
            // Deleted and re-created in the same folder: only the read state can differ.
            if before.was_read == after.is_read {
                gone.push(added);
                gone.push(deleted);
                continue;
            }
            ItemChangeKind::ReadChanged
        } else {
            ItemChangeKind::Moved
        };
        after.from_folder = before.from_folder;
        after.was_read = before.was_read;
        after.at = before.at.min(after.at);
        after.paired_with = Some(before.item_id);
        gone.push(deleted);
    }
    gone.sort_unstable();
    gone.dedup();
    for n in gone.into_iter().rev() {
        changes.remove(n);
    }
}

/// The folder changes between `from` and `to`, given every version that starts or ends in
/// (`from`, `to`].
pub(crate) fn folder_changes(from: i64, to: i64, versions: &[FolderVersion]) -> Vec<FolderChange> {
    let valid = |v: &FolderVersion, t: i64| valid_at(v.from, v.until, t);
    let mut by_folder: HashMap<FolderId, (Option<&FolderVersion>, Option<&FolderVersion>)> =
        HashMap::new();
    for v in versions {
        let entry = by_folder.entry(v.folder_id).or_default();
        if valid(v, from) {
            entry.0 = Some(v);
        }
        if valid(v, to) {
            entry.1 = Some(v);
        }
    }
    let mut out = Vec::new();
    for (folder_id, states) in by_folder {
        let change =
            |kind, at: i64, before: Option<&FolderVersion>, after: Option<&FolderVersion>| {
                FolderChange {
                    folder_id,
                    kind,
                    at: Timestamp(at),
                    old_name: before.map(|v| v.name.clone()),
                    new_name: after.map(|v| v.name.clone()),
                    old_parent: before.and_then(|v| v.parent_id),
                    new_parent: after.and_then(|v| v.parent_id),
                }
            };
        match states {
            (None, None) => {}
            (None, Some(a)) => out.push(change(FolderChangeKind::Created, a.from, None, Some(a))),
            (Some(b), None) => out.push(change(
                FolderChangeKind::Deleted,
                b.until.unwrap_or(to),
                Some(b),
                None,
            )),
            (Some(b), Some(a)) => {
                let at = b.until.unwrap_or(a.from);
                if b.name != a.name {
                    out.push(change(FolderChangeKind::Renamed, at, Some(b), Some(a)));
                }
                if b.parent_id != a.parent_id {
                    out.push(change(FolderChangeKind::Moved, at, Some(b), Some(a)));
                }
            }
        }
    }
    out.sort_by(|a, b| b.at.cmp(&a.at).then(a.folder_id.cmp(&b.folder_id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(item: i64, folder: i64, read: bool, from: i64, until: Option<i64>) -> Interval {
        Interval {
            item_id: item,
            item_kind: ItemKind::Message,
            folder_id: folder,
            is_read: read,
            from,
            until,
        }
    }

    fn key(id: &str, hash: &str) -> PairingKey {
        PairingKey {
            kind: ItemKind::Message,
            message_id: Some(id.to_owned()),
            blob_hash: hash.to_owned(),
        }
    }

    #[test]
    fn each_kind_of_item_change_is_told_apart() {
        let intervals = [
            iv(1, 10, false, 150, None),      // added
            iv(2, 10, false, 0, Some(150)),   // deleted
            iv(3, 10, false, 0, Some(160)),   // moved 10 -> 11
            iv(3, 11, false, 160, None),      //
            iv(4, 10, false, 0, Some(170)),   // read
            iv(4, 10, true, 170, None),       //
            iv(5, 10, false, 0, Some(120)),   // moved away and back: no change
            iv(5, 11, false, 120, Some(130)), //
            iv(5, 10, false, 130, None),      //
            iv(6, 10, false, 110, Some(140)), // came and went in between: never seen at either
        ];
        let changes = item_changes(100, 200, &intervals, &HashMap::new());
        let got: Vec<(i64, ItemChangeKind, i64)> = changes
            .iter()
            .map(|c| (c.item_id, c.kind, c.at.0))
            .collect();
        assert_eq!(
            got,
            vec![
                (4, ItemChangeKind::ReadChanged, 170),
                (3, ItemChangeKind::Moved, 160),
                (2, ItemChangeKind::Deleted, 150),
                (1, ItemChangeKind::Added, 150),
            ]
        );
        assert_eq!(changes[1].from_folder, Some(10));
        assert_eq!(changes[1].to_folder, Some(11));
    }

    #[test]
    fn a_delete_and_an_add_of_the_same_message_are_one_move() {
        let intervals = [iv(1, 10, true, 0, Some(150)), iv(2, 11, true, 150, None)];
        let keys = HashMap::from([(1, key("<a@x>", "h1")), (2, key("<a@x>", "h1"))]);
        let changes = item_changes(100, 200, &intervals, &keys);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].kind, ItemChangeKind::Moved);
        assert_eq!(changes[0].item_id, 2);
        assert_eq!(changes[0].paired_with, Some(1));
        assert_eq!(
            (changes[0].from_folder, changes[0].to_folder),
            (Some(10), Some(11))
        );
    }

    #[test]
    fn different_content_or_message_id_is_not_paired() {
        let intervals = [
            iv(1, 10, true, 0, Some(150)),
            iv(2, 11, true, 150, None),
            iv(3, 10, true, 0, Some(150)),
            iv(4, 11, true, 150, None),
        ];
        let keys = HashMap::from([
            (1, key("<a@x>", "h1")),
            (2, key("<a@x>", "h2")),
            (3, key("<b@x>", "h3")),
            (4, key("<c@x>", "h3")),
        ]);
        let changes = item_changes(100, 200, &intervals, &keys);
        assert_eq!(changes.len(), 4);
        assert!(changes.iter().all(|c| c.paired_with.is_none()));
    }

    #[test]
    fn folder_changes_name_each_kind() {
        let v = |f: i64, parent: Option<i64>, name: &str, from: i64, until: Option<i64>| {
            FolderVersion {
                folder_id: f,
                parent_id: parent,
                name: name.to_owned(),
                from,
                until,
            }
        };
        let versions = [
            v(1, None, "New", 150, None),
            v(2, None, "Old", 0, Some(150)),
            v(3, None, "Before", 0, Some(160)),
            v(3, Some(9), "After", 160, None),
        ];
        let mut got: Vec<(i64, FolderChangeKind)> = folder_changes(100, 200, &versions)
            .iter()
            .map(|c| (c.folder_id, c.kind))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (1, FolderChangeKind::Created),
                (2, FolderChangeKind::Deleted),
                (3, FolderChangeKind::Renamed),
                (3, FolderChangeKind::Moved),
            ]
        );
    }
}
