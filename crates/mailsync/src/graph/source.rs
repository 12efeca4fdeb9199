//! Graph as a [`MailboxSource`]: mailFolders delta for the tree, messages delta per folder,
//! `$value` through `$batch` for MIME, calendarView delta and contacts delta.
//!
//! Graph has no mail folder for the calendar and contacts; they appear as two fixed folders so
//! the archive can keep them in the same model as EWS.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use super::calendar::CalendarState;
use super::parse::{parse_delta_page, DeltaEntry, DeltaPage};
use super::properties;
use super::{GraphClient, GraphConfig};
use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::source::{
    ContentFormat, FetchError, Fetched, FolderChange, FolderKind, FolderPage, ItemChange,
    ItemContent, ItemPage, MailboxSource, SourceFolder, WellKnown,
};

pub const CALENDAR_FOLDER_ID: &str = "graph:calendar";
pub const CONTACTS_FOLDER_ID: &str = "graph:contacts";

pub struct GraphSource {
    client: GraphClient,
}

impl GraphSource {
    pub fn new(config: GraphConfig) -> Result<GraphSource, SourceError> {
        Ok(GraphSource {
            client: GraphClient::new(config)?,
        })
    }

    pub fn client(&self) -> &GraphClient {
        &self.client
    }

    fn user_url(&self, mb: &MailboxCtx) -> String {
        format!(
            "{}/users/{}",
            self.client.config().graph_base,
            super::path_segment(&mb.address)
        )
    }

    /// The ids of the standard mail folders, by well-known name in one `$batch`: names work in
    /// any mailbox language. A 404 means the mailbox has no such folder.
    async fn well_known_folders(
        &self,
        mb: &MailboxCtx,
    ) -> Result<HashMap<String, WellKnown>, SourceError> {
        let user = super::path_segment(&mb.address);
        let mut roles = HashMap::new();
        let mut pending: Vec<WellKnown> = WELL_KNOWN_MAIL.to_vec();
        let mut rounds = 0u32;
        while !pending.is_empty() {
            let urls: Vec<String> = pending
                .iter()
                .map(|w| format!("/users/{user}/mailFolders/{}?$select=id", w.server_name()))
                .collect();
            let mut retry = Vec::new();
            let mut wait = Duration::ZERO;
            for r in self.client.batch_get(mb, &urls).await? {
                let Some(role) = r.id.parse::<usize>().ok().and_then(|i| pending.get(i)) else {
                    return Err(SourceError::Protocol(format!(
                        "unexpected batch response id {}",
                        r.id
                    )));
                };
                match r.status {
                    200 => {
                        let id = r.body.get("id").and_then(Value::as_str).ok_or_else(|| {
                            SourceError::Protocol(format!("{} without id", role.server_name()))
                        })?;
                        roles.insert(id.to_string(), *role);
                    }
                    429 | 500..=599 => {
                        if r.status == 429 {
                            mb.note_throttled(1);
                        }
                        wait =
                            wait.max(r.retry_after().unwrap_or_else(|| mb.policy.backoff(rounds)));
                        retry.push(*role);
                    }
                    403 => {
                        return Err(SourceError::AccessDenied(
                            "the app may not read this mailbox's folders".into(),
                        ))
                    }
                    // 404 ErrorItemNotFound / ErrorInvalidIdMalformed: no such folder here.
                    status => {
                        tracing::debug!(mailbox = %mb.address, folder = role.server_name(), status, "no well-known folder");
                    }
                }
            }
            if !retry.is_empty() {
                rounds += 1;
                if rounds >= mb.policy.max_attempts {
                    return Err(SourceError::Throttled {
                        attempts: rounds,
                        retry_after: Some(wait),
                    });
                }
                tokio::time::sleep(wait.min(mb.policy.max_server_wait)).await;
            }
            pending = retry;
        }
        Ok(roles)
    }

    async fn delta(&self, mb: &MailboxCtx, url: &str) -> Result<DeltaPage, SourceError> {
        let v = self
            .client
            .get_json(mb, url, Some(self.client.config().page_size))
            .await?;
        parse_delta_page(&v)
    }
}

/// The standard mail folders Graph can name by well-known name.
const WELL_KNOWN_MAIL: [WellKnown; 7] = [
    WellKnown::Inbox,
    WellKnown::SentItems,
    WellKnown::Drafts,
    WellKnown::DeletedItems,
    WellKnown::JunkEmail,
    WellKnown::Outbox,
    WellKnown::Archive,
];

