//! Folder identities and their versions over time, as the source reports them.

use sqlx::{Any, Row, Transaction};

use super::{Archive, Result};
use crate::error::ArchiveError;
use crate::types::*;

impl Archive {
    async fn folder_row(
        tx: &mut Transaction<'static, Any>,
        mailbox: MailboxId,
        source_id: &str,
        kind: FolderKind,
    ) -> Result<FolderId> {
        sqlx::query(
            "INSERT INTO archive_folders (mailbox_id, source_id, kind, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (mailbox_id, source_id) DO NOTHING",
        )
        .bind(mailbox)
        .bind(source_id)
        .bind(kind.as_str())
        .bind(Timestamp::now().0)
        .execute(&mut **tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, kind FROM archive_folders WHERE mailbox_id = $1 AND source_id = $2",
        )
        .bind(mailbox)
        .bind(source_id)
        .fetch_one(&mut **tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        let stored: String = row.try_get("kind")?;
        if kind != FolderKind::Other && stored != kind.as_str() {
            sqlx::query("UPDATE archive_folders SET kind = $1 WHERE id = $2")
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(id)
    }

    /// Records what the source says a folder is now. A changed name or parent closes the current
    /// version at `at` and opens a new one; an unchanged folder writes nothing new.
    pub async fn upsert_folder(
        &self,
        mailbox: MailboxId,
        spec: &FolderSpec,
        at: Timestamp,
    ) -> Result<FolderId> {
        let (mut tx, _) = self.begin_write().await?;
        let parent = match &spec.parent_source_id {
            Some(p) => Some(Self::folder_row(&mut tx, mailbox, p, FolderKind::Other).await?),
            None => None,
        };
        let id = Self::folder_row(&mut tx, mailbox, &spec.source_id, spec.kind).await?;
        let open = sqlx::query(
            "SELECT id, parent_id, name FROM archive_folder_versions WHERE folder_id = $1 AND seen_until IS NULL",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let unchanged = match &open {
            Some(row) => {
                let p: Option<i64> = row.try_get("parent_id")?;
                let n: String = row.try_get("name")?;
                p == parent && n == spec.name
            }
            None => false,
        };
        if !unchanged {
            if let Some(row) = open {
                let version: i64 = row.try_get("id")?;
                sqlx::query("UPDATE archive_folder_versions SET seen_until = $1 WHERE id = $2")
                    .bind(at.0)
                    .bind(version)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO archive_folder_versions (folder_id, mailbox_id, parent_id, name, seen_from) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(mailbox)
            .bind(parent)
            .bind(&spec.name)
            .bind(at.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The folder is gone from the source: its interval closes, and so do those of the items
    /// still in it. Nothing archived is removed.
    pub async fn close_folder(
        &self,
        mailbox: MailboxId,
        source_id: &str,
        at: Timestamp,
    ) -> Result<()> {
        let (mut tx, _) = self.begin_write().await?;
        let id = Self::folder_id_in(&mut tx, mailbox, source_id).await?;
        sqlx::query("UPDATE archive_folder_versions SET seen_until = $1 WHERE folder_id = $2 AND seen_until IS NULL")
            .bind(at.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE archive_memberships SET seen_until = $1 WHERE folder_id = $2 AND seen_until IS NULL")
            .bind(at.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn folder_id_in(
        tx: &mut Transaction<'static, Any>,
        mailbox: MailboxId,
        source_id: &str,
    ) -> Result<FolderId> {
        sqlx::query_scalar(
            "SELECT id FROM archive_folders WHERE mailbox_id = $1 AND source_id = $2",
        )
        .bind(mailbox)
        .bind(source_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| ArchiveError::UnknownFolder(source_id.to_owned()))
    }

    /// The mailbox a folder belongs to, if the folder exists.
    pub async fn folder_mailbox(&self, folder: FolderId) -> Result<Option<MailboxId>> {
        Ok(
            sqlx::query_scalar("SELECT mailbox_id FROM archive_folders WHERE id = $1")
                .bind(folder)
                .fetch_optional(&self.db.pool)
                .await?,
        )
    }

    pub async fn folder_id(&self, mailbox: MailboxId, source_id: &str) -> Result<Option<FolderId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM archive_folders WHERE mailbox_id = $1 AND source_id = $2",
        )
        .bind(mailbox)
        .bind(source_id)
        .fetch_optional(&self.db.pool)
        .await?)
    }
}
