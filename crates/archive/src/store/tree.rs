//! The folder tree with counts, now (the counts the database keeps, `archive_folder_counts`)
//! or as of an instant (counted from the memberships valid then).

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{valid_at, Archive, Result};
use crate::types::*;

/// A count column: SUM is NUMERIC in PostgreSQL for some inputs, so it is read leniently.
fn count(row: &AnyRow, column: &str) -> Result<i64> {
    Ok(row
        .try_get::<i64, _>(column)
        .or_else(|_| row.try_get::<f64, _>(column).map(|f| f as i64))?)
}

impl Archive {
    /// The folder tree with total and unread counts, now (`None`) or as it was at an instant.
    /// Folders come in tree order (parents before children, siblings by name).
    pub async fn folder_tree(
        &self,
        mailbox: MailboxId,
        as_of: Option<Timestamp>,
    ) -> Result<Vec<FolderNode>> {
        let (cond, binds) = valid_at("v", as_of, 2);
        let sql = format!(
            "SELECT v.folder_id, v.parent_id, v.name, f.source_id, f.kind FROM archive_folder_versions v \
             JOIN archive_folders f ON f.id = v.folder_id WHERE v.mailbox_id = $1 AND {cond}"
        );
        let mut query = sqlx::query(&sql).bind(mailbox);
        for b in &binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(&self.db.pool).await?;

        let counted = match as_of {
            // Kept by the database in the same transaction as every membership change.
            None => sqlx::query(
                "SELECT folder_id, total, unread FROM archive_folder_counts WHERE mailbox_id = $1",
            )
            .bind(mailbox)
            .fetch_all(&self.db.pool)
            .await?,
            Some(_) => {
                let (mcond, mbinds) = valid_at("m", as_of, 2);
                let sql = format!(
                    "SELECT m.folder_id, COUNT(*) AS total, SUM(CASE WHEN m.is_read THEN 0 ELSE 1 END) AS unread \
                     FROM archive_memberships m WHERE m.mailbox_id = $1 AND {mcond} GROUP BY m.folder_id"
                );
                let mut query = sqlx::query(&sql).bind(mailbox);
                for b in &mbinds {
                    query = query.bind(*b);
                }
                query.fetch_all(&self.db.pool).await?
            }
        };
        let mut counts = HashMap::new();
        for row in &counted {
            let folder: i64 = row.try_get("folder_id")?;
            counts.insert(folder, (count(row, "total")?, count(row, "unread")?));
        }

        let mut nodes: HashMap<FolderId, FolderNode> = HashMap::new();
        for row in &rows {
            let id: i64 = row.try_get("folder_id")?;
            let (total, unread) = counts.get(&id).copied().unwrap_or((0, 0));
            nodes.insert(
                id,
                FolderNode {
                    id,
                    source_id: row.try_get("source_id")?,
                    parent_id: row.try_get("parent_id")?,
                    name: row.try_get("name")?,
                    kind: FolderKind::parse(&row.try_get::<String, _>("kind")?),
                    path: Vec::new(),
                    total,
                    unread,
                },
            );
        }
        let parents: HashMap<FolderId, (Option<FolderId>, String)> = nodes
            .iter()
            .map(|(id, n)| (*id, (n.parent_id, n.name.clone())))
            .collect();
        for node in nodes.values_mut() {
            let mut path = vec![node.name.clone()];
            let mut parent = node.parent_id;
            // A parent that is not visible at this instant makes the folder a root; the depth
            // bound guards against a cycle in bad data.
            while let Some(p) = parent {
                match parents.get(&p) {
                    Some((pp, name)) if path.len() < 64 => {
                        path.push(name.clone());
                        parent = *pp;
                    }
                    _ => break,
                }
            }
            path.reverse();
            node.path = path;
            if node.parent_id.is_some_and(|p| !parents.contains_key(&p)) {
                node.parent_id = None;
            }
        }
        let mut list: Vec<FolderNode> = nodes.into_values().collect();
        list.sort_by(|a, b| {
            let ka: Vec<String> = a.path.iter().map(|s| s.to_lowercase()).collect();
            let kb: Vec<String> = b.path.iter().map(|s| s.to_lowercase()).collect();
            ka.cmp(&kb).then(a.id.cmp(&b.id))
        });
        Ok(list)
    }

    /// Folder ids, in the given mailboxes, that have (or ever had) this name, case-insensitively.
    /// A path like `Projects/2024` matches on the full path as it is now.
    pub async fn folders_named(
        &self,
        mailboxes: &[MailboxId],
        name: &str,
    ) -> Result<Vec<FolderId>> {
        let wanted = name.trim().trim_matches('/').to_lowercase();
        let mut ids = Vec::new();
        for &mailbox in mailboxes {
            let rows = sqlx::query("SELECT DISTINCT folder_id, name FROM archive_folder_versions WHERE mailbox_id = $1")
                .bind(mailbox)
                .fetch_all(&self.db.pool)
                .await?;
            for row in rows {
                let n: String = row.try_get("name")?;
                if n.to_lowercase() == wanted {
                    ids.push(row.try_get("folder_id")?);
                }
            }
            if wanted.contains('/') {
                for node in self.folder_tree(mailbox, None).await? {
                    if node.path.join("/").to_lowercase() == wanted {
                        ids.push(node.id);
                    }
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

impl Archive {
    /// Every folder the mailbox ever had, with its path as last seen (now for a folder that
    /// still exists, just before it went for one deleted): where an export files an item that
    /// was chosen while its folder existed.
    pub async fn folder_paths(&self, mailbox: MailboxId) -> Result<HashMap<FolderId, Vec<String>>> {
        let rows = sqlx::query(
            "SELECT folder_id, parent_id, name FROM archive_folder_versions \
             WHERE mailbox_id = $1 ORDER BY seen_from",
        )
        .bind(mailbox)
        .fetch_all(&self.db.pool)
        .await?;
        let mut last: HashMap<FolderId, (Option<FolderId>, String)> = HashMap::new();
        for row in &rows {
            last.insert(
                row.try_get("folder_id")?,
                (row.try_get("parent_id")?, row.try_get("name")?),
            );
        }
        let mut out = HashMap::with_capacity(last.len());
        for id in last.keys() {
            let mut path = Vec::new();
            let mut at = Some(*id);
            // A parent chain longer than the folder count is a cycle in damaged data: stop.
            while let Some(folder) = at {
                let Some((parent, name)) = last.get(&folder) else {
                    break;
                };
                path.push(name.clone());
                if path.len() > last.len() {
                    break;
                }
                at = *parent;
            }
            path.reverse();
            out.insert(*id, path);
        }
        Ok(out)
    }
}
