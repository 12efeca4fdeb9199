//! Graph as a [`MailboxSource`]: mailFolders delta for the tree, messages delta per folder,
//! `$value` through `$batch` for MIME, calendarView delta and contacts delta.
//!
//! Graph has no mail folder for the calendar and contacts; they appear as two fixed folders so
//! the archive can keep them in the same model as EWS.

use async_trait::async_trait;
use serde_json::Value;

use super::parse::{parse_delta_page, DeltaPage};
use super::{GraphClient, GraphConfig};
use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::source::{
    ContentFormat, FetchError, Fetched, FolderChange, FolderKind, FolderPage, ItemChange, ItemPage,
    MailboxSource, SourceFolder,
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

    async fn delta(&self, mb: &MailboxCtx, url: &str) -> Result<DeltaPage, SourceError> {
        let v = self
            .client
            .get_json(mb, url, Some(self.client.config().page_size))
            .await?;
        parse_delta_page(&v)
    }
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

    async fn open(&self, mb: &MailboxCtx) -> Result<(), SourceError> {
        let url = format!("{}/mailFolders/msgfolderroot", self.user_url(mb));
        let v = self.client.get_json(mb, &url, None).await?;
        let id = v
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| SourceError::Protocol("msgfolderroot without id".into()))?;
        let _ = mb.root_folder_id.set(id.to_string());
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
            for (id, name, kind) in [
                (CALENDAR_FOLDER_ID, "Calendar", FolderKind::Calendar),
                (CONTACTS_FOLDER_ID, "Contacts", FolderKind::Contacts),
            ] {
                changes.push(FolderChange::Upsert(SourceFolder {
                    id: id.into(),
                    parent_id: None,
                    display_name: name.into(),
                    kind,
                }));
            }
        }
        for e in &page.entries {
            let Some(id) = e.id.clone() else { continue };
            if e.removed.is_some() {
                changes.push(FolderChange::Delete { id });
                continue;
            }
            changes.push(FolderChange::Upsert(SourceFolder {
                id,
                parent_id: e.parent_folder_id.clone().filter(|p| Some(p) != root),
                display_name: e.display_name.clone().unwrap_or_default(),
                kind: FolderKind::Mail,
            }));
        }
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
        let page = self.delta(mb, state.unwrap_or(&initial)).await?;
        let mut changes = Vec::new();
        for e in &page.entries {
            let Some(id) = e.id.clone() else { continue };
            if e.removed.is_some() {
                changes.push(ItemChange::Delete { id });
                continue;
            }
            let content = match folder.kind {
                FolderKind::Mail => None,
                _ => Some(
                    serde_json::to_vec(&e.raw)
                        .map_err(|err| SourceError::Protocol(err.to_string()))?,
                ),
            };
            changes.push(ItemChange::Upsert {
                id,
                is_read: e.is_read,
                content,
                // Immutable ids survive moves: nothing to pair.
                search_key: None,
            });
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