/// One mailFolders delta entry as a folder change. Graph v1.0 has no folder class, so only the
/// hidden flag can keep a system folder out.
fn folder_change(
    e: &DeltaEntry,
    root: Option<&String>,
    roles: &HashMap<String, WellKnown>,
) -> Option<FolderChange> {
    let id = e.id.clone()?;
    if e.removed.is_some() {
        return Some(FolderChange::Delete { id });
    }
    if e.is_hidden == Some(true) {
        return Some(FolderChange::Skip { id });
    }
    Some(FolderChange::Upsert(SourceFolder {
        parent_id: e.parent_folder_id.clone().filter(|p| Some(p) != root),
        display_name: e.display_name.clone().unwrap_or_default(),
        kind: FolderKind::Mail,
        well_known: roles.get(&id).copied(),
        id,
    }))
}

fn next_state(page: &DeltaPage) -> Result<(String, bool), SourceError> {
    match (&page.next_link, &page.delta_link) {
        (Some(next), _) => Ok((next.clone(), true)),
        (None, Some(delta)) => Ok((delta.clone(), false)),
        (None, None) => Err(SourceError::Protocol("delta page without links".into())),
    }
}

#[async_trait]
impl MailboxSource for GraphSource {
    fn protocol(&self) -> &'static str {
        "graph"
    }

    fn fetch_batch_size(&self) -> usize {
        self.client.config().batch_size.clamp(1, super::MAX_BATCH)
    }

    /// One `$batch` already carries up to 20 requests against the mailbox's budget of 4
    /// concurrent requests: sending several batches at once only provokes 429s.
    fn max_concurrent_fetches(&self) -> usize {
        1
    }

    fn content_format(&self, kind: FolderKind) -> ContentFormat {
        match kind {
            FolderKind::Mail => ContentFormat::Mime,
            FolderKind::Calendar => ContentFormat::GraphEventJson,
            FolderKind::Contacts => ContentFormat::GraphContactJson,
        }
    }

    /// `GET /users/{id}?$select=displayName` (needs User.Read.All; without it, no name).
    async fn owner_name(&self, mb: &MailboxCtx) -> Result<Option<String>, SourceError> {
        let url = format!("{}?$select=displayName", self.user_url(mb));
        let v = self.client.get_json(mb, &url, None).await?;
        Ok(v.get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    async fn open(&self, mb: &MailboxCtx) -> Result<(), SourceError> {
        let url = format!("{}/mailFolders/msgfolderroot", self.user_url(mb));
        let v = self.client.get_json(mb, &url, None).await?;
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| SourceError::Protocol("msgfolderroot without id".into()))?;
        let _ = mb.root_folder_id.set(id.to_string());
        let roles = self.well_known_folders(mb).await?;
        let _ = mb.well_known.set(roles);
        Ok(())
    }

    async fn sync_folders(
        &self,
        mb: &MailboxCtx,
        state: Option<&str>,
    ) -> Result<FolderPage, SourceError> {
        let initial = format!("{}/mailFolders/delta", self.user_url(mb));
        let page = self.delta(mb, state.unwrap_or(&initial)).await?;
        let root = mb.root_folder_id.get();
        let mut changes = Vec::new();
        if state.is_none() {
            for (id, name, kind, role) in [
                (
                    CALENDAR_FOLDER_ID,
                    "Calendar",
                    FolderKind::Calendar,
                    WellKnown::Calendar,
                ),
                (
                    CONTACTS_FOLDER_ID,
                    "Contacts",
                    FolderKind::Contacts,
                    WellKnown::Contacts,
                ),
            ] {
                changes.push(FolderChange::Upsert(SourceFolder {
                    id: id.into(),
                    parent_id: None,
                    display_name: name.into(),
                    kind,
                    well_known: Some(role),
                }));
            }
        }
        let no_roles = HashMap::new();
        let roles = mb.well_known.get().unwrap_or(&no_roles);
        changes.extend(
            page.entries
                .iter()
                .filter_map(|e| folder_change(e, root, roles)),
        );
        let (state, more) = next_state(&page)?;
        Ok(FolderPage {
            changes,
            state,
            more,
        })
    }

    async fn sync_items(
        &self,
        mb: &MailboxCtx,
        folder: &SourceFolder,
        state: Option<&str>,
    ) -> Result<ItemPage, SourceError> {
        let user = self.user_url(mb);
        let initial = match folder.kind {
            FolderKind::Mail => format!(
                "{user}/mailFolders/{}/messages/delta?$select=isRead,parentFolderId",
                super::path_segment(&folder.id)
            ),
            FolderKind::Calendar => {
                let (start, end) = &self.client.config().calendar_window;
                format!("{user}/calendarView/delta?startDateTime={start}&endDateTime={end}")
            }
            FolderKind::Contacts => format!("{user}/contacts/delta"),
        };
        if folder.kind == FolderKind::Calendar {
            let mut calendar = state.map(CalendarState::parse).unwrap_or_default();
            let link = if calendar.link.is_empty() {
                initial
            } else {
                calendar.link.clone()
            };
            let page = self.delta(mb, &link).await?;
            let changes = self
                .calendar_changes(mb, &user, &page.entries, &mut calendar)
                .await?;
            let (link, more) = next_state(&page)?;
            calendar.link = link;
            if !more {
                calendar.read_this_round.clear();
            }
            return Ok(ItemPage {
                changes,
                state: calendar.encode()?,
                more,
            });
        }
        let page = self.delta(mb, state.unwrap_or(&initial)).await?;
        let mut changes = Vec::new();
        for e in &page.entries {
            let Some(id) = e.id.clone() else { continue };
            if e.removed.is_some() {
                changes.push(ItemChange::Delete { id });
                continue;
            }
            let record = match folder.kind {
                FolderKind::Mail | FolderKind::Calendar => None,
                FolderKind::Contacts => Some(pim::Record::Contact(properties::contact(&e.raw))),
            };
            let content = match folder.kind {
                FolderKind::Mail => None,
                _ => Some(ItemContent {
                    data: serde_json::to_vec(&e.raw)
                        .map_err(|err| SourceError::Protocol(err.to_string()))?,
                    record: record.map(Box::new),
                }),
            };
            changes.push(ItemChange::Upsert {
                id,
                is_read: e.is_read,
                content,
                // Immutable ids survive moves: nothing to pair.
                search_key: None,
            });
        }
        if folder.kind == FolderKind::Contacts {
            self.add_photos(mb, &folder.id, &mut changes).await?;
        }
        let (state, more) = next_state(&page)?;
        Ok(ItemPage {
            changes,
            state,
            more,
        })
    }

    async fn fetch(
        &self,
        mb: &MailboxCtx,
        folder: &SourceFolder,
        ids: &[String],
    ) -> Result<Vec<Fetched>, SourceError> {
        if folder.kind != FolderKind::Mail {
            // Events and contacts arrive whole in the delta pages.
            return Ok(ids
                .iter()
                .map(|id| Fetched {
                    id: id.clone(),
                    content: Err(FetchError::Permanent(
                        "content is only delivered inline".into(),
                    )),
                })
                .collect());
        }
        self.client.fetch_mime(mb, ids).await
    }
}

