//! Retention in SQL: the policy rows, what a purge would take, the purge itself in two steps
//! (records, then blobs no record points at), and the removals the search index follows.

use std::collections::BTreeSet;

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{placeholders, Archive, Result, IN_CHUNK};
use crate::blob::BlobHash;
use crate::retention::*;
use crate::types::*;

/// Blobs checked and deleted per write transaction of the second step.
const ORPHANS_PER_STEP: usize = 200;

/// "The item is shown by a held snapshot of its mailbox": such an item stays, however old.
const HELD: &str = "EXISTS (SELECT 1 FROM archive_memberships hm JOIN archive_snapshots hs \
    ON hs.mailbox_id = hm.mailbox_id AND hs.hold = 1 WHERE hm.item_id = i.id \
    AND hm.seen_from <= hs.taken_at AND (hm.seen_until IS NULL OR hm.seen_until > hs.taken_at))";

/// When the item left the source: the end of its last membership, NULL while one is open.
const LEFT_AT: &str =
    "(SELECT CASE WHEN COUNT(lm.seen_until) = COUNT(*) THEN MAX(lm.seen_until) END \
    FROM archive_memberships lm WHERE lm.item_id = i.id)";

/// The condition "past its keep time" for one kind under one rule, binding `$first` (mailbox),
/// `$first+1` (kind) and `$first+2` (cutoff). None when the rule keeps for ever.
fn past_keep(rule: &KeepRule, now: Timestamp, first: usize) -> Option<(String, i64)> {
    let cutoff = rule.cutoff(now)?;
    let basis = match rule.basis {
        RetentionBasis::LeftSource => format!("{LEFT_AT} < ${}", first + 2),
        RetentionBasis::Archived => format!("i.created_at < ${}", first + 2),
    };
    Some((
        format!(
            "i.mailbox_id = ${first} AND i.kind = ${} AND {basis}",
            first + 1
        ),
        cutoff.0,
    ))
}

fn kind_rule_from_row(row: &AnyRow) -> Result<KeepRule> {
    let days: Option<i64> = row.try_get("keep_days")?;
    let basis: String = row.try_get("basis")?;
    Ok(KeepRule {
        keep_days: days.and_then(|d| u32::try_from(d).ok()),
        basis: RetentionBasis::parse(&basis).unwrap_or_default(),
    })
}

/// The whole retention policy in `db`; kinds never set keep for ever. For those that need to
/// read it without a blob store (the sync scheduler's prerequisites).
pub async fn read_retention_policy(db: &database::Database) -> Result<RetentionPolicy> {
    let rows = sqlx::query(
        "SELECT mailbox_id, kind, keep_days, basis, updated_by, updated_at FROM archive_retention \
         ORDER BY mailbox_id, kind",
    )
    .fetch_all(&db.pool)
    .await?;
    policy_from_rows(&rows)
}

fn policy_from_rows(rows: &[AnyRow]) -> Result<RetentionPolicy> {
    let mut policy = RetentionPolicy {
        default: KindRules::FOREVER,
        default_changed: None,
        overrides: Vec::new(),
    };
    let mut overrides: Vec<MailboxOverride> = Vec::new();
    for row in rows {
        let mailbox: Option<i64> = row.try_get("mailbox_id")?;
        let kind = ItemKind::parse(&row.try_get::<String, _>("kind")?);
        let rule = kind_rule_from_row(row)?;
        let by: String = row.try_get("updated_by")?;
        let at = Timestamp(row.try_get("updated_at")?);
        match mailbox {
            None => {
                policy.default.set(kind, rule);
                if policy.default_changed.as_ref().is_none_or(|(_, t)| *t < at) {
                    policy.default_changed = Some((by, at));
                }
            }
            Some(mailbox_id) => {
                let entry = match overrides
                    .iter_mut()
                    .position(|o| o.mailbox_id == mailbox_id)
                {
                    Some(n) => &mut overrides[n],
                    None => {
                        overrides.push(MailboxOverride {
                            mailbox_id,
                            mail: None,
                            calendar: None,
                            contacts: None,
                            updated_by: by.clone(),
                            updated_at: at,
                        });
                        let last = overrides.len() - 1;
                        &mut overrides[last]
                    }
                };
                match kind {
                    ItemKind::Message => entry.mail = Some(rule),
                    ItemKind::Calendar => entry.calendar = Some(rule),
                    ItemKind::Contact => entry.contacts = Some(rule),
                }
                if entry.updated_at < at {
                    entry.updated_at = at;
                    entry.updated_by = by;
                }
            }
        }
    }
    policy.overrides = overrides;
    Ok(policy)
}

