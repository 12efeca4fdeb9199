//! Server connections, sync tasks, task mailboxes and run history in SQL (`0200_sync.sql`).

use std::sync::Arc;

use archive::Timestamp;
use database::Database;
use mailsync::{EwsConfig, EwsSource, GraphConfig, GraphSource, MailboxSource};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::crypto::SecretBox;
use crate::error::{is_unique_violation, Result, SyncerError};
use crate::types::*;

/// Connections, tasks, mailbox status and history. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SyncStore {
    db: Database,
    secrets: SecretBox,
}

/// A mailbox a worker holds the lease of, with what its run needs.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub task_mailbox_id: i64,
    pub task_id: i64,
    pub address: String,
    pub connection_id: i64,
    pub what: SyncWhat,
    pub runs_per_day: u32,
}

const CONNECTION_COLUMNS: &str =
    "c.id, c.name, c.kind, c.ews_url, c.ews_username, c.graph_tenant, \
    c.graph_client_id, c.graph_endpoint, c.token_endpoint, \
    CASE WHEN c.secret_sealed IS NULL THEN 0 ELSE 1 END AS has_secret, c.created_at, c.updated_at, \
    (SELECT COUNT(*) FROM sync_tasks t WHERE t.connection_id = c.id) AS task_count";

const TASK_COLUMNS: &str =
    "t.id, t.name, t.connection_id, c.name AS connection_name, t.sync_mail, \
    t.sync_calendar, t.sync_contacts, t.runs_per_day, t.enabled, t.created_at, \
    (SELECT COUNT(*) FROM sync_task_mailboxes m WHERE m.task_id = t.id) AS mailbox_count";

const MAILBOX_COLUMNS: &str = "id, task_id, address, status, reason, last_started_at, \
    last_finished_at, last_counts, next_run_at, claimed_until";

const RUN_COLUMNS: &str = "id, task_id, address, started_at, finished_at, status, counts, \
    requests, throttled, error";

fn text(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<Option<String>, _>(col)?.unwrap_or_default())
}

fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

fn opt_time(row: &AnyRow, col: &str) -> Result<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp))
}

fn non_empty(what: &str, v: &str) -> Result<String> {
    let v = v.trim();
    if v.is_empty() {
        return Err(SyncerError::Invalid(format!("{what} must not be empty")));
    }
    Ok(v.to_string())
}

fn http_url(what: &str, v: &str) -> Result<String> {
    let v = non_empty(what, v)?;
    match reqwest::Url::parse(&v) {
        Ok(u) if (u.scheme() == "https" || u.scheme() == "http") && u.host_str().is_some() => Ok(v),
        _ => Err(SyncerError::Invalid(format!(
            "{what} must be an http(s) URL, got `{v}`"
        ))),
    }
}

fn clean_settings(s: &ConnectionSettings) -> Result<ConnectionSettings> {
    Ok(match s {
        ConnectionSettings::Ews { url, username } => ConnectionSettings::Ews {
            url: http_url("EWS URL", url)?,
            username: non_empty("service account", username)?,
        },
        ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint,
            token_endpoint,
        } => ConnectionSettings::Graph {
            tenant_id: non_empty("tenant id", tenant_id)?,
            client_id: non_empty("client id", client_id)?,
            graph_endpoint: graph_endpoint
                .as_deref()
                .filter(|u| !u.trim().is_empty())
                .map(|u| http_url("Graph endpoint", u).map(|u| u.trim_end_matches('/').to_string()))
                .transpose()?,
            token_endpoint: token_endpoint
                .as_deref()
                .filter(|u| !u.trim().is_empty())
                .map(|u| http_url("token endpoint", u))
                .transpose()?,
        },
    })
}

/// Addresses compare case-insensitively everywhere (archive mailbox names are lower case).
pub(crate) fn clean_address(a: &str) -> Result<String> {
    let a = a.trim().to_ascii_lowercase();
    let valid = a
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !a.contains(char::is_whitespace));
    if !valid {
        return Err(SyncerError::Invalid(format!("`{a}` is not a mail address")));
    }
    Ok(a)
}

