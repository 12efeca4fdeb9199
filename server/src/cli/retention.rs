//! `retention` and `tasks`: the retention policy, its dry run and purge; sync tasks with what
//! each needs before it may run (capability 9), and connection tests. The same rules as the
//! portal's, from the same crates; each change is in the audit log as made on the command line.

use access::{AuditAction, AuditLog};
use archive::{keep_rule_from_form, KeepRule, KindRules, RetentionChange, RetentionFloors};
use domain::counted;
use jobs::JobState;
use recovery::{PurgeRequest, PurgeSummary};
use syncer::SyncStore;

use super::jobs::run_and_follow;
use crate::config::Settings;
use crate::{open_database, say, sync_service, JobRunners};

/// One kind's rule as typed: `forever`, a day count, or (for a mailbox) `default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleArg {
    Forever,
    Days(String),
    Default,
}

impl std::str::FromStr for RuleArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "forever" | "for-ever" => Ok(RuleArg::Forever),
            "default" => Ok(RuleArg::Default),
            days => Ok(RuleArg::Days(days.to_owned())),
        }
    }
}

pub struct SetArgs {
    pub mailbox: Option<String>,
    pub mail: Option<RuleArg>,
    pub calendar: Option<RuleArg>,
    pub contacts: Option<RuleArg>,
    /// `left-source` or `archived`, for every rule given.
    pub basis: String,
}

fn rule_of(arg: &RuleArg, basis: &str) -> anyhow::Result<Option<KeepRule>> {
    let basis = basis.replace('-', "_");
    Ok(match arg {
        RuleArg::Default => None,
        RuleArg::Forever => Some(keep_rule_from_form("", &basis)?),
        RuleArg::Days(days) => Some(keep_rule_from_form(days, &basis)?),
    })
}

async fn mailbox_id(archive: &archive::Archive, name: &str) -> anyhow::Result<i64> {
    match archive.mailbox_by_name(name).await? {
        Some(m) => Ok(m.id),
        None => anyhow::bail!("no archived mailbox is named {name}"),
    }
}

pub async fn show(settings: &Settings) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let archive = crate::archive_on(settings, db.clone())?;
    let store = SyncStore::new(db.clone(), settings.secrets_key()?);
    let policy = archive.retention_policy().await?;
    let print = |label: &str, rules: &KindRules| {
        say!("{label}");
        say!("  mail      {}", rules.mail.words());
        say!("  calendar  {}", rules.calendar.words());
        say!("  contacts  {}", rules.contacts.words());
    };
    print("Default", &policy.default);
    if let Some(floor) = store.floor(None).await.map_err(anyhow::Error::msg)? {
        say!(
            "  (mail must be kept at least {} days: {})",
            floor.days,
            floor.why
        );
    }
    for o in &policy.overrides {
        let name = archive
            .mailbox(o.mailbox_id)
            .await?
            .map(|m| m.name)
            .unwrap_or_else(|| format!("mailbox {}", o.mailbox_id));
        print(&name, &o.over(&policy.default));
    }
    Ok(())
}

