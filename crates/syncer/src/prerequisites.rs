//! What must be true before a sync task may run (capability 9): the archive keeps mail at least
//! [`MIN_RETENTION_DAYS`] days, and the task's server connection passed its last test. Checked
//! when a task is created enabled or enabled later, and, the other way round, when retention is
//! shortened (the floor this crate gives the archive).

use archive::{read_retention_policy, Floor, MailboxId, RetentionFloors};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::{Result, SyncerError};
use crate::store::SyncStore;

/// Sync & Recover shows a mailbox as it was over the last weeks; mail must be kept at least
/// this long for that (the vendor's own prerequisite, DESIGN.md capability 9).
pub const MIN_RETENTION_DAYS: u32 = 58;

/// One prerequisite a task does not meet, with where to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingPrerequisite {
    pub what: PrerequisiteKind,
    /// A sentence for a person: what is missing and what to do.
    pub message: String,
    /// The portal page where it is fixed.
    pub fix_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrerequisiteKind {
    Retention,
    ConnectionTested,
}

/// The last test of a connection, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTest {
    pub at: archive::Timestamp,
    pub passed: bool,
    pub summary: String,
}

pub(crate) fn addresses_of(list: &[domain::MailAddress]) -> Vec<String> {
    list.iter().map(|a| a.as_str().to_owned()).collect()
}

impl SyncStore {
    /// What a task on `connection_id`, syncing `addresses`, is missing to be enabled; empty
    /// when it may run.
    pub async fn missing_prerequisites(
        &self,
        connection_id: i64,
        addresses: &[String],
    ) -> Result<Vec<MissingPrerequisite>> {
        let mut missing = Vec::new();
        let policy = read_retention_policy(&self.db).await?;
        if !policy.default.mail.keeps_at_least(MIN_RETENTION_DAYS) {
            missing.push(MissingPrerequisite {
                what: PrerequisiteKind::Retention,
                message: format!(
                    "Retention keeps mail {}; sync needs at least {MIN_RETENTION_DAYS} days. Lengthen the default retention.",
                    policy.default.mail.words()
                ),
                fix_at: "/admin/retention".into(),
            });
        }
        for (name, rule) in self.overrides_of(&policy, addresses).await? {
            if !rule.keeps_at_least(MIN_RETENTION_DAYS) {
                missing.push(MissingPrerequisite {
                    what: PrerequisiteKind::Retention,
                    message: format!(
                        "Retention keeps mail of {name} {}; sync needs at least {MIN_RETENTION_DAYS} days. Lengthen its retention.",
                        rule.words()
                    ),
                    fix_at: "/admin/retention".into(),
                });
            }
        }
        let connection = self
            .connection(connection_id)
            .await?
            .ok_or(SyncerError::UnknownConnection(connection_id))?;
        let tested = match &connection.last_test {
            None => Some(format!(
                "Connection “{}” has not been tested. Run “Test connection” on it.",
                connection.name
            )),
            Some(t) if !t.passed => Some(format!(
                "Connection “{}” failed its last test ({}). Fix it and run “Test connection” again.",
                connection.name, t.summary
            )),
            Some(_) => None,
        };
        if let Some(message) = tested {
            missing.push(MissingPrerequisite {
                what: PrerequisiteKind::ConnectionTested,
                message,
                fix_at: "/admin/connections".into(),
            });
        }
        Ok(missing)
    }

    /// The mail rules of mailbox overrides that apply to these addresses (by the archive
    /// mailbox a task mailbox writes to, or by name when it has not run yet).
    async fn overrides_of(
        &self,
        policy: &archive::RetentionPolicy,
        addresses: &[String],
    ) -> Result<Vec<(String, archive::KeepRule)>> {
        let mut out = Vec::new();
        for o in &policy.overrides {
            let Some(rule) = o.mail else { continue };
            let name: Option<String> =
                sqlx::query_scalar("SELECT name FROM archive_mailboxes WHERE id = $1")
                    .bind(o.mailbox_id)
                    .fetch_optional(&self.db.pool)
                    .await?;
            if let Some(name) = name {
                if addresses.iter().any(|a| a.eq_ignore_ascii_case(&name)) {
                    out.push((name, rule));
                }
            }
        }
        Ok(out)
    }