impl GraphSource {
    /// Graph's contact JSON carries no photo: each contact of the page gets its own.
    async fn add_photos(
        &self,
        mb: &MailboxCtx,
        folder: &str,
        changes: &mut [ItemChange],
    ) -> Result<(), SourceError> {
        let ids: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                ItemChange::Upsert {
                    id,
                    content: Some(_),
                    ..
                } => Some(id.clone()),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut photos = self
            .client
            .contact_photos(mb, folder, &ids)
            .await?
            .into_iter();
        for change in changes.iter_mut() {
            if let ItemChange::Upsert {
                content: Some(content),
                ..
            } = change
            {
                let photo = photos.next().flatten();
                if let Some(record) = content.record.as_mut() {
                    if let pim::Record::Contact(c) = record.as_mut() {
                        c.photo = photo;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hidden_removed_and_well_known_delta_entries() {
        let page = parse_delta_page(&json!({
            "value": [
                {"id": "inbox-id", "displayName": "Posteingang", "parentFolderId": "root", "isHidden": false},
                {"id": "yammer", "displayName": "Yammer Root", "parentFolderId": "root", "isHidden": true},
                {"id": "sub", "displayName": " Sub ", "parentFolderId": "inbox-id"},
                {"id": "gone", "@removed": {"reason": "deleted"}},
            ],
            "@odata.deltaLink": "x"
        }))
        .unwrap();
        let root = "root".to_string();
        let roles = HashMap::from([("inbox-id".to_string(), WellKnown::Inbox)]);
        let changes: Vec<FolderChange> = page
            .entries
            .iter()
            .filter_map(|e| folder_change(e, Some(&root), &roles))
            .collect();
        assert_eq!(
            changes,
            [
                FolderChange::Upsert(SourceFolder {
                    id: "inbox-id".into(),
                    parent_id: None,
                    display_name: "Posteingang".into(),
                    kind: FolderKind::Mail,
                    well_known: Some(WellKnown::Inbox),
                }),
                FolderChange::Skip {
                    id: "yammer".into()
                },
                FolderChange::Upsert(SourceFolder {
                    id: "sub".into(),
                    parent_id: Some("inbox-id".into()),
                    display_name: " Sub ".into(),
                    kind: FolderKind::Mail,
                    well_known: None,
                }),
                FolderChange::Delete { id: "gone".into() },
            ]
        );
    }
}