pub async fn set(settings: &Settings, args: SetArgs) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let archive = crate::archive_on(settings, db.clone())?;
    let store = SyncStore::new(db.clone(), settings.secrets_key()?);
    let rule = |arg: &Option<RuleArg>| -> anyhow::Result<Option<Option<KeepRule>>> {
        arg.as_ref().map(|a| rule_of(a, &args.basis)).transpose()
    };
    let (mail, calendar, contacts) = (
        rule(&args.mail)?,
        rule(&args.calendar)?,
        rule(&args.contacts)?,
    );
    let policy = archive.retention_policy().await?;
    let change = match &args.mailbox {
        None => {
            let mut rules = policy.default;
            for (kind, given) in [
                (archive::ItemKind::Message, mail),
                (archive::ItemKind::Calendar, calendar),
                (archive::ItemKind::Contact, contacts),
            ] {
                match given {
                    Some(Some(rule)) => rules.set(kind, rule),
                    Some(None) => anyhow::bail!("`default` is for a mailbox's rules (--mailbox)"),
                    None => {}
                }
            }
            RetentionChange::Default(rules)
        }
        Some(name) => {
            let id = mailbox_id(&archive, name).await?;
            let current = policy.overrides.iter().find(|o| o.mailbox_id == id);
            let keep = |given: Option<Option<KeepRule>>, kind| match given {
                Some(rule) => rule,
                None => current.and_then(|o| o.of(kind)),
            };
            RetentionChange::Mailbox {
                mailbox_id: id,
                mail: keep(mail, archive::ItemKind::Message),
                calendar: keep(calendar, archive::ItemKind::Calendar),
                contacts: keep(contacts, archive::ItemKind::Contact),
            }
        }
    };
    archive
        .set_retention(&change, "command line", &store)
        .await?;
    AuditLog::new(db)
        .command_line(
            AuditAction::RetentionChanged,
            match &args.mailbox {
                None => "default".to_owned(),
                Some(m) => format!("mailbox {m}"),
            },
        )
        .await?;
    show(settings).await
}

pub async fn purge(
    settings: &Settings,
    mailbox: Option<String>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let archive = crate::archive_on(settings, db.clone())?;
    let sync = sync_service(settings, &db, &archive)?;
    let runners = JobRunners {
        exporter: crate::exporter_on(settings, &db, &archive),
        restorer: crate::restorer_on(&db, &archive, &sync),
        purger: crate::purger_on(&db, &archive, sync.store()),
        importer: crate::importer_on(settings, &db, &archive),
        audit: AuditLog::new(db.clone()),
    };
    let request = PurgeRequest {
        mailboxes: match &mailbox {
            Some(name) => Some(vec![mailbox_id(&archive, name).await?]),
            None => None,
        },
    };
    let previews = runners
        .purger
        .preview(&request, if dry_run { 20 } else { 0 })
        .await?;
    let items: u64 = previews.iter().map(|p| p.count.items()).sum();
    let held: u64 = previews.iter().map(|p| p.count.held).sum();
    for p in &previews {
        say!(
            "{}: {} would go ({}); {} kept by held snapshots",
            p.mailbox.name,
            p.count.kinds_phrase(),
            counted(p.count.bytes, "byte", "bytes"),
            counted(p.count.held, "item", "items"),
        );
        for c in &p.sample {
            say!(
                "  archived {}  {}",
                c.archived_at.to_rfc3339().get(..10).unwrap_or_default(),
                c.subject
            );
        }
    }
    if dry_run {
        say!(
            "Dry run: {} would be removed, {} kept by held snapshots. Nothing was removed.",
            counted(items, "item", "items"),
            counted(held, "item", "items")
        );
        runners
            .audit
            .command_line(
                AuditAction::PurgeDryRun,
                format!(
                    "{items} items in {} mailboxes would go; {held} kept by held snapshots",
                    previews.len()
                ),
            )
            .await?;
        return Ok(());
    }
    let job = runners.purger.enqueue(&request, "command line").await?;
    runners
        .audit
        .command_line(
            AuditAction::PurgeStarted,
            format!(
                "job {}: {} ({items} items past their keep time)",
                job.id, job.label
            ),
        )
        .await?;
    let mailboxes = archive.list_mailboxes().await?.len();
    let worker = runners.worker(
        format!("cli:{}", std::process::id()),
        settings.worker.job_lease(),
    );
    let ended = run_and_follow(worker, runners.purger.jobs(), job.id, mailboxes, None).await?;
    match ended.state {
        JobState::Done => {
            let summary = PurgeSummary::of(&ended).unwrap_or_default();
            say!("Purge job {}: {}", ended.id, summary.describe());
            Ok(())
        }
        JobState::Cancelled => anyhow::bail!("purge job {} was cancelled", ended.id),
        _ => anyhow::bail!(
            "purge job {} failed: {}",
            ended.id,
            ended.error.unwrap_or_default()
        ),
    }
}

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
