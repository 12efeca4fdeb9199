//! EWS as a [`MailboxSource`]: SyncFolderHierarchy below "Top of Information Store",
//! SyncFolderItems per folder, GetItem with MimeContent in batches.

use async_trait::async_trait;

use super::parse::{EwsFolderKind, HierarchyChange, ItemSyncChange};
use super::{EwsClient, EwsConfig, FolderRef};
use crate::context::MailboxCtx;
use crate::error::SourceError;
use crate::source::{
    ContentFormat, Fetched, FolderChange, FolderKind, FolderPage, ItemChange, ItemPage,
    MailboxSource, SourceFolder,
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

    async fn open(&self, mb: &MailboxCtx) -> Result<(), SourceError> {
        let top = self.client.get_folder(mb, &root()).await?;
        let _ = mb.root_folder_id.set(top.id);
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
                    let kind = match f.kind {
                        EwsFolderKind::Mail => FolderKind::Mail,
                        EwsFolderKind::Calendar => FolderKind::Calendar,
                        EwsFolderKind::Contacts => FolderKind::Contacts,
                        EwsFolderKind::Other => continue,
                    };
                    let parent_id = f.parent_id.filter(|p| Some(p) != root_id);
                    changes.push(FolderChange::Upsert(SourceFolder {
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

    async fn fetch(
        &self,
        mb: &MailboxCtx,
        _folder: &SourceFolder,
        ids: &[String],
    ) -> Result<Vec<Fetched>, SourceError> {
        let results = self.client.get_items_mime(mb, ids).await?;
        if results.len() != ids.len() {
            return Err(SourceError::Protocol(format!(
                "GetItem answered {} messages for {} ids",
                results.len(),
                ids.len()
            )));
        }
        Ok(ids
            .iter()
            .zip(results)
            .map(|(id, r)| Fetched {
                id: id.clone(),
                content: match r {
                    Ok(item) => item
                        .mime
                        .ok_or_else(|| "no MimeContent in the response".to_string()),
                    Err(status) => Err(status.code),
                },
            })
            .collect())
    }
}
