//! The audit log: append-only and hash-chained. Each entry stores the SHA-256 of its canonical
//! form, which includes the previous entry's hash, so changing, removing or inserting an entry
//! breaks the chain from there on; [`AuditLog::verify`] names the first entry that does not fit.
//! No code path updates or deletes an entry.
//!
//! What a chain cannot stop: someone able to rewrite the whole table can recompute every hash.
//! Signed checkpoints kept outside the database are the answer to that (see `DESIGN.md`).

use database::Database;
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::AccessError;

/// What happened. The names are stable: they are stored, filtered on and exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    SignIn,
    SignInFailed,
    SignOut,
    ConnectionCreated,
    ConnectionDeleted,
    ConnectionTested,
    TaskCreated,
    TaskDeleted,
    TaskMailboxesAdded,
    TaskMailboxRemoved,
    SyncRequested,
    ItemOpened,
    ItemDownloaded,
    MailSearched,
    RoleCreated,
    RoleChanged,
    RoleDeleted,
    RoleAssigned,
    RoleUnassigned,
    UserCreated,
    UserAddressesSet,
    UserDisabled,
    UserEnabled,
    UserSignedOutEverywhere,
    PasswordSet,
    MailboxOpened,
    MailboxCompared,
    SnapshotCreated,
    SnapshotChanged,
    SnapshotDeleted,
    SelectionCreated,
    ExportStarted,
    ExportCancelled,
    ExportDownloaded,
    RestoreStarted,
    RestoreCancelled,
    TaskChanged,
    RetentionChanged,
    PurgeDryRun,
    PurgeStarted,
    PurgeFinished,
    LegacyAgentCreated,
    LegacyAgentRevoked,
    LegacyUsersMigrated,
    ImportStarted,
    ImportFinished,
}

impl AuditAction {
    pub const ALL: [AuditAction; 46] = [
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignOut,
        AuditAction::ConnectionCreated,
        AuditAction::ConnectionDeleted,
        AuditAction::ConnectionTested,
        AuditAction::TaskCreated,
        AuditAction::TaskDeleted,
        AuditAction::TaskMailboxesAdded,
        AuditAction::TaskMailboxRemoved,
        AuditAction::SyncRequested,
        AuditAction::ItemOpened,
        AuditAction::ItemDownloaded,
        AuditAction::MailSearched,
        AuditAction::RoleCreated,
        AuditAction::RoleChanged,
        AuditAction::RoleDeleted,
        AuditAction::RoleAssigned,
        AuditAction::RoleUnassigned,
        AuditAction::UserCreated,
        AuditAction::UserAddressesSet,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::UserSignedOutEverywhere,
        AuditAction::PasswordSet,
        AuditAction::MailboxOpened,
        AuditAction::MailboxCompared,
        AuditAction::SnapshotCreated,
        AuditAction::SnapshotChanged,
        AuditAction::SnapshotDeleted,
        AuditAction::SelectionCreated,
        AuditAction::ExportStarted,
        AuditAction::ExportCancelled,
        AuditAction::ExportDownloaded,
        AuditAction::RestoreStarted,
        AuditAction::RestoreCancelled,
        AuditAction::TaskChanged,
        AuditAction::RetentionChanged,
        AuditAction::PurgeDryRun,
        AuditAction::PurgeStarted,
        AuditAction::PurgeFinished,
        AuditAction::LegacyAgentCreated,
        AuditAction::LegacyAgentRevoked,
        AuditAction::LegacyUsersMigrated,
        AuditAction::ImportStarted,
        AuditAction::ImportFinished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::SignOut => "sign_out",
            AuditAction::ConnectionCreated => "connection_created",
            AuditAction::ConnectionDeleted => "connection_deleted",
            AuditAction::ConnectionTested => "connection_tested",
            AuditAction::TaskCreated => "task_created",
            AuditAction::TaskDeleted => "task_deleted",
            AuditAction::TaskMailboxesAdded => "task_mailboxes_added",
            AuditAction::TaskMailboxRemoved => "task_mailbox_removed",
            AuditAction::SyncRequested => "sync_requested",
            AuditAction::ItemOpened => "item_opened",
            AuditAction::ItemDownloaded => "item_downloaded",
            AuditAction::MailSearched => "mail_searched",
            AuditAction::RoleCreated => "role_created",
            AuditAction::RoleChanged => "role_changed",
            AuditAction::RoleDeleted => "role_deleted",
            AuditAction::RoleAssigned => "role_assigned",
            AuditAction::RoleUnassigned => "role_unassigned",
            AuditAction::UserCreated => "user_created",
            AuditAction::UserAddressesSet => "user_addresses_set",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::UserEnabled => "user_enabled",
            AuditAction::UserSignedOutEverywhere => "user_signed_out_everywhere",
            AuditAction::PasswordSet => "password_set",
            AuditAction::MailboxOpened => "mailbox_opened",
            AuditAction::MailboxCompared => "mailbox_compared",
            AuditAction::SnapshotCreated => "snapshot_created",
            AuditAction::SnapshotChanged => "snapshot_changed",
            AuditAction::SnapshotDeleted => "snapshot_deleted",
            AuditAction::SelectionCreated => "selection_created",
            AuditAction::ExportStarted => "export_started",
            AuditAction::ExportCancelled => "export_cancelled",
            AuditAction::ExportDownloaded => "export_downloaded",
            AuditAction::RestoreStarted => "restore_started",
            AuditAction::RestoreCancelled => "restore_cancelled",
            AuditAction::TaskChanged => "task_changed",
            AuditAction::RetentionChanged => "retention_changed",
            AuditAction::PurgeDryRun => "purge_dry_run",
            AuditAction::PurgeStarted => "purge_started",
            AuditAction::PurgeFinished => "purge_finished",
            AuditAction::LegacyAgentCreated => "legacy_agent_created",
            AuditAction::LegacyAgentRevoked => "legacy_agent_revoked",
            AuditAction::LegacyUsersMigrated => "legacy_users_migrated",
            AuditAction::ImportStarted => "import_started",
            AuditAction::ImportFinished => "import_finished",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Reading another person's content: what their own access log shows them.
    pub fn is_content_access(self) -> bool {
        matches!(
            self,
            AuditAction::ItemOpened
                | AuditAction::ItemDownloaded
                | AuditAction::MailSearched
                | AuditAction::MailboxOpened
                | AuditAction::MailboxCompared
                | AuditAction::ExportStarted
                | AuditAction::ExportDownloaded
                | AuditAction::RestoreStarted
                | AuditAction::PurgeDryRun
        )
    }
}

/// An entry to append: who, from where, what, on whose mailbox, with what result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub actor_role: String,
    pub client_address: String,
    pub action: AuditAction,
    pub target_mailbox: Option<i64>,
    pub target_owner: String,
    pub detail: String,
    /// `ok`, `refused` or `failed`.
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub actor_role: String,
    pub client_address: String,
    /// The stored name; [`AuditAction::parse`] reads it.
    pub action: String,
    pub target_mailbox: Option<i64>,
    pub target_owner: String,
    pub detail: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The canonical form the hash covers: every field but the hash, in a fixed order, as JSON.
    fn canonical(&self) -> String {
        serde_json::json!([
            self.seq,
            self.at.0,
            self.actor_user_id,
            self.actor,
            self.actor_role,
            self.client_address,
            self.action,
            self.target_mailbox,
            self.target_owner,
            self.detail,
            self.outcome,
            self.prev_hash,
        ])
        .to_string()
    }

