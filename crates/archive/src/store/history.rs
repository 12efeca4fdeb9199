//! The difference of two instants, snapshots and selections: read from the interval tables.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, Archive, Result};
use crate::error::ArchiveError;
use crate::history::*;
use crate::types::*;

fn snapshot_from_row(row: &AnyRow) -> Result<Snapshot> {
    Ok(Snapshot {
        id: row.try_get("id")?,
        mailbox_id: row.try_get("mailbox_id")?,
        taken_at: Timestamp(row.try_get("taken_at")?),
        label: row.try_get("label")?,
        task_id: row.try_get("task_id")?,
        task_name: row.try_get("task_name")?,
        created_by: row.try_get("created_by")?,
        hold: row.try_get::<i64, _>("hold")? != 0,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn selection_from_row(row: &AnyRow) -> Result<Selection> {
    Ok(Selection {
        id: row.try_get("id")?,
        mailbox_id: row.try_get("mailbox_id")?,
        label: row.try_get("label")?,
        rule: row.try_get("rule")?,
        item_count: row.try_get("item_count")?,
        created_by: row.try_get("created_by")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

impl Archive {
    /// When the archive first saw anything of the mailbox (its first sync or import), if ever.
    pub async fn first_seen(&self, mailbox: MailboxId) -> Result<Option<Timestamp>> {
        let first: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(seen_from) FROM archive_folder_versions WHERE mailbox_id = $1",
        )
        .bind(mailbox)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(first.map(Timestamp))
    }

    /// Everything that differs between the mailbox at `from` and at `to`; the order of the two
    /// does not matter. Reads only the intervals that start or end between them, so its cost
    /// follows the number of changes, not the size of the mailbox.
    pub async fn difference(
        &self,
        mailbox: MailboxId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Difference> {
        let (from, to) = if from <= to { (from, to) } else { (to, from) };
        let (intervals, keys) = self.intervals_between(mailbox, from, to).await?;
        let items = item_changes(from.0, to.0, &intervals, &keys);

        let rows = sqlx::query(
            "SELECT folder_id, parent_id, name, seen_from, seen_until FROM archive_folder_versions \
             WHERE mailbox_id = $1 AND ((seen_from > $2 AND seen_from <= $3) OR (seen_until > $2 AND seen_until <= $3))",
        )
        .bind(mailbox)
        .bind(from.0)
        .bind(to.0)
        .fetch_all(&self.db.pool)
        .await?;
        let mut versions = Vec::with_capacity(rows.len());
        for row in &rows {
            versions.push(FolderVersion {
                folder_id: row.try_get("folder_id")?,
                parent_id: row.try_get("parent_id")?,
                name: row.try_get("name")?,
                from: row.try_get("seen_from")?,
                until: row.try_get("seen_until")?,
            });
        }
        Ok(Difference {
            from,
            to,
            items,
            folders: folder_changes(from.0, to.0, &versions),
        })
    }

    /// Every membership interval of the mailbox that starts or ends in (`from`, `to`], with its
    /// item's kind, and what pairs a delete with an add (Internet-Message-Id, content hash).
    async fn intervals_between(
        &self,
        mailbox: MailboxId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<Interval>, HashMap<ItemId, PairingKey>)> {
        let rows = match self.db.backend {
            database::Backend::Sqlite => self.intervals_packed(mailbox, from, to).await?,
            database::Backend::Postgres => self.interval_rows(mailbox, from, to).await?,
        };
        let mut intervals = Vec::with_capacity(rows.len());
        let mut keys = HashMap::new();
        for (interval, key) in rows {
            keys.entry(interval.item_id).or_insert(key);
            intervals.push(interval);
        }
        // An interval that both starts and ends in the range comes twice; once is enough. The
        // order is the one the pairing relies on.
        intervals.sort_by_key(|i| (i.item_id, i.from, i.folder_id));
        intervals.dedup();
        Ok((intervals, keys))
    }

    /// The intervals as rows: PostgreSQL's driver hands them over cheaply. Its planner, costing
    /// each lookup of an item as a read from disk, would rather scan every item of the archive
    /// to hash-join a month's few thousand intervals; looking each one up by its key is about
    /// twice as fast, so this query alone is told not to hash or merge.
    async fn interval_rows(
        &self,
        mailbox: MailboxId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Interval, PairingKey)>> {
        let columns =
            "m.item_id, m.folder_id, CASE WHEN m.is_read THEN 1 ELSE 0 END AS read_flag, \
            m.seen_from, m.seen_until, i.kind, i.message_id, i.blob_hash";
        let sql = format!(
            "SELECT {columns} FROM archive_memberships m JOIN archive_items i ON i.id = m.item_id \
             WHERE m.mailbox_id = $1 AND m.seen_from > $2 AND m.seen_from <= $3 \
             UNION ALL \
             SELECT {columns} FROM archive_memberships m JOIN archive_items i ON i.id = m.item_id \
             WHERE m.mailbox_id = $1 AND m.seen_until > $2 AND m.seen_until <= $3"
        );
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("SET LOCAL enable_hashjoin = off")
            .execute(&mut *tx)
            .await?;
        sqlx::query("SET LOCAL enable_mergejoin = off")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(&sql)
            .bind(mailbox)
            .bind(from.0)
            .bind(to.0)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|row| {
                let item_id: ItemId = row.try_get("item_id")?;
                let kind = ItemKind::parse(&row.try_get::<String, _>("kind")?);
                Ok((
                    Interval {
                        item_id,
                        item_kind: kind,
                        folder_id: row.try_get("folder_id")?,
                        is_read: flag(row, "read_flag")?,
                        from: row.try_get("seen_from")?,
                        until: row.try_get("seen_until")?,
                    },
                    PairingKey {
                        kind,
                        message_id: row
                            .try_get::<Option<String>, _>("message_id")?
                            .filter(|m| !m.is_empty()),
                        blob_hash: row.try_get("blob_hash")?,
                    },
                ))
            })
            .collect()
    }

    /// The intervals as one text value, a line each. SQLite's driver passes every row from its
    /// worker thread on its own, about 10 µs a row, several times what the database takes to
    /// find a month's thousands of intervals; one value crosses at once.
    async fn intervals_packed(
        &self,
        mailbox: MailboxId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Interval, PairingKey)>> {
        // Unit separator between fields, line feed between intervals: neither occurs in the
        // values (numbers, a kind word, a hex hash, a header value unfolded by the parser); the
        // Message-Id goes last all the same, so whatever it holds stays with it.
        let line = "CAST(m.item_id AS TEXT) || char(31) || CAST(m.folder_id AS TEXT) || char(31) || \
             (CASE WHEN m.is_read THEN '1' ELSE '0' END) || char(31) || CAST(m.seen_from AS TEXT) || char(31) || \
             COALESCE(CAST(m.seen_until AS TEXT), '') || char(31) || i.kind || char(31) || i.blob_hash || char(31) || \
             COALESCE(i.message_id, '') AS line";
        let sql = format!(
            "SELECT group_concat(line, char(10)) FROM (\
             SELECT {line} FROM archive_memberships m JOIN archive_items i ON i.id = m.item_id \
             WHERE m.mailbox_id = $1 AND m.seen_from > $2 AND m.seen_from <= $3 \
             UNION ALL \
             SELECT {line} FROM archive_memberships m JOIN archive_items i ON i.id = m.item_id \
             WHERE m.mailbox_id = $1 AND m.seen_until > $2 AND m.seen_until <= $3)"
        );
        let packed: Option<String> = sqlx::query_scalar(&sql)
            .bind(mailbox)
            .bind(from.0)
            .bind(to.0)
            .fetch_one(&self.db.pool)
            .await?;
        let bad = |line: &str| ArchiveError::Inconsistent(format!("unreadable interval: {line:?}"));
        packed
            .as_deref()
            .unwrap_or("")
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(|line| {
                let f: Vec<&str> = line.splitn(8, '\u{1f}').collect();
                let [item, folder, read, seen_from, seen_until, kind, hash, message_id] = f[..]
                else {
                    return Err(bad(line));
                };
                let number = |v: &str| v.parse::<i64>().map_err(|_| bad(line));
                let item_id: ItemId = number(item)?;
                let kind = ItemKind::parse(kind);
                Ok((
                    Interval {
                        item_id,
                        item_kind: kind,
                        folder_id: number(folder)?,
                        is_read: read == "1",
                        from: number(seen_from)?,
                        until: (!seen_until.is_empty())
                            .then(|| number(seen_until))
                            .transpose()?,
                    },
                    PairingKey {
                        kind,
                        message_id: (!message_id.is_empty()).then(|| message_id.to_owned()),
                        blob_hash: hash.to_owned(),
                    },
                ))
            })
            .collect()
    }

    /// One page of the difference, filtered, with the counts of the whole difference.
    pub async fn difference_page(
        &self,
        mailbox: MailboxId,
        from: Timestamp,
        to: Timestamp,
        filter: &DifferenceFilter,
    ) -> Result<DifferencePage> {
        let diff = self.difference(mailbox, from, to).await?;
        let visible: Vec<&ItemChange> = diff
            .items
            .iter()
            .filter(|c| filter.item_kinds.is_empty() || filter.item_kinds.contains(&c.item_kind))
            .collect();
        let counts = ItemChangeKind::ALL
            .into_iter()
            .map(|k| (k, visible.iter().filter(|c| c.kind == k).count()))
            .collect();
        let matching: Vec<&ItemChange> = visible
            .into_iter()
            .filter(|c| filter.kinds.is_empty() || filter.kinds.contains(&c.kind))
            .filter(|c| {
                filter
                    .folder
                    .is_none_or(|f| c.from_folder == Some(f) || c.to_folder == Some(f))
            })
            .collect();
        let page: Vec<&ItemChange> = matching
            .iter()
            .skip(filter.offset)
            .take(filter.limit.clamp(1, 1000))
            .copied()
            .collect();
        let details = self
            .items(&page.iter().map(|c| c.item_id).collect::<Vec<_>>())
            .await?;
        let mut by_id: HashMap<ItemId, ItemDetail> =
            details.into_iter().map(|d| (d.id, d)).collect();
        let rows = page
            .into_iter()
            .filter_map(|c| by_id.remove(&c.item_id).map(|d| (c.clone(), d)))
            .collect();
        Ok(DifferencePage {
            from: diff.from,
            to: diff.to,
            counts,
            folders: diff.folders,
            matching: matching.len(),
            rows,
        })
    }

    /// Goes through the write lock, as a hold does: a purge never sees half of it.
    pub async fn create_snapshot(&self, new: &NewSnapshot) -> Result<Snapshot> {
        let (mut tx, _) = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO archive_snapshots (mailbox_id, taken_at, label, task_id, task_name, created_by, hold, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(new.mailbox_id)
        .bind(new.taken_at.0)
        .bind(new.label.trim())
        .bind(new.task_id)
        .bind(&new.task_name)
        .bind(&new.created_by)
        .bind(i64::from(new.hold))
        .bind(Timestamp::now().0)
        .fetch_one(&mut *tx)
        .await?;
        let snapshot = snapshot_from_row(&row)?;
        tx.commit().await?;
        Ok(snapshot)
    }

    pub async fn snapshot(&self, id: i64) -> Result<Option<Snapshot>> {
        let row = sqlx::query("SELECT * FROM archive_snapshots WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(snapshot_from_row).transpose()
    }

    /// The mailbox's snapshots, newest instant first.
    pub async fn snapshots(&self, mailbox: MailboxId) -> Result<Vec<Snapshot>> {
        let rows = sqlx::query(
            "SELECT * FROM archive_snapshots WHERE mailbox_id = $1 ORDER BY taken_at DESC, id DESC",
        )
        .bind(mailbox)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(snapshot_from_row).collect()
    }

    /// Under the write lock: a purge running at the same time either sees the hold before it
    /// chooses what to remove, or has removed it before the hold is set.
    pub async fn set_snapshot_hold(&self, id: i64, hold: bool) -> Result<()> {
        let (mut tx, _) = self.begin_write().await?;
        sqlx::query("UPDATE archive_snapshots SET hold = $1 WHERE id = $2")
            .bind(i64::from(hold))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the row only: a snapshot holds no data of its own.
    pub async fn delete_snapshot(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM archive_snapshots WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Items that a held snapshot of the mailbox shows, so retention must keep them (and their
    /// content): every item with a membership valid at a held snapshot's instant.
    pub async fn held_items(&self, mailbox: MailboxId) -> Result<Vec<ItemId>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT m.item_id FROM archive_memberships m JOIN archive_snapshots s \
             ON s.mailbox_id = m.mailbox_id AND s.hold = 1 \
             WHERE m.mailbox_id = $1 AND m.seen_from <= s.taken_at \
             AND (m.seen_until IS NULL OR m.seen_until > s.taken_at) ORDER BY m.item_id",
        )
        .bind(mailbox)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// Stores a selection with its items (all of one mailbox), in one transaction.
    pub async fn create_selection(
        &self,
        mailbox: MailboxId,
        label: &str,
        rule: &str,
        created_by: &str,
        items: &[SelectedItem],
    ) -> Result<Selection> {
        let (mut tx, _) = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO archive_selections (mailbox_id, label, rule, item_count, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(mailbox)
        .bind(label.trim())
        .bind(rule)
        .bind(items.len() as i64)
        .bind(created_by)
        .bind(Timestamp::now().0)
        .fetch_one(&mut *tx)
        .await?;
        let selection = selection_from_row(&row)?;
        for chunk in items.chunks(super::IN_CHUNK / 3) {
            let values: Vec<String> = (0..chunk.len())
                .map(|n| format!("(${}, ${}, ${})", n * 3 + 1, n * 3 + 2, n * 3 + 3))
                .collect();
            let sql = format!(
                "INSERT INTO archive_selection_items (selection_id, item_id, folder_id) VALUES {} \
                 ON CONFLICT DO NOTHING",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for item in chunk {
                query = query
                    .bind(selection.id)
                    .bind(item.item_id)
                    .bind(item.folder_id);
            }
            query.execute(&mut *tx).await?;
        }
        let owners: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM archive_selection_items s JOIN archive_items i ON i.id = s.item_id \
             WHERE s.selection_id = $1 AND i.mailbox_id <> $2",
        )
        .bind(selection.id)
        .bind(mailbox)
        .fetch_one(&mut *tx)
        .await?;
        if owners > 0 {
            return Err(ArchiveError::Inconsistent(format!(
                "{owners} selected items are not in mailbox {mailbox}"
            )));
        }
        tx.commit().await?;
        Ok(selection)
    }

    pub async fn selection(&self, id: i64) -> Result<Option<Selection>> {
        let row = sqlx::query("SELECT * FROM archive_selections WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(selection_from_row).transpose()
    }

    pub async fn selections(&self, mailbox: MailboxId) -> Result<Vec<Selection>> {
        let rows = sqlx::query(
            "SELECT * FROM archive_selections WHERE mailbox_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(mailbox)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(selection_from_row).collect()
    }

    pub async fn selection_items(&self, id: i64) -> Result<Vec<SelectedItem>> {
        let rows = sqlx::query(
            "SELECT item_id, folder_id FROM archive_selection_items WHERE selection_id = $1 ORDER BY item_id",
        )
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SelectedItem {
                    item_id: row.try_get("item_id")?,
                    folder_id: row.try_get("folder_id")?,
                })
            })
            .collect()
    }
}