    /// Refuses with every missing prerequisite in one sentence.
    pub(crate) async fn require_prerequisites(
        &self,
        connection_id: i64,
        addresses: &[String],
    ) -> Result<()> {
        let missing = self.missing_prerequisites(connection_id, addresses).await?;
        if missing.is_empty() {
            Ok(())
        } else {
            Err(SyncerError::PrerequisitesMissing(missing))
        }
    }

    /// Takes every task mailbox that writes to this archive mailbox away from the sync
    /// workers until `until` (a purge must not run beside a sync). False, and nothing taken,
    /// when a sync of it runs now.
    pub async fn hold_mailbox(
        &self,
        archive_mailbox: MailboxId,
        holder: &str,
        until: archive::Timestamp,
    ) -> Result<bool> {
        let now = archive::Timestamp::now();
        let mut tx = self.db.pool.begin().await?;
        // A write first (SQLite takes its lock on the first write, not on a read).
        sqlx::query(
            "UPDATE sync_task_mailboxes SET claimed_until = $1, claimed_by = $2 \
             WHERE archive_mailbox_id = $3 AND (claimed_until IS NULL OR claimed_until <= $4 OR claimed_by = $5)",
        )
        .bind(until.0)
        .bind(holder)
        .bind(archive_mailbox)
        .bind(now.0)
        .bind(holder)
        .execute(&mut *tx)
        .await?;
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sync_task_mailboxes WHERE archive_mailbox_id = $1 \
             AND claimed_until > $2 AND claimed_by <> $3",
        )
        .bind(archive_mailbox)
        .bind(now.0)
        .bind(holder)
        .fetch_one(&mut *tx)
        .await?;
        if busy > 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Gives the mailbox back to the sync workers.
    pub async fn release_mailbox(&self, archive_mailbox: MailboxId, holder: &str) -> Result<()> {
        sqlx::query(
            "UPDATE sync_task_mailboxes SET claimed_until = NULL, claimed_by = NULL \
             WHERE archive_mailbox_id = $1 AND claimed_by = $2",
        )
        .bind(archive_mailbox)
        .bind(holder)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl RetentionFloors for SyncStore {
    /// While a task is enabled, mail must be kept [`MIN_RETENTION_DAYS`] days: by the default
    /// policy (any enabled task), or by a mailbox's own rule (an enabled task syncing it).
    async fn floor(
        &self,
        mailbox: Option<MailboxId>,
    ) -> std::result::Result<Option<Floor>, String> {
        let task: Option<String> = match mailbox {
            None => sqlx::query("SELECT name FROM sync_tasks WHERE enabled = 1 ORDER BY name LIMIT 1")
                .fetch_optional(&self.db.pool)
                .await
                .map_err(|e| e.to_string())?
                .map(|row| row.try_get::<String, _>("name"))
                .transpose()
                .map_err(|e| e.to_string())?,
            Some(id) => sqlx::query(
                "SELECT t.name FROM sync_tasks t JOIN sync_task_mailboxes m ON m.task_id = t.id \
                 WHERE t.enabled = 1 AND (m.archive_mailbox_id = $1 OR LOWER(m.address) = \
                 (SELECT LOWER(name) FROM archive_mailboxes WHERE id = $2)) ORDER BY t.name LIMIT 1",
            )
            .bind(id)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| e.to_string())?
            .map(|row| row.try_get::<String, _>("name"))
            .transpose()
            .map_err(|e| e.to_string())?,
        };
        Ok(task.map(|name| Floor {
            days: MIN_RETENTION_DAYS,
            why: format!("sync task “{name}” is enabled (disable it before shortening retention)"),
        }))
    }
}
