//! A submission applied: folders become archive folders, messages are matched to archived
//! content by Internet-Message-Id and placed in their folder; or, for a migrated user, ignored
//! and counted.

use std::collections::{HashMap, HashSet};

use archive::{Archive, FolderKind, FolderSpec, MailboxId};
use database::Database;
use domain::{MailAddress, Timestamp};
use serde::{Deserialize, Serialize};
use syncer::SyncStore;

use crate::agents::{Agent, Agents};
use crate::error::Result;
use crate::submission::Submission;

/// What became of a submission, as the agent is told (and told again for a repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub submission_id: String,
    pub mailbox: String,
    /// The same submission id was received before: this is its first receipt, unchanged.
    pub duplicate: bool,
    /// The user was migrated to direct sync: nothing of it was used.
    pub ignored: bool,
    pub folders: u64,
    pub messages: u64,
    /// Messages whose archived content was found and put in (or was already in) its folder.
    pub placed: u64,
    /// Messages with no archived content of that Internet-Message-Id (not ingested yet).
    pub unmatched: u64,
    pub message: String,
}

/// Folders become archive folders under this prefix, so they never meet the ids a direct sync
/// gives its own folders.
fn folder_source(id: &str) -> String {
    format!("legacy:{id}")
}

#[derive(Clone)]
pub struct Legacy {
    pub(crate) db: Database,
    pub(crate) archive: Archive,
    pub(crate) sync: SyncStore,
    agents: Agents,
}

impl Legacy {
    pub fn new(archive: Archive, sync: SyncStore) -> Legacy {
        let db = archive.database().clone();
        Legacy {
            agents: Agents::new(db.clone()),
            db,
            archive,
            sync,
        }
    }

    pub fn agents(&self) -> &Agents {
        &self.agents
    }

    /// Applies a checked submission of an authenticated agent. Idempotent per submission id.
    pub async fn submit(&self, agent: &Agent, submission: &Submission) -> Result<Receipt> {
        let submission_id = submission.submission_id.trim().to_owned();
        let earlier: Option<String> = sqlx::query_scalar(
            "SELECT outcome FROM legacy_submissions WHERE agent_id = $1 AND submission_id = $2",
        )
        .bind(agent.id)
        .bind(&submission_id)
        .fetch_optional(&self.db.pool)
        .await?;
        if let Some(earlier) = earlier {
            let mut receipt: Receipt = serde_json::from_str(&earlier)
                .map_err(|e| crate::LegacyError::Inconsistent(format!("stored receipt: {e}")))?;
            receipt.duplicate = true;
            receipt.message =
                format!("Submission {submission_id} was received before; nothing was done again.");
            return Ok(receipt);
        }
        let address = MailAddress::fold(&submission.mailbox);
        let now = Timestamp::now();
        let mut receipt = Receipt {
            submission_id: submission_id.clone(),
            mailbox: address.clone(),
            folders: submission.folders.len() as u64,
            messages: submission.messages.len() as u64,
            ..Receipt::default()
        };
        let migrated = self
            .mailbox(&address)
            .await?
            .is_some_and(|m| m.migrated_at.is_some());
        if migrated {
            receipt.ignored = true;
            receipt.message = format!(
                "{address} was migrated to direct sync: submissions for it are ignored (and counted)."
            );
            sqlx::query(
                "UPDATE legacy_mailboxes SET ignored = ignored + 1, last_ignored_at = $1 WHERE address = $2",
            )
            .bind(now.0)
            .bind(&address)
            .execute(&self.db.pool)
            .await?;
        } else {
            match self.archive.mailbox_by_name(&address).await? {
                Some(mailbox) => {
                    self.apply(mailbox.id, submission, &mut receipt, now)
                        .await?
                }
                None => {
                    receipt.unmatched = receipt.messages;
                }
            }
            receipt.message = format!(
                "{} folders and {} messages received: {} placed, {} not archived yet{}.",
                receipt.folders,
                receipt.messages,
                receipt.placed,
                receipt.unmatched,
                if receipt.unmatched > 0 {
                    " (ingest their content, then submit again)"
                } else {
                    ""
                }
            );
            self.count_submission(&address, now).await?;
        }
        let stored = serde_json::to_string(&receipt)
            .map_err(|e| crate::LegacyError::Inconsistent(e.to_string()))?;
        sqlx::query(
            "INSERT INTO legacy_submissions (agent_id, submission_id, mailbox, received_at, outcome) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, submission_id) DO NOTHING",
        )
        .bind(agent.id)
        .bind(&submission_id)
        .bind(&address)
        .bind(now.0)
        .bind(stored)
        .execute(&self.db.pool)
        .await?;
        Ok(receipt)
    }

    async fn count_submission(&self, address: &str, now: Timestamp) -> Result<()> {
        sqlx::query(
            "INSERT INTO legacy_mailboxes (address, submissions, last_submission_at) VALUES ($1, 1, $2) \
             ON CONFLICT (address) DO UPDATE SET submissions = legacy_mailboxes.submissions + 1, \
             last_submission_at = excluded.last_submission_at",
        )
        .bind(address)
        .bind(now.0)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Folders first (parents before children), then each message to its folder.
    async fn apply(
        &self,
        mailbox: MailboxId,
        submission: &Submission,
        receipt: &mut Receipt,
        now: Timestamp,
    ) -> Result<()> {
        let mut done: HashSet<&str> = HashSet::new();
        let mut folder_ids = HashMap::new();
        while done.len() < submission.folders.len() {
            let before = done.len();
            for f in &submission.folders {
                if done.contains(f.id.as_str()) {
                    continue;
                }
                if let Some(parent) = &f.parent_id {
                    if !done.contains(parent.as_str()) {
                        continue;
                    }
                }
                let id = self
                    .archive
                    .upsert_folder(
                        mailbox,
                        &FolderSpec {
                            source_id: folder_source(&f.id),
                            parent_source_id: f.parent_id.as_deref().map(folder_source),
                            name: f.name.clone(),
                            kind: FolderKind::Other,
                        },
                        now,
                    )
                    .await?;
                folder_ids.insert(f.id.as_str(), id);
                done.insert(f.id.as_str());
            }
            if done.len() == before {
                // A cycle of parents: the check lets none through, so this is a fault.
                return Err(crate::LegacyError::Invalid(
                    "The folders' parents form a cycle.".into(),
                ));
            }
        }
        let ids: Vec<String> = submission
            .messages
            .iter()
            .map(|m| archive::meta::bare_message_id(&m.internet_message_id).to_owned())
            .collect();
        let archived = self.archive.items_with_message_ids(mailbox, &ids).await?;
        let mut by_id: HashMap<&str, Vec<&archive::MessageIdMatch>> = HashMap::new();
        for found in &archived {
            by_id
                .entry(found.message_id.as_str())
                .or_default()
                .push(found);
        }
        for (message, id) in submission.messages.iter().zip(&ids) {
            let Some(matches) = by_id.get(id.as_str()) else {
                receipt.unmatched += 1;
                continue;
            };
            let Some(&folder) = folder_ids.get(message.folder_id.as_str()) else {
                receipt.unmatched += 1;
                continue;
            };
            for found in matches {
                if found.folder_id != Some(folder) || found.deleted_in_source {
                    self.archive
                        .move_item(
                            mailbox,
                            &found.source_id,
                            &folder_source(&message.folder_id),
                            None,
                            now,
                        )
                        .await?;
                }
                if found.is_read != message.is_read {
                    self.archive
                        .set_read(mailbox, &found.source_id, message.is_read, now)
                        .await?;
                }
            }
            receipt.placed += 1;
        }
        Ok(())
    }
}
