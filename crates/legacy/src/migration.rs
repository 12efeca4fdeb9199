//! Migrating users to direct sync: one way, one user or a batch at a time.

use domain::{MailAddress, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::{LegacyError, Result};
use crate::submit::Legacy;

/// A user the legacy engine submitted for, or who was migrated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyMailbox {
    pub address: String,
    pub submissions: i64,
    pub last_submission_at: Option<Timestamp>,
    pub migrated_at: Option<Timestamp>,
    pub migrated_by: Option<String>,
    /// Submissions received after the migration, and so ignored.
    pub ignored: i64,
    pub last_ignored_at: Option<Timestamp>,
}

/// One user of a migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migrated {
    pub address: String,
    /// It was migrated before: nothing changed.
    pub already: bool,
    /// Sync states forgotten, so the next sync pulls every folder and message.
    pub sync_states_reset: u64,
}

fn mailbox_from_row(row: &AnyRow) -> Result<LegacyMailbox> {
    let time = |col: &str| -> Result<Option<Timestamp>> {
        Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp))
    };
    Ok(LegacyMailbox {
        address: row.try_get("address")?,
        submissions: row.try_get("submissions")?,
        last_submission_at: time("last_submission_at")?,
        migrated_at: time("migrated_at")?,
        migrated_by: row.try_get("migrated_by")?,
        ignored: row.try_get("ignored")?,
        last_ignored_at: time("last_ignored_at")?,
    })
}

const COLUMNS: &str =
    "address, submissions, last_submission_at, migrated_at, migrated_by, ignored, last_ignored_at";

impl Legacy {
    pub async fn mailboxes(&self) -> Result<Vec<LegacyMailbox>> {
        let sql = format!("SELECT {COLUMNS} FROM legacy_mailboxes ORDER BY address");
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        rows.iter().map(mailbox_from_row).collect()
    }

    pub async fn mailbox(&self, address: &str) -> Result<Option<LegacyMailbox>> {
        let sql = format!("SELECT {COLUMNS} FROM legacy_mailboxes WHERE address = $1");
        let row = sqlx::query(&sql)
            .bind(MailAddress::fold(address))
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(mailbox_from_row).transpose()
    }

    /// Migrates users to direct sync. There is no way back: from now on their submissions are
    /// ignored, and their next sync pulls the metadata of every folder and message. What the
    /// archive shows of them now (folders, memberships) is left as it is.
    pub async fn migrate(&self, addresses: &[String], by: &str) -> Result<Vec<Migrated>> {
        let mut clean = Vec::new();
        for a in addresses {
            let a = a.trim();
            if a.is_empty() {
                continue;
            }
            match MailAddress::parse(a) {
                Ok(address) => clean.push(address.as_str().to_owned()),
                Err(_) => {
                    return Err(LegacyError::Invalid(format!(
                        "“{a}” is not a mail address."
                    )))
                }
            }
        }
        if clean.is_empty() {
            return Err(LegacyError::Invalid(
                "Name at least one user to migrate.".into(),
            ));
        }
        let mut out = Vec::new();
        for address in clean {
            let now = Timestamp::now();
            let already = self
                .mailbox(&address)
                .await?
                .is_some_and(|m| m.migrated_at.is_some());
            if already {
                out.push(Migrated {
                    address,
                    already: true,
                    sync_states_reset: 0,
                });
                continue;
            }
            sqlx::query(
                "INSERT INTO legacy_mailboxes (address, submissions, migrated_at, migrated_by) VALUES ($1, 0, $2, $3) \
                 ON CONFLICT (address) DO UPDATE SET migrated_at = excluded.migrated_at, \
                 migrated_by = excluded.migrated_by WHERE legacy_mailboxes.migrated_at IS NULL",
            )
            .bind(&address)
            .bind(now.0)
            .bind(by)
            .execute(&self.db.pool)
            .await?;
            let reset = match self.archive.mailbox_by_name(&address).await? {
                Some(mailbox) => self.sync.forget_sync_states(mailbox.id).await?,
                None => 0,
            };
            out.push(Migrated {
                address,
                already: false,
                sync_states_reset: reset,
            });
        }
        Ok(out)
    }

    /// Always refused: a migrated user's legacy submissions were dropped meanwhile, so going
    /// back would show a mailbox that misses them.
    pub fn roll_back(&self, address: &str) -> Result<()> {
        Err(LegacyError::Invalid(format!(
            "A migration to direct sync cannot be rolled back ({address} stays migrated): the legacy agent's submissions since were ignored."
        )))
    }
}