impl Archive {
    /// The whole policy; kinds never set keep for ever.
    pub async fn retention_policy(&self) -> Result<RetentionPolicy> {
        read_retention_policy(&self.db).await
    }

    /// Changes the default or one mailbox's rules. Mail must stay at least as long as `floors`
    /// says (the sync tasks that need it); a shorter keep time is refused with their reason.
    pub async fn set_retention(
        &self,
        change: &RetentionChange,
        by: &str,
        floors: &dyn RetentionFloors,
    ) -> Result<RetentionPolicy> {
        let (mailbox, rules): (Option<MailboxId>, [(ItemKind, Option<KeepRule>); 3]) = match change
        {
            RetentionChange::Default(r) => (
                None,
                [
                    (ItemKind::Message, Some(r.mail)),
                    (ItemKind::Calendar, Some(r.calendar)),
                    (ItemKind::Contact, Some(r.contacts)),
                ],
            ),
            RetentionChange::Mailbox {
                mailbox_id,
                mail,
                calendar,
                contacts,
            } => {
                if self.mailbox(*mailbox_id).await?.is_none() {
                    return Err(crate::ArchiveError::UnknownMailbox(*mailbox_id));
                }
                (
                    Some(*mailbox_id),
                    [
                        (ItemKind::Message, *mail),
                        (ItemKind::Calendar, *calendar),
                        (ItemKind::Contact, *contacts),
                    ],
                )
            }
        };
        for (_, rule) in &rules {
            if let Some(rule) = rule {
                check_rule(rule)?;
            }
        }
        // The mail rule that would apply: a mailbox without its own follows the default, which
        // a floor may also cover.
        let mail_rule = match rules[0].1 {
            Some(rule) => Some(rule),
            None if mailbox.is_some() => None,
            None => Some(KeepRule::FOREVER),
        };
        if let Some(rule) = mail_rule {
            let floor = floors
                .floor(mailbox)
                .await
                .map_err(crate::ArchiveError::Inconsistent)?;
            if let Some(floor) = floor {
                if !rule.keeps_at_least(floor.days) {
                    return Err(RetentionRefusal::BelowFloor { floor }.into());
                }
            }
        }
        let now = Timestamp::now();
        let (mut tx, _) = self.begin_write().await?;
        for (kind, rule) in rules {
            let key = mailbox.unwrap_or(-1);
            sqlx::query(
                "DELETE FROM archive_retention WHERE COALESCE(mailbox_id, -1) = $1 AND kind = $2",
            )
            .bind(key)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?;
            if let Some(rule) = rule {
                sqlx::query(
                    "INSERT INTO archive_retention (mailbox_id, kind, keep_days, basis, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(mailbox)
                .bind(kind.as_str())
                .bind(rule.keep_days.map(i64::from))
                .bind(rule.basis.as_str())
                .bind(by)
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.retention_policy().await
    }

    /// A dry run for one mailbox: how much would go under `rules` at `now`, how much is kept
    /// only because a held snapshot shows it, and the first `limit` items that would go (oldest
    /// archived first).
    pub async fn purge_preview(
        &self,
        mailbox: MailboxId,
        rules: &KindRules,
        now: Timestamp,
        limit: u32,
    ) -> Result<(PurgeCount, Vec<PurgeCandidate>)> {
        let mut count = PurgeCount::default();
        let mut listed = Vec::new();
        for kind in ALL_KINDS {
            let Some((past, cutoff)) = past_keep(&rules.of(kind), now, 1) else {
                continue;
            };
            let sql = format!(
                "SELECT held, COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes FROM \
                 (SELECT i.size, CASE WHEN {HELD} THEN 1 ELSE 0 END AS held FROM archive_items i WHERE {past}) c \
                 GROUP BY held"
            );
            let rows = sqlx::query(&sql)
                .bind(mailbox)
                .bind(kind.as_str())
                .bind(cutoff)
                .fetch_all(&self.db.pool)
                .await?;
            for row in rows {
                let held: i64 = row.try_get("held")?;
                let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
                if held != 0 {
                    count.held += n;
                } else {
                    count.add_kind(kind, n);
                    count.bytes += u64::try_from(row.try_get::<i64, _>("bytes")?).unwrap_or(0);
                }
            }
            let sql = format!(
                "SELECT i.id, i.kind, i.subject, i.size, i.sent_at, i.created_at, {LEFT_AT} AS left_at \
                 FROM archive_items i WHERE {past} AND NOT {HELD} ORDER BY i.created_at, i.id LIMIT $4"
            );
            let rows = sqlx::query(&sql)
                .bind(mailbox)
                .bind(kind.as_str())
                .bind(cutoff)
                .bind(i64::from(limit))
                .fetch_all(&self.db.pool)
                .await?;
            for row in rows {
                listed.push(PurgeCandidate {
                    id: row.try_get("id")?,
                    kind,
                    subject: row.try_get("subject")?,
                    size: row.try_get("size")?,
                    date: Timestamp(row.try_get("sent_at")?),
                    left_at: row.try_get::<Option<i64>, _>("left_at")?.map(Timestamp),
                    archived_at: Timestamp(row.try_get("created_at")?),
                });
            }
        }
        listed.sort_by_key(|c| (c.archived_at, c.id));
        listed.truncate(limit as usize);
        Ok((count, listed))
    }

    /// Removes up to `batch` items of the mailbox that are past their keep time and not held,
    /// in one write transaction: their memberships, selection entries and records. Blobs whose
    /// last record went are listed for [`Archive::collect_orphans`]. Returns nothing removed
    /// once no such item is left.
    pub async fn purge_step(
        &self,
        mailbox: MailboxId,
        rules: &KindRules,
        now: Timestamp,
        batch: u32,
    ) -> Result<Purged> {
        let (mut tx, seq) = self.begin_write().await?;
        // Chosen under the write lock: a hold or a sync change made meanwhile is either seen
        // here or waits until this step is done.
        let mut chosen: Vec<(ItemId, ItemKind, i64, String, String, Option<String>)> = Vec::new();
        for kind in ALL_KINDS {
            let room = i64::from(batch) - chosen.len() as i64;
            if room <= 0 {
                break;
            }
            let Some((past, cutoff)) = past_keep(&rules.of(kind), now, 1) else {
                continue;
            };
            let sql = format!(
                "SELECT i.id, i.size, i.source_id, i.blob_hash, i.properties_hash FROM archive_items i \
                 WHERE {past} AND NOT {HELD} ORDER BY i.id LIMIT $4"
            );
            let rows = sqlx::query(&sql)
                .bind(mailbox)
                .bind(kind.as_str())
                .bind(cutoff)
                .bind(room)
                .fetch_all(&mut *tx)
                .await?;
            for row in rows {
                chosen.push((
                    row.try_get("id")?,
                    kind,
                    row.try_get("size")?,
                    row.try_get("source_id")?,
                    row.try_get("blob_hash")?,
                    row.try_get("properties_hash")?,
                ));
            }
        }
        let mut purged = Purged::default();
        if chosen.is_empty() {
            tx.commit().await?;
            return Ok(purged);
        }
        let ids: Vec<ItemId> = chosen.iter().map(|c| c.0).collect();
        let mut hashes = BTreeSet::new();
        for (_, kind, size, source_id, blob, properties) in &chosen {
            purged.count.add_kind(*kind, 1);
            purged.count.bytes += u64::try_from(*size).unwrap_or(0);
            purged.source_ids.push(source_id.clone());
            hashes.insert(blob.clone());
            if let Some(p) = properties {
                hashes.insert(p.clone());
            }
        }
        for chunk in ids.chunks(IN_CHUNK) {
            Self::remove_records(&mut tx, chunk, mailbox, seq).await?;
        }
        let hashes: Vec<String> = hashes.into_iter().collect();
        let referenced = Self::referenced_among(&mut tx, &hashes).await?;
        let now_micros = Timestamp::now().0;
        for hash in hashes.iter().filter(|h| !referenced.contains(*h)) {
            sqlx::query(
                "INSERT INTO archive_blob_orphans (hash, marked_at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
            )
            .bind(hash)
            .bind(now_micros)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(purged)
    }

    async fn remove_records(
        tx: &mut Transaction<'static, Any>,
        ids: &[ItemId],
        mailbox: MailboxId,
        seq: i64,
    ) -> Result<()> {
        let list = placeholders(1, ids.len());
        let selections: Vec<i64> = {
            let sql = format!(
                "SELECT DISTINCT selection_id FROM archive_selection_items WHERE item_id IN ({list})"
            );
            let mut q = sqlx::query_scalar(&sql);
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(&mut **tx).await?
        };
        for table in [
            "archive_selection_items",
            "archive_memberships",
            "archive_items",
        ] {
            let column = if table == "archive_items" {
                "id"
            } else {
                "item_id"
            };
            let sql = format!("DELETE FROM {table} WHERE {column} IN ({list})");
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(*id);
            }
            q.execute(&mut **tx).await?;
        }
        // A selection says how many items it holds; it holds fewer now.
        for selection in selections {
            sqlx::query(
                "UPDATE archive_selections SET item_count = \
                 (SELECT COUNT(*) FROM archive_selection_items WHERE selection_id = $1) WHERE id = $2",
            )
            .bind(selection)
            .bind(selection)
            .execute(&mut **tx)
            .await?;
        }
        let removed_at = Timestamp::now().0;
        for chunk in ids.chunks(100) {
            let values: Vec<String> = (0..chunk.len())
                .map(|n| format!("(${}, $1, $2, $3)", n + 4))
                .collect();
            let sql = format!(
                "INSERT INTO archive_item_removals (item_id, mailbox_id, change_seq, removed_at) VALUES {}",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(mailbox).bind(seq).bind(removed_at);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Of these blob addresses, the ones some record (its content or its properties) points at.
    async fn referenced_among(
        tx: &mut Transaction<'static, Any>,
        hashes: &[String],
    ) -> Result<BTreeSet<String>> {
        let mut found = BTreeSet::new();
        for chunk in hashes.chunks(IN_CHUNK) {
            let list = placeholders(1, chunk.len());
            for column in ["blob_hash", "properties_hash"] {
                let sql = format!(
                    "SELECT DISTINCT {column} FROM archive_items WHERE {column} IN ({list})"
                );
                let mut q = sqlx::query_scalar::<_, String>(&sql);
                for hash in chunk {
                    q = q.bind(hash);
                }
                found.extend(q.fetch_all(&mut **tx).await?);
            }
        }
        Ok(found)
    }

    /// The second step of a purge: deletes the blobs that purged records left behind, unless a
    /// record points at one again. Each deletion happens under the write lock and is logged with
    /// its change number, which a writer that found the blob present before its transaction
    /// checks (see `put_items`). Returns how many blobs were deleted.
    pub async fn collect_orphans(&self) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let (mut tx, seq) = self.begin_write().await?;
            let orphans: Vec<String> =
                sqlx::query_scalar("SELECT hash FROM archive_blob_orphans ORDER BY hash LIMIT $1")
                    .bind(ORPHANS_PER_STEP as i64)
                    .fetch_all(&mut *tx)
                    .await?;
            if orphans.is_empty() {
                tx.commit().await?;
                return Ok(deleted);
            }
            let referenced = Self::referenced_among(&mut tx, &orphans).await?;
            for hash in &orphans {
                if !referenced.contains(hash) {
                    if let Ok(address) = BlobHash::parse(hash) {
                        self.blobs.delete(&address).await?;
                        deleted += 1;
                    }
                    sqlx::query(
                        "INSERT INTO archive_blob_deletions (hash, change_seq) VALUES ($1, $2) \
                         ON CONFLICT (hash) DO UPDATE SET change_seq = excluded.change_seq",
                    )
                    .bind(hash)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM archive_blob_orphans WHERE hash = $1")
                    .bind(hash)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
    }

    /// Of these blobs, the ones deleted after change `since`: a writer that saw them present
    /// before then must write them again. Called inside the writer's transaction.
    pub(super) async fn deleted_since(
        tx: &mut Transaction<'static, Any>,
        since: i64,
        hashes: &[&BlobHash],
    ) -> Result<BTreeSet<String>> {
        let mut gone = BTreeSet::new();
        for chunk in hashes.chunks(IN_CHUNK) {
            let list = placeholders(2, chunk.len());
            let sql = format!(
                "SELECT hash FROM archive_blob_deletions WHERE change_seq > $1 AND hash IN ({list})"
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql).bind(since);
            for hash in chunk {
                q = q.bind(hash.as_str());
            }
            gone.extend(q.fetch_all(&mut **tx).await?);
        }
        Ok(gone)
    }

    /// Items removed by purges after `after`, in change order, each with its own cursor.
    pub async fn removals_since(
        &self,
        after: ChangeCursor,
        limit: u32,
    ) -> Result<Vec<ChangeCursor>> {
        let rows = sqlx::query(
            "SELECT change_seq, item_id FROM archive_item_removals WHERE change_seq > $1 \
             OR (change_seq = $2 AND item_id > $3) ORDER BY change_seq, item_id LIMIT $4",
        )
        .bind(after.seq)
        .bind(after.seq)
        .bind(after.item_id)
        .bind(i64::from(limit))
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ChangeCursor {
                    seq: row.try_get("change_seq")?,
                    item_id: row.try_get("item_id")?,
                })
            })
            .collect()
    }
}
