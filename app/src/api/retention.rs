//! Retention as its screen shows it: the default policy and each mailbox's own rules, the floor
//! the sync tasks set, a dry run of the purge, and the purge jobs. Everything needs the
//! `retention` permission; the rules themselves (day counts, the 58-day floor) are the archive's
//! and the syncer's, and a refusal comes back as [`ApiError::Invalid`].

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::admin::Outcome;
use super::error::ApiError;
pub use super::jobs::JobLineView;

/// One kind's rule: a day count (None: for ever) counted from `basis`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepView {
    pub days: Option<u32>,
    /// `left_source` or `archived`.
    pub basis: String,
    /// "for ever", "365 days after it left the mailbox".
    pub words: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideView {
    pub mailbox_id: i64,
    pub mailbox: String,
    /// None: as the default.
    pub mail: Option<KeepView>,
    pub calendar: Option<KeepView>,
    pub contacts: Option<KeepView>,
    pub changed: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionView {
    pub mail: KeepView,
    pub calendar: KeepView,
    pub contacts: KeepView,
    /// "Changed by admin, 7 Dec 2026 03:00", or that it was never set.
    pub changed: String,
    /// Why mail must be kept at least so long, while a sync task needs it.
    pub floor: Option<String>,
    pub overrides: Vec<OverrideView>,
    /// Every archived mailbox: (id, name), for choosing one to give its own rules.
    pub mailboxes: Vec<(i64, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateView {
    pub kind: String,
    pub subject: String,
    pub date: String,
    /// When it left the mailbox, or "still in the mailbox".
    pub left: String,
    pub archived: String,
    pub size: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxDryRunView {
    pub mailbox_id: i64,
    pub mailbox: String,
    /// "mail 30 days after it left the mailbox; calendar for ever; ..."
    pub rules: String,
    pub mail: u64,
    pub calendar: u64,
    pub contacts: u64,
    pub size: String,
    pub held: u64,
    pub sample: Vec<CandidateView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunView {
    /// "41 items (3.2 MB) in 2 mailboxes would be removed; 3 are kept by held snapshots."
    pub summary: String,
    pub mailboxes: Vec<MailboxDryRunView>,
}

#[server(endpoint = "retention/policy", output = super::codec::Json)]
pub async fn retention_policy() -> Result<RetentionView, ApiError> {
    let caller = super::access::caller().await?;
    let desk = caller.retention()?;
    let policy = desk.policy().await?;
    let mailboxes = desk.mailboxes().await?;
    let floor = desk.default_floor().await?;
    Ok(ssr::policy_view(&policy, &mailboxes, floor))
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "retention/set_default", output = super::codec::Json)]
pub async fn set_default_retention(
    mail_days: String,
    mail_basis: String,
    calendar_days: String,
    calendar_basis: String,
    contacts_days: String,
    contacts_basis: String,
) -> Result<Outcome, ApiError> {
    use archive::{keep_rule_from_form, KindRules, RetentionChange};
    let caller = super::access::caller().await?;
    let desk = caller.retention()?;
    let rules = KindRules {
        mail: keep_rule_from_form(&mail_days, &mail_basis).map_err(ssr::field("mail_days"))?,
        calendar: keep_rule_from_form(&calendar_days, &calendar_basis)
            .map_err(ssr::field("calendar_days"))?,
        contacts: keep_rule_from_form(&contacts_days, &contacts_basis)
            .map_err(ssr::field("contacts_days"))?,
    };
    desk.set(&RetentionChange::Default(rules)).await?;
    Ok(Outcome::said(format!(
        "Default retention saved: mail {}, calendar {}, contacts {}.",
        rules.mail.words(),
        rules.calendar.words(),
        rules.contacts.words()
    )))
}

/// A mailbox's own rules. Per kind, `*_mode` is `default` (follow the default) or `own`.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "retention/set_mailbox", output = super::codec::Json)]
pub async fn set_mailbox_retention(
    mailbox: i64,
    mail_mode: String,
    mail_days: String,
    mail_basis: String,
    calendar_mode: String,
    calendar_days: String,
    calendar_basis: String,
    contacts_mode: String,
    contacts_days: String,
    contacts_basis: String,
) -> Result<Outcome, ApiError> {
    use archive::{keep_rule_from_form, RetentionChange};
    let caller = super::access::caller().await?;
    let desk = caller.retention()?;
    let own = |mode: &str, days: &str, basis: &str, field: &'static str| {
        if mode == "own" {
            keep_rule_from_form(days, basis)
                .map(Some)
                .map_err(ssr::field(field))
        } else {
            Ok(None)
        }
    };
    let mail = own(&mail_mode, &mail_days, &mail_basis, "mail_days")?;
    let calendar = own(
        &calendar_mode,
        &calendar_days,
        &calendar_basis,
        "calendar_days",
    )?;
    let contacts = own(
        &contacts_mode,
        &contacts_days,
        &contacts_basis,
        "contacts_days",
    )?;
    desk.set(&RetentionChange::Mailbox {
        mailbox_id: mailbox,
        mail,
        calendar,
        contacts,
    })
    .await?;
    Ok(Outcome::said(
        if mail.is_none() && calendar.is_none() && contacts.is_none() {
            "The mailbox follows the default again.".to_owned()
        } else {
            "The mailbox's own retention is saved.".to_owned()
        },
    ))
}

/// What a purge now would remove: every mailbox, or one.
#[server(endpoint = "retention/dry_run", output = super::codec::Json)]
pub async fn purge_dry_run(mailbox: Option<i64>) -> Result<DryRunView, ApiError> {
    let caller = super::access::caller().await?;
    let previews = caller
        .retention()?
        .dry_run(&recovery::PurgeRequest {
            mailboxes: mailbox.map(|m| vec![m]),
        })
        .await?;
    Ok(ssr::dry_run_view(&previews))
}

#[server(endpoint = "retention/start_purge", output = super::codec::Json)]
pub async fn start_purge(mailbox: Option<i64>) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let job = caller
        .retention()?
        .start_purge(&recovery::PurgeRequest {
            mailboxes: mailbox.map(|m| vec![m]),
        })
        .await?;
    Ok(Outcome::said(format!(
        "Purge job {} started: {}. Its progress shows below.",
        job.id, job.label
    )))
}

#[server(endpoint = "retention/purges", output = super::codec::Json)]
pub async fn purge_jobs() -> Result<Vec<JobLineView>, ApiError> {
    let caller = super::access::caller().await?;
    let jobs = caller.retention()?.jobs(20).await?;
    Ok(jobs.iter().map(ssr::purge_job_view).collect())
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Archive and job records as view types.
    use archive::{
        Floor, KeepRule, KindRules, Mailbox, PurgeCandidate, RetentionPolicy, RetentionRefusal,
    };
    use jobs::{Job, JobState};
    use recovery::{MailboxPreview, PurgeSummary};

    use super::*;
    use crate::format::{full_date, human_size, short_date};

    pub fn field(name: &'static str) -> impl Fn(RetentionRefusal) -> ApiError {
        move |refusal| ApiError::invalid(name, format!("{refusal}."))
    }

    fn keep(rule: &KeepRule) -> KeepView {
        KeepView {
            days: rule.keep_days,
            basis: rule.basis.as_str().to_owned(),
            words: rule.words(),
        }
    }

    fn changed(by: &str, at: archive::Timestamp) -> String {
        format!("Changed by {by}, {}", full_date(at))
    }

    pub fn policy_view(
        policy: &RetentionPolicy,
        mailboxes: &[Mailbox],
        floor: Option<Floor>,
    ) -> RetentionView {
        let name_of = |id: i64| {
            mailboxes
                .iter()
                .find(|m| m.id == id)
                .map(|m| m.name.clone())
                .unwrap_or_else(|| format!("mailbox {id}"))
        };
        RetentionView {
            mail: keep(&policy.default.mail),
            calendar: keep(&policy.default.calendar),
            contacts: keep(&policy.default.contacts),
            changed: match &policy.default_changed {
                Some((by, at)) => changed(by, *at),
                None => "Never changed: everything is kept for ever.".to_owned(),
            },
            floor: floor.map(|f| {
                format!(
                    "Mail must be kept at least {} days while sync runs: {}.",
                    f.days, f.why
                )
            }),
            overrides: policy
                .overrides
                .iter()
                .map(|o| OverrideView {
                    mailbox_id: o.mailbox_id,
                    mailbox: name_of(o.mailbox_id),
                    mail: o.mail.as_ref().map(keep),
                    calendar: o.calendar.as_ref().map(keep),
                    contacts: o.contacts.as_ref().map(keep),
                    changed: changed(&o.updated_by, o.updated_at),
                })
                .collect(),
            mailboxes: mailboxes.iter().map(|m| (m.id, m.name.clone())).collect(),
        }
    }

    fn rules_words(rules: &KindRules) -> String {
        format!(
            "mail {}; calendar {}; contacts {}",
            rules.mail.words(),
            rules.calendar.words(),
            rules.contacts.words()
        )
    }

    fn candidate(c: &PurgeCandidate) -> CandidateView {
        CandidateView {
            kind: match c.kind {
                archive::ItemKind::Message => "message",
                archive::ItemKind::Calendar => "event",
                archive::ItemKind::Contact => "contact",
            }
            .to_owned(),
            subject: if c.subject.trim().is_empty() {
                "(no subject)".to_owned()
            } else {
                c.subject.clone()
            },
            date: short_date(c.date),
            left: c
                .left_at
                .map(short_date)
                .unwrap_or_else(|| "still in the mailbox".to_owned()),
            archived: short_date(c.archived_at),
            size: human_size(c.size),
        }
    }

    pub fn dry_run_view(previews: &[MailboxPreview]) -> DryRunView {
        let items: u64 = previews.iter().map(|p| p.count.items()).sum();
        let bytes: u64 = previews.iter().map(|p| p.count.bytes).sum();
        let held: u64 = previews.iter().map(|p| p.count.held).sum();
        let summary = if items == 0 && held == 0 {
            "Nothing is past its keep time: a purge now would remove nothing.".to_owned()
        } else {
            format!(
                "{} ({}) in {} would be removed; {} kept by held snapshots.",
                domain::counted(items, "item", "items"),
                human_size(i64::try_from(bytes).unwrap_or(i64::MAX)),
                domain::counted(previews.len() as u64, "mailbox", "mailboxes"),
                domain::counted(held, "item", "items"),
            )
        };
        DryRunView {
            summary,
            mailboxes: previews
                .iter()
                .map(|p| MailboxDryRunView {
                    mailbox_id: p.mailbox.id,
                    mailbox: p.mailbox.name.clone(),
                    rules: rules_words(&p.rules),
                    mail: p.count.mail,
                    calendar: p.count.calendar,
                    contacts: p.count.contacts,
                    size: human_size(i64::try_from(p.count.bytes).unwrap_or(i64::MAX)),
                    held: p.count.held,
                    sample: p.sample.iter().map(candidate).collect(),
                })
                .collect(),
        }
    }

    pub fn purge_job_view(job: &Job) -> JobLineView {
        let result = match job.state {
            JobState::Done => PurgeSummary::of(job)
                .map(|s| s.describe())
                .unwrap_or_default(),
            JobState::Failed => job.error.clone().unwrap_or_default(),
            JobState::Cancelled => "Cancelled; what was removed until then stays removed.".into(),
            JobState::Queued => "Waiting for a worker.".into(),
            JobState::Running => format!("{} of {} mailboxes done.", job.processed, job.total),
        };
        crate::api::jobs::ssr::job_line(job, None, result)
    }
}