    fn computed_hash(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Part of the actor's name.
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    pub target_owner: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only entries older than this sequence number (the next page).
    pub before_seq: Option<i64>,
    /// Only content access (opened, downloaded, searched).
    pub content_access_only: bool,
}

/// What [`AuditLog::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    /// The first entry that does not fit, and why.
    pub broken: Option<(i64, String)>,
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Database,
}

const COLUMNS: &str = "seq, at, actor_user_id, actor, actor_role, client_address, action, \
    target_mailbox, target_owner, detail, outcome, prev_hash, hash";

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: Timestamp(row.try_get("at")?),
        actor_user_id: row.try_get("actor_user_id")?,
        actor: row.try_get("actor")?,
        actor_role: row.try_get("actor_role")?,
        client_address: row.try_get("client_address")?,
        action: row.try_get("action")?,
        target_mailbox: row.try_get("target_mailbox")?,
        target_owner: row.try_get("target_owner")?,
        detail: row.try_get("detail")?,
        outcome: row.try_get("outcome")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

impl AuditLog {
    pub fn new(db: Database) -> AuditLog {
        AuditLog { db }
    }

    /// An entry for a change made on the server's command line (no session, no client).
    pub async fn command_line(
        &self,
        action: AuditAction,
        detail: String,
    ) -> Result<AuditEntry, AccessError> {
        self.append(&NewAuditEntry {
            actor_user_id: None,
            actor: "command line".to_owned(),
            actor_role: String::new(),
            client_address: String::new(),
            action,
            target_mailbox: None,
            target_owner: String::new(),
            detail,
            outcome: "ok".to_owned(),
        })
        .await
    }