fn connection_from_row(row: &AnyRow) -> Result<ConnectionView> {
    let kind = text(row, "kind")?;
    let settings = match kind.as_str() {
        "ews" => ConnectionSettings::Ews {
            url: text(row, "ews_url")?,
            username: text(row, "ews_username")?,
        },
        "graph" => ConnectionSettings::Graph {
            tenant_id: text(row, "graph_tenant")?,
            client_id: text(row, "graph_client_id")?,
            graph_endpoint: opt_text(row, "graph_endpoint")?,
            token_endpoint: opt_text(row, "token_endpoint")?,
        },
        other => {
            return Err(SyncerError::Inconsistent(format!(
                "connection kind `{other}`"
            )))
        }
    };
    Ok(ConnectionView {
        id: row.try_get("id")?,
        name: text(row, "name")?,
        kind: settings.kind(),
        settings,
        has_secret: flag(row, "has_secret")?,
        task_count: row.try_get("task_count")?,
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

fn task_from_row(row: &AnyRow) -> Result<TaskView> {
    Ok(TaskView {
        id: row.try_get("id")?,
        name: text(row, "name")?,
        connection_id: row.try_get("connection_id")?,
        connection_name: text(row, "connection_name")?,
        what: SyncWhat {
            mail: flag(row, "sync_mail")?,
            calendar: flag(row, "sync_calendar")?,
            contacts: flag(row, "sync_contacts")?,
        },
        runs_per_day: u32::try_from(row.try_get::<i64, _>("runs_per_day")?).unwrap_or(1),
        enabled: flag(row, "enabled")?,
        mailbox_count: row.try_get("mailbox_count")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn mailbox_from_row(row: &AnyRow, now: Timestamp) -> Result<TaskMailboxView> {
    let counts = opt_text(row, "last_counts")?.and_then(|c| serde_json::from_str(&c).ok());
    Ok(TaskMailboxView {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        address: text(row, "address")?,
        status: MailboxSyncStatus::parse(&text(row, "status")?),
        reason: opt_text(row, "reason")?,
        last_started_at: opt_time(row, "last_started_at")?,
        last_finished_at: opt_time(row, "last_finished_at")?,
        last_counts: counts,
        next_run_at: opt_time(row, "next_run_at")?,
        running: opt_time(row, "claimed_until")?.is_some_and(|t| t > now),
    })
}

fn run_from_row(row: &AnyRow) -> Result<RunRecord> {
    Ok(RunRecord {
        id: row.try_get("id")?,
        task_id: row.try_get("task_id")?,
        address: text(row, "address")?,
        started_at: Timestamp(row.try_get("started_at")?),
        finished_at: Timestamp(row.try_get("finished_at")?),
        status: MailboxSyncStatus::parse(&text(row, "status")?),
        counts: serde_json::from_str(&text(row, "counts")?).unwrap_or_default(),
        requests: u64::try_from(row.try_get::<i64, _>("requests")?).unwrap_or(0),
        throttled: u64::try_from(row.try_get::<i64, _>("throttled")?).unwrap_or(0),
        error: opt_text(row, "error")?,
    })
}

fn b(v: bool) -> i64 {
    i64::from(v)
}

fn clamp_runs(n: u32) -> Result<i64> {
    if !(1..=1440).contains(&n) {
        return Err(SyncerError::Invalid(format!(
            "runs per day must be between 1 and 1440, got {n}"
        )));
    }
    Ok(i64::from(n))
}

impl SyncStore {
    /// `secrets_key` seals connection secrets; the server keeps it outside the database.
    pub fn new(db: Database, secrets_key: [u8; 32]) -> SyncStore {
        SyncStore {
            db,
            secrets: SecretBox::new(secrets_key),
        }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    // ---- connections ----

    pub async fn create_connection(&self, new: &NewConnection) -> Result<ConnectionView> {
        let name = non_empty("connection name", &new.name)?;
        let settings = clean_settings(&new.settings)?;
        let secret = non_empty("secret", &new.secret)?;
        let sealed = self.secrets.seal(&secret)?;
        let now = Timestamp::now().0;
        let (ews_url, ews_user, tenant, client, graph_ep, token_ep) = settings_columns(&settings);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_connections (name, kind, ews_url, ews_username, graph_tenant, graph_client_id, \
             graph_endpoint, token_endpoint, secret_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&name)
        .bind(settings.kind().as_str())
        .bind(ews_url)
        .bind(ews_user)
        .bind(tenant)
        .bind(client)
        .bind(graph_ep)
        .bind(token_ep)
        .bind(sealed)
        .bind(now)
        .bind(now)
        .fetch_one(&self.db.pool)
        .await
        .map_err(|e| taken(e, "connection", &name))?;
        self.connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))
    }

    pub async fn update_connection(
        &self,
        id: i64,
        update: &ConnectionUpdate,
    ) -> Result<ConnectionView> {
        let current = self
            .connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))?;
        let name = match &update.name {
            Some(n) => non_empty("connection name", n)?,
            None => current.name.clone(),
        };
        let settings = match &update.settings {
            Some(s) => clean_settings(s)?,
            None => current.settings.clone(),
        };
        let (ews_url, ews_user, tenant, client, graph_ep, token_ep) = settings_columns(&settings);
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE sync_connections SET name = $1, kind = $2, ews_url = $3, ews_username = $4, \
             graph_tenant = $5, graph_client_id = $6, graph_endpoint = $7, token_endpoint = $8, \
             updated_at = $9 WHERE id = $10",
        )
        .bind(&name)
        .bind(settings.kind().as_str())
        .bind(ews_url)
        .bind(ews_user)
        .bind(tenant)
        .bind(client)
        .bind(graph_ep)
        .bind(token_ep)
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| taken(e, "connection", &name))?;
        if let Some(secret) = &update.secret {
            let sealed = self.secrets.seal(&non_empty("secret", secret)?)?;
            sqlx::query("UPDATE sync_connections SET secret_sealed = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))
    }

    /// Refused while a task uses the connection.
    pub async fn delete_connection(&self, id: i64) -> Result<()> {
        let used: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sync_tasks WHERE connection_id = $1")
                .bind(id)
                .fetch_one(&self.db.pool)
                .await?;
        if used > 0 {
            return Err(SyncerError::ConnectionInUse(id));
        }
        let done = sqlx::query("DELETE FROM sync_connections WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(SyncerError::UnknownConnection(id));
        }
        Ok(())
    }

    pub async fn list_connections(&self) -> Result<Vec<ConnectionView>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM sync_connections c ORDER BY c.name");
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        rows.iter().map(connection_from_row).collect()
    }

    pub async fn connection(&self, id: i64) -> Result<Option<ConnectionView>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM sync_connections c WHERE c.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    /// The decrypted secret: only for building a connector, never for a view.
    pub(crate) async fn connection_secret(&self, id: i64) -> Result<String> {
        let sealed: Option<Option<String>> =
            sqlx::query_scalar("SELECT secret_sealed FROM sync_connections WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
        match sealed {
            None => Err(SyncerError::UnknownConnection(id)),
            Some(None) => Err(SyncerError::NoSecret(id)),
            Some(Some(s)) => self.secrets.open(&s),
        }
    }

    /// A connector for the connection, ready to sync or restore through.
    pub async fn source_for(&self, id: i64) -> Result<Arc<dyn MailboxSource>> {
        let view = self
            .connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))?;
        let secret = self.connection_secret(id).await?;
        Ok(build_source(&view.settings, &secret, None)?)
    }

    // ---- tasks ----

    pub async fn create_task(&self, new: &NewTask) -> Result<TaskView> {
        let name = non_empty("task name", &new.name)?;
        let runs = clamp_runs(new.runs_per_day)?;
        if self.connection(new.connection_id).await?.is_none() {
            return Err(SyncerError::UnknownConnection(new.connection_id));
        }
        let now = Timestamp::now().0;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_tasks (name, connection_id, sync_mail, sync_calendar, sync_contacts, \
             runs_per_day, enabled, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&name)
        .bind(new.connection_id)
        .bind(b(new.what.mail))
        .bind(b(new.what.calendar))
        .bind(b(new.what.contacts))
        .bind(runs)
        .bind(b(new.enabled))
        .bind(now)
        .bind(now)
        .fetch_one(&self.db.pool)
        .await
        .map_err(|e| taken(e, "sync task", &name))?;
        self.task(id).await?.ok_or(SyncerError::UnknownTask(id))
    }

    pub async fn update_task(&self, id: i64, update: &TaskUpdate) -> Result<TaskView> {
        let current = self.task(id).await?.ok_or(SyncerError::UnknownTask(id))?;
        let name = match &update.name {
            Some(n) => non_empty("task name", n)?,
            None => current.name.clone(),
        };
        let connection_id = update.connection_id.unwrap_or(current.connection_id);
        if connection_id != current.connection_id && self.connection(connection_id).await?.is_none()
        {
            return Err(SyncerError::UnknownConnection(connection_id));
        }
        let what = update.what.unwrap_or(current.what);
        let runs = update.runs_per_day.unwrap_or(current.runs_per_day);
        let enabled = update.enabled.unwrap_or(current.enabled);
        let now = Timestamp::now();
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE sync_tasks SET name = $1, connection_id = $2, sync_mail = $3, sync_calendar = $4, \
             sync_contacts = $5, runs_per_day = $6, enabled = $7, updated_at = $8 WHERE id = $9",
        )
        .bind(&name)
        .bind(connection_id)
        .bind(b(what.mail))
        .bind(b(what.calendar))
        .bind(b(what.contacts))
        .bind(clamp_runs(runs)?)
        .bind(b(enabled))
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| taken(e, "sync task", &name))?;
        if runs != current.runs_per_day {
            // The old slots no longer exist: move every scheduled (not running, not requested
            // sooner) mailbox to its first slot of the new schedule.
            let rows = sqlx::query(
                "SELECT id, address, next_run_at FROM sync_task_mailboxes WHERE task_id = $1 AND next_run_at > $2",
            )
            .bind(id)
            .bind(now.0)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let mid: i64 = row.try_get("id")?;
                let address = text(&row, "address")?;
                let next = crate::service::next_run(id, &address, runs, now);
                sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE id = $2")
                    .bind(next.0)
                    .bind(mid)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.task(id).await?.ok_or(SyncerError::UnknownTask(id))
    }

    /// Removes the task with its mailboxes' status and history; archived content stays.
    pub async fn delete_task(&self, id: i64) -> Result<()> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM sync_runs WHERE task_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sync_task_mailboxes WHERE task_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM sync_tasks WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(SyncerError::UnknownTask(id));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_tasks(&self) -> Result<Vec<TaskView>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM sync_tasks t JOIN sync_connections c ON c.id = t.connection_id ORDER BY t.name"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        rows.iter().map(task_from_row).collect()
    }

    pub async fn task(&self, id: i64) -> Result<Option<TaskView>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM sync_tasks t JOIN sync_connections c ON c.id = t.connection_id WHERE t.id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    // ---- task mailboxes ----

    /// Adds mailboxes (addresses, case-insensitive); ones already in the task are left alone.
    /// New mailboxes are due at once: their first sync should not wait for a slot.
    /// Returns how many were added.
    pub async fn add_mailboxes(&self, task: i64, addresses: &[String]) -> Result<u64> {
        if self.task(task).await?.is_none() {
            return Err(SyncerError::UnknownTask(task));
        }
        let clean: Vec<String> = addresses
            .iter()
            .map(|a| clean_address(a))
            .collect::<Result<_>>()?;
        let now = Timestamp::now().0;
        let mut tx = self.db.pool.begin().await?;
        let mut added = 0;
        for address in clean {
            let done = sqlx::query(
                "INSERT INTO sync_task_mailboxes (task_id, address, status, next_run_at, created_at) \
                 VALUES ($1, $2, 'pending', $3, $4) ON CONFLICT (task_id, address) DO NOTHING",
            )
            .bind(task)
            .bind(&address)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            added += done.rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Stops syncing the mailbox in this task (its history goes too; the archive keeps its mail).
    pub async fn remove_mailbox(&self, task: i64, address: &str) -> Result<()> {
        let address = address.trim().to_ascii_lowercase();
        let id = self.task_mailbox_id(task, &address).await?;
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM sync_runs WHERE task_mailbox_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sync_task_mailboxes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn task_mailbox_id(&self, task: i64, address: &str) -> Result<i64> {
        let address = address.trim().to_ascii_lowercase();
        sqlx::query_scalar("SELECT id FROM sync_task_mailboxes WHERE task_id = $1 AND address = $2")
            .bind(task)
            .bind(&address)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(SyncerError::UnknownTaskMailbox { task, address })
    }

    pub async fn task_mailboxes(&self, task: i64) -> Result<Vec<TaskMailboxView>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes WHERE task_id = $1 ORDER BY address"
        );
        let rows = sqlx::query(&sql)
            .bind(task)
            .fetch_all(&self.db.pool)
            .await?;
        let now = Timestamp::now();
        rows.iter().map(|r| mailbox_from_row(r, now)).collect()
    }

    pub async fn task_mailbox(&self, task: i64, address: &str) -> Result<Option<TaskMailboxView>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes WHERE task_id = $1 AND address = $2"
        );
        let row = sqlx::query(&sql)
            .bind(task)
            .bind(address.trim().to_ascii_lowercase())
            .fetch_optional(&self.db.pool)
            .await?;
        let now = Timestamp::now();
        row.as_ref().map(|r| mailbox_from_row(r, now)).transpose()
    }

    /// Every task mailbox syncing this address (an address may be in several tasks).
    pub async fn mailboxes_by_address(&self, address: &str) -> Result<Vec<TaskMailboxView>> {
        let sql = format!(
            "SELECT {MAILBOX_COLUMNS} FROM sync_task_mailboxes WHERE address = $1 ORDER BY task_id"
        );
        let rows = sqlx::query(&sql)
            .bind(address.trim().to_ascii_lowercase())
            .fetch_all(&self.db.pool)
            .await?;
        let now = Timestamp::now();
        rows.iter().map(|r| mailbox_from_row(r, now)).collect()
    }

    /// The mailbox's runs, newest first.
    pub async fn history(&self, task: i64, address: &str, limit: u32) -> Result<Vec<RunRecord>> {
        let id = self.task_mailbox_id(task, address).await?;
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE task_mailbox_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(id)
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Makes the mailbox due now. A running mailbox runs again right after its current run.
    pub async fn request_run(&self, task: i64, address: &str) -> Result<()> {
        let id = self.task_mailbox_id(task, address).await?;
        sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE id = $2")
            .bind(Timestamp::now().0)
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Makes every mailbox of the task due now. Returns how many.
    pub async fn request_task_run(&self, task: i64) -> Result<u64> {
        if self.task(task).await?.is_none() {
            return Err(SyncerError::UnknownTask(task));
        }
        let done =
            sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE task_id = $2")
                .bind(Timestamp::now().0)
                .bind(task)
                .execute(&self.db.pool)
                .await?;
        Ok(done.rows_affected())
    }

    // ---- the worker's side ----

    /// Claims up to `limit` due mailboxes of enabled tasks for `node` until `lease_until`.
    /// The conditional UPDATE is the lock: of two workers racing for a row, one changes it.
    pub(crate) async fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        node: &str,
        limit: usize,
    ) -> Result<Vec<Claim>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // NULL next_run_at marks a claimed run; once its lease lapsed (the worker died) it is
        // due again, so a crashed run resumes.
        let rows = sqlx::query(
            "SELECT m.id FROM sync_task_mailboxes m JOIN sync_tasks t ON t.id = m.task_id \
             WHERE t.enabled = 1 AND (m.claimed_until IS NULL OR m.claimed_until <= $1) \
             AND (m.next_run_at IS NULL OR m.next_run_at <= $2) \
             ORDER BY COALESCE(m.next_run_at, 0), m.id LIMIT $3",
        )
        .bind(now.0)
        .bind(now.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.db.pool)
        .await?;
        let mut claims = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            if let Some(c) = self.claim(id, now, lease_until, node, true).await? {
                claims.push(c);
            }
        }
        Ok(claims)
    }

    /// Claims one mailbox; `only_if_due` false claims it whatever its schedule (run now).
    pub(crate) async fn claim(
        &self,
        task_mailbox_id: i64,
        now: Timestamp,
        lease_until: Timestamp,
        node: &str,
        only_if_due: bool,
    ) -> Result<Option<Claim>> {
        let due = if only_if_due {
            " AND (next_run_at IS NULL OR next_run_at <= $5)"
        } else {
            " AND $5 = $5"
        };
        let sql = format!(
            "UPDATE sync_task_mailboxes SET claimed_until = $1, claimed_by = $2, next_run_at = NULL \
             WHERE id = $3 AND (claimed_until IS NULL OR claimed_until <= $4){due}"
        );
        let done = sqlx::query(&sql)
            .bind(lease_until.0)
            .bind(node)
            .bind(task_mailbox_id)
            .bind(now.0)
            .bind(now.0)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT m.id, m.task_id, m.address, t.connection_id, t.sync_mail, t.sync_calendar, \
             t.sync_contacts, t.runs_per_day FROM sync_task_mailboxes m JOIN sync_tasks t ON t.id = m.task_id \
             WHERE m.id = $1",
        )
        .bind(task_mailbox_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Claim {
            task_mailbox_id,
            task_id: row.try_get("task_id")?,
            address: text(&row, "address")?,
            connection_id: row.try_get("connection_id")?,
            what: SyncWhat {
                mail: flag(&row, "sync_mail")?,
                calendar: flag(&row, "sync_calendar")?,
                contacts: flag(&row, "sync_contacts")?,
            },
            runs_per_day: u32::try_from(row.try_get::<i64, _>("runs_per_day")?).unwrap_or(1),
        }))
    }

    pub(crate) async fn renew_leases(
        &self,
        ids: &[i64],
        node: &str,
        lease_until: Timestamp,
    ) -> Result<()> {
        for id in ids {
            sqlx::query(
                "UPDATE sync_task_mailboxes SET claimed_until = $1 WHERE id = $2 AND claimed_by = $3",
            )
            .bind(lease_until.0)
            .bind(id)
            .bind(node)
            .execute(&self.db.pool)
            .await?;
        }
        Ok(())
    }

    /// Writes the run to the history and the mailbox's status, schedules its next run (unless a
    /// run was requested meanwhile) and releases the lease.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_run(
        &self,
        claim: &Claim,
        node: &str,
        started: Timestamp,
        finished: Timestamp,
        status: MailboxSyncStatus,
        counts: &RunCounts,
        requests: u64,
        throttled: u64,
        error: Option<&str>,
        next: Timestamp,
    ) -> Result<RunRecord> {
        let counts_json = serde_json::to_string(counts).unwrap_or_else(|_| "{}".into());
        let mut tx = self.db.pool.begin().await?;
        // A write first: on SQLite a transaction that reads before it writes cannot upgrade
        // its lock while another writer is busy, and fails at once instead of waiting.
        let still_there =
            sqlx::query("UPDATE sync_task_mailboxes SET status = status WHERE id = $1")
                .bind(claim.task_mailbox_id)
                .execute(&mut *tx)
                .await?;
        if still_there.rows_affected() == 0 {
            return Err(SyncerError::UnknownTaskMailbox {
                task: claim.task_id,
                address: claim.address.clone(),
            });
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_runs (task_mailbox_id, task_id, address, started_at, finished_at, status, \
             counts, requests, throttled, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(claim.task_mailbox_id)
        .bind(claim.task_id)
        .bind(&claim.address)
        .bind(started.0)
        .bind(finished.0)
        .bind(status.as_str())
        .bind(&counts_json)
        .bind(i64::try_from(requests).unwrap_or(i64::MAX))
        .bind(i64::try_from(throttled).unwrap_or(i64::MAX))
        .bind(error)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE sync_task_mailboxes SET status = $1, reason = $2, last_started_at = $3, \
             last_finished_at = $4, last_counts = $5, next_run_at = COALESCE(next_run_at, $6), \
             claimed_until = NULL, claimed_by = NULL WHERE id = $7 AND (claimed_by = $8 OR claimed_by IS NULL)",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(started.0)
        .bind(finished.0)
        .bind(&counts_json)
        .bind(next.0)
        .bind(claim.task_mailbox_id)
        .bind(node)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RunRecord {
            id,
            task_id: claim.task_id,
            address: claim.address.clone(),
            started_at: started,
            finished_at: finished,
            status,
            counts: *counts,
            requests,
            throttled,
            error: error.map(str::to_string),
        })
    }
}

