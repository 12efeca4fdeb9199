//! `retention`: the retention policy, its dry run and purge. The same rules as the portal's, from
//! the same crates; each change is in the audit log as made on the command line.

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