    /// Appends an entry at the end of the chain. Taking the head row first serialises
    /// concurrent appends on both backends, so the chain never forks.
    pub async fn append(&self, new: &NewAuditEntry) -> Result<AuditEntry, AccessError> {
        let mut tx = self.db.pool.begin().await?;
        let head =
            sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *tx)
                .await?;
        let mut entry = AuditEntry {
            seq: head.try_get("seq")?,
            at: Timestamp::now(),
            actor_user_id: new.actor_user_id,
            actor: new.actor.clone(),
            actor_role: new.actor_role.clone(),
            client_address: new.client_address.clone(),
            action: new.action.as_str().to_owned(),
            target_mailbox: new.target_mailbox,
            target_owner: new.target_owner.clone(),
            detail: new.detail.clone(),
            outcome: new.outcome.clone(),
            prev_hash: head.try_get("hash")?,
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        sqlx::query(&format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(entry.seq)
        .bind(entry.at.0)
        .bind(entry.actor_user_id)
        .bind(&entry.actor)
        .bind(&entry.actor_role)
        .bind(&entry.client_address)
        .bind(&entry.action)
        .bind(entry.target_mailbox)
        .bind(&entry.target_owner)
        .bind(&entry.detail)
        .bind(&entry.outcome)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&entry.hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Newest first, at most `limit`.
    pub async fn list(
        &self,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, AccessError> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let actor = filter
            .actor
            .as_ref()
            .map(|a| format!("%{}%", a.trim().to_lowercase()));
        if actor.is_some() {
            sql.push_str(&format!(" AND LOWER(actor) LIKE {}", next()));
        }
        if filter.action.is_some() {
            sql.push_str(&format!(" AND action = {}", next()));
        }
        if filter.target_owner.is_some() {
            sql.push_str(&format!(" AND target_owner = {}", next()));
        }
        if filter.from.is_some() {
            sql.push_str(&format!(" AND at >= {}", next()));
        }
        if filter.until.is_some() {
            sql.push_str(&format!(" AND at < {}", next()));
        }
        if filter.before_seq.is_some() {
            sql.push_str(&format!(" AND seq < {}", next()));
        }
        if filter.content_access_only {
            let names: Vec<String> = AuditAction::ALL
                .into_iter()
                .filter(|a| a.is_content_access())
                .map(|a| format!("'{}'", a.as_str()))
                .collect();
            sql.push_str(&format!(" AND action IN ({})", names.join(", ")));
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", next()));
        let mut query = sqlx::query(&sql);
        if let Some(actor) = actor {
            query = query.bind(actor);
        }
        if let Some(action) = filter.action {
            query = query.bind(action.as_str());
        }
        if let Some(owner) = &filter.target_owner {
            query = query.bind(domain::MailAddress::fold(owner));
        }
        if let Some(from) = filter.from {
            query = query.bind(from.0);
        }
        if let Some(until) = filter.until {
            query = query.bind(until.0);
        }
        if let Some(before) = filter.before_seq {
            query = query.bind(before);
        }
        query = query.bind(i64::from(limit.clamp(1, 10_000)));
        let rows = query.fetch_all(&self.db.pool).await?;
        Ok(rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?)
    }

    /// Recomputes the whole chain, oldest first, in batches: every hash, every link, no gaps,
    /// and the head matching the last entry (which catches entries cut off the end).
    pub async fn verify(&self) -> Result<ChainReport, AccessError> {
        let mut prev_hash = String::new();
        let mut expected_seq = 1;
        let mut entries = 0u64;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 1000"
            ))
            .bind(expected_seq)
            .fetch_all(&self.db.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let entry = entry_from_row(row)?;
                let broken = |why: String| {
                    Ok(ChainReport {
                        entries,
                        broken: Some((entry.seq, why)),
                    })
                };
                if entry.seq != expected_seq {
                    return Ok(ChainReport {
                        entries,
                        broken: Some((expected_seq, format!("entry {expected_seq} is missing"))),
                    });
                }
                if entry.prev_hash != prev_hash {
                    return broken(format!(
                        "entry {} does not follow entry {}: the previous hash differs",
                        entry.seq,
                        entry.seq - 1
                    ));
                }
                if entry.computed_hash() != entry.hash {
                    return broken(format!(
                        "entry {} was changed after it was written: its hash does not match",
                        entry.seq
                    ));
                }
                prev_hash = entry.hash.clone();
                expected_seq += 1;
                entries += 1;
            }
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.db.pool)
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        if head_seq != expected_seq - 1 || head_hash != prev_hash {
            return Ok(ChainReport {
                entries,
                broken: Some((
                    expected_seq,
                    format!(
                        "the log ends at entry {} but {head_seq} were written: entries were removed from the end",
                        expected_seq - 1
                    ),
                )),
            });
        }
        Ok(ChainReport {
            entries,
            broken: None,
        })
    }
}