type Columns = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn settings_columns(s: &ConnectionSettings) -> Columns {
    match s {
        ConnectionSettings::Ews { url, username } => (
            Some(url.clone()),
            Some(username.clone()),
            None,
            None,
            None,
            None,
        ),
        ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint,
            token_endpoint,
        } => (
            None,
            None,
            Some(tenant_id.clone()),
            Some(client_id.clone()),
            graph_endpoint.clone(),
            token_endpoint.clone(),
        ),
    }
}

fn taken(e: sqlx::Error, what: &'static str, name: &str) -> SyncerError {
    if is_unique_violation(&e) {
        SyncerError::NameTaken {
            what,
            name: name.to_string(),
        }
    } else {
        SyncerError::Sql(e)
    }
}

/// Builds the connector; `timeout` shortens HTTP timeouts (connection tests).
pub(crate) fn build_source(
    settings: &ConnectionSettings,
    secret: &str,
    timeout: Option<std::time::Duration>,
) -> std::result::Result<Arc<dyn MailboxSource>, mailsync::SourceError> {
    Ok(match settings {
        ConnectionSettings::Ews { url, username } => {
            let mut c = EwsConfig::new(url, username, secret);
            if let Some(t) = timeout {
                c.timeout = t;
            }
            Arc::new(EwsSource::new(c)?)
        }
        ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint,
            token_endpoint,
        } => Arc::new(GraphSource::new(graph_config(
            tenant_id,
            client_id,
            secret,
            graph_endpoint.as_deref(),
            token_endpoint.as_deref(),
            timeout,
        ))?),
    })
}

pub(crate) fn graph_config(
    tenant_id: &str,
    client_id: &str,
    secret: &str,
    graph_endpoint: Option<&str>,
    token_endpoint: Option<&str>,
    timeout: Option<std::time::Duration>,
) -> GraphConfig {
    let mut c = GraphConfig::new(tenant_id, client_id, secret);
    if let Some(g) = graph_endpoint {
        c.graph_base = g.trim_end_matches('/').to_string();
    }
    if let Some(t) = token_endpoint {
        c.token_url = t.to_string();
    }
    if let Some(t) = timeout {
        c.timeout = t;
    }
    c
}
