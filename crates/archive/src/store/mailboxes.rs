//! Mailboxes: created once by name, looked up by id, name or owner.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Archive, Result};
use crate::types::*;

fn mailbox_from_row(row: &AnyRow) -> Result<Mailbox> {
    Ok(Mailbox {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_address: row.try_get("owner_address")?,
        display_name: row.try_get("display_name")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

impl Archive {
    /// Creates the mailbox when no mailbox has this name; returns it either way.
    pub async fn ensure_mailbox(&self, new: &NewMailbox) -> Result<Mailbox> {
        let (mut tx, _) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO archive_mailboxes (name, owner_address, display_name, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&new.name)
        .bind(domain::MailAddress::fold(&new.owner_address))
        .bind(&new.display_name)
        .bind(Timestamp::now().0)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT * FROM archive_mailboxes WHERE name = $1")
            .bind(&new.name)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        mailbox_from_row(&row)
    }

    /// The name people know the mailbox by, as its source says it now.
    pub async fn set_mailbox_display_name(&self, id: MailboxId, name: &str) -> Result<()> {
        sqlx::query("UPDATE archive_mailboxes SET display_name = $1 WHERE id = $2")
            .bind(name.trim())
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    pub async fn mailbox(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        let row = sqlx::query("SELECT * FROM archive_mailboxes WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(mailbox_from_row).transpose()
    }

    pub async fn mailbox_by_name(&self, name: &str) -> Result<Option<Mailbox>> {
        let row = sqlx::query("SELECT * FROM archive_mailboxes WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(mailbox_from_row).transpose()
    }

    /// The mailboxes a user owns (addresses compare case-insensitively).
    pub async fn mailboxes_by_owner(&self, address: &str) -> Result<Vec<Mailbox>> {
        let rows =
            sqlx::query("SELECT * FROM archive_mailboxes WHERE owner_address = $1 ORDER BY name")
                .bind(domain::MailAddress::fold(address))
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(mailbox_from_row).collect()
    }

    pub async fn list_mailboxes(&self) -> Result<Vec<Mailbox>> {
        let rows = sqlx::query("SELECT * FROM archive_mailboxes ORDER BY name")
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(mailbox_from_row).collect()
    }
}
