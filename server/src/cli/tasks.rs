//! `tasks` and `connections`: sync tasks with what a paused one needs before it may run (the
//! 58-day rule and a tested connection), enabling and pausing them, and connection tests. Each
//! change is in the audit log as made on the command line.

use access::{AuditAction, AuditLog};
use syncer::SyncStore;

use crate::config::Settings;
use crate::{open_database, say};

/// Every task, whether it runs, and for a paused one what it needs first.
pub async fn tasks(settings: &Settings) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let store = SyncStore::new(db, settings.secrets_key()?);
    let list = store.tasks_with_mailboxes().await?;
    if list.is_empty() {
        say!("No sync task yet.");
    }
    for t in list {
        say!(
            "{:>4}  {}  [{}]  {} · {} mailboxes",
            t.task.id,
            t.task.name,
            if t.task.enabled { "enabled" } else { "paused" },
            t.task.connection_name,
            t.mailboxes.len()
        );
        if !t.task.enabled {
            let addresses: Vec<String> = t.mailboxes.iter().map(|m| m.address.clone()).collect();
            for m in store
                .missing_prerequisites(t.task.connection_id, &addresses)
                .await?
            {
                say!("      needs: {} (portal: {})", m.message, m.fix_at);
            }
        }
    }
    Ok(())
}

pub async fn set_task_enabled(settings: &Settings, id: i64, enabled: bool) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let store = SyncStore::new(db.clone(), settings.secrets_key()?);
    let update = syncer::TaskUpdate {
        enabled: Some(enabled),
        ..syncer::TaskUpdate::default()
    };
    match store.update_task(id, &update).await {
        Ok(task) => {
            AuditLog::new(db)
                .command_line(
                    AuditAction::TaskChanged,
                    format!(
                        "{} {}",
                        task.name,
                        if enabled { "enabled" } else { "disabled" }
                    ),
                )
                .await?;
            say!(
                "Task “{}” {}.",
                task.name,
                if enabled { "enabled" } else { "paused" }
            );
            Ok(())
        }
        Err(syncer::SyncerError::PrerequisitesMissing(missing)) => {
            for m in &missing {
                eprintln!("needs: {} (portal: {})", m.message, m.fix_at);
            }
            anyhow::bail!("task {id} cannot be enabled until the above is done")
        }
        Err(e) => Err(e.into()),
    }
}

/// Every connection and the outcome of its last test.
pub async fn connections(settings: &Settings) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let store = SyncStore::new(db, settings.secrets_key()?);
    for c in store.list_connections().await? {
        let state = match &c.last_test {
            None => "never tested".to_owned(),
            Some(t) if t.passed => "passed its last test".to_owned(),
            Some(t) => format!("failed its last test: {}", t.summary),
        };
        say!("{:>4}  {}  ({})  {state}", c.id, c.name, c.kind.as_str());
    }
    Ok(())
}

/// Tests a connection as the portal's button does, and keeps the outcome.
pub async fn test_connection(
    settings: &Settings,
    id: i64,
    mailbox: Option<String>,
) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let store = SyncStore::new(db.clone(), settings.secrets_key()?);
    let report = store.test_connection(id, mailbox.as_deref()).await?;
    for step in &report.steps {
        say!(
            "{} {}: {}",
            if step.ok { "ok  " } else { "FAIL" },
            step.step,
            step.detail
        );
    }
    AuditLog::new(db)
        .command_line(
            AuditAction::ConnectionTested,
            format!("connection {id}: {}", report.message),
        )
        .await?;
    if report.ok {
        say!("{}", report.message);
        Ok(())
    } else {
        anyhow::bail!("{}", report.message)
    }
}
