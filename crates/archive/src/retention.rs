//! Retention: how long archived content is kept, per item kind, by default and per mailbox.
//!
//! ```text
//! policy (default, mailbox overrides) ─► candidates: past their keep time, not held
//!                                          │
//!          purge_items (records, memberships, selection entries; blobs left orphaned)
//!                                          │
//!          collect_orphans (blobs no record points at, deleted under the write lock)
//! ```
//!
//! A held snapshot keeps everything it shows. What counts as "still needed" by others (a sync
//! that must not run meanwhile, the minimum a sync task needs) is the caller's to say: the floor
//! comes in through [`RetentionFloors`], and the purge job takes the mailbox from the scheduler.

use serde::{Deserialize, Serialize};

use crate::types::{ItemKind, MailboxId, Timestamp};

const DAY_MICROS: i64 = 86_400_000_000;

/// What the kept days count from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RetentionBasis {
    /// From when the item left the source mailbox (deleted there, or its folder went). Items
    /// still in the source are always kept.
    #[default]
    LeftSource,
    /// From when it was archived, whether or not the source still has it.
    Archived,
}

impl RetentionBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionBasis::LeftSource => "left_source",
            RetentionBasis::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "left_source" => Some(RetentionBasis::LeftSource),
            "archived" => Some(RetentionBasis::Archived),
            _ => None,
        }
    }

    /// How a person reads it after "kept for N days".
    pub fn words(self) -> &'static str {
        match self {
            RetentionBasis::LeftSource => "after it left the mailbox",
            RetentionBasis::Archived => "after it was archived",
        }
    }
}

/// How long one kind of item is kept. `keep_days` None keeps it for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KeepRule {
    pub keep_days: Option<u32>,
    pub basis: RetentionBasis,
}

impl KeepRule {
    pub const FOREVER: KeepRule = KeepRule {
        keep_days: None,
        basis: RetentionBasis::LeftSource,
    };

    pub fn days(keep_days: u32, basis: RetentionBasis) -> KeepRule {
        KeepRule {
            keep_days: Some(keep_days),
            basis,
        }
    }

    /// The instant before which the basis time must lie for an item to go; None keeps all.
    pub fn cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        self.keep_days.map(|d| {
            Timestamp(
                now.0
                    .saturating_sub(i64::from(d).saturating_mul(DAY_MICROS)),
            )
        })
    }

    /// "for ever", or "365 days after it left the mailbox".
    pub fn words(&self) -> String {
        match self.keep_days {
            None => "for ever".to_owned(),
            Some(1) => format!("1 day {}", self.basis.words()),
            Some(d) => format!("{d} days {}", self.basis.words()),
        }
    }

    /// Whether it keeps mail at least `days` days, whatever the basis.
    pub fn keeps_at_least(&self, days: u32) -> bool {
        self.keep_days.is_none_or(|d| d >= days)
    }
}

/// The longest a keep time may be: a hundred years, so that day counts stay far from overflow.
pub const MAX_KEEP_DAYS: u32 = 36_500;

/// The rules for the three kinds, as the default or a mailbox's effective policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KindRules {
    pub mail: KeepRule,
    pub calendar: KeepRule,
    pub contacts: KeepRule,
}

impl KindRules {
    pub const FOREVER: KindRules = KindRules {
        mail: KeepRule::FOREVER,
        calendar: KeepRule::FOREVER,
        contacts: KeepRule::FOREVER,
    };

    pub fn of(&self, kind: ItemKind) -> KeepRule {
        match kind {
            ItemKind::Message => self.mail,
            ItemKind::Calendar => self.calendar,
            ItemKind::Contact => self.contacts,
        }
    }

    pub fn set(&mut self, kind: ItemKind, rule: KeepRule) {
        match kind {
            ItemKind::Message => self.mail = rule,
            ItemKind::Calendar => self.calendar = rule,
            ItemKind::Contact => self.contacts = rule,
        }
    }
}

pub const ALL_KINDS: [ItemKind; 3] = [ItemKind::Message, ItemKind::Calendar, ItemKind::Contact];

/// A mailbox's own rules: a kind left out follows the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxOverride {
    pub mailbox_id: MailboxId,
    pub mail: Option<KeepRule>,
    pub calendar: Option<KeepRule>,
    pub contacts: Option<KeepRule>,
    pub updated_by: String,
    pub updated_at: Timestamp,
}

impl MailboxOverride {
    pub fn of(&self, kind: ItemKind) -> Option<KeepRule> {
        match kind {
            ItemKind::Message => self.mail,
            ItemKind::Calendar => self.calendar,
            ItemKind::Contact => self.contacts,
        }
    }

    /// The default with this mailbox's own rules laid over it.
    pub fn over(&self, default: &KindRules) -> KindRules {
        let mut rules = *default;
        for kind in ALL_KINDS {
            if let Some(rule) = self.of(kind) {
                rules.set(kind, rule);
            }
        }
        rules
    }
}

/// The whole policy: the default and every mailbox override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub default: KindRules,
    /// Who last changed the default and when; None while it was never set (keep for ever).
    pub default_changed: Option<(String, Timestamp)>,
    pub overrides: Vec<MailboxOverride>,
}

impl RetentionPolicy {
    /// The rules that apply to a mailbox.
    pub fn for_mailbox(&self, mailbox: MailboxId) -> KindRules {
        match self.overrides.iter().find(|o| o.mailbox_id == mailbox) {
            Some(o) => o.over(&self.default),
            None => self.default,
        }
    }
}

/// A change to the policy: the default's rules, or a mailbox's (None per kind: follow the
/// default; all None removes the override).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionChange {
    Default(KindRules),
    Mailbox {
        mailbox_id: MailboxId,
        mail: Option<KeepRule>,
        calendar: Option<KeepRule>,
        contacts: Option<KeepRule>,
    },
}

/// The least a mailbox's mail must be kept, and the reason, as the sync scheduler says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Floor {
    pub days: u32,
    pub why: String,
}

/// Who may need mail kept for a minimum time: the sync tasks. `mailbox` None asks about the
/// default policy (any mailbox without its own rule), Some about one mailbox.
#[async_trait::async_trait]
pub trait RetentionFloors: Send + Sync {
    async fn floor(&self, mailbox: Option<MailboxId>) -> Result<Option<Floor>, String>;
}

/// For set-ups without any sync task (imports only, tests of the archive alone).
pub struct NoFloors;

#[async_trait::async_trait]
impl RetentionFloors for NoFloors {
    async fn floor(&self, _mailbox: Option<MailboxId>) -> Result<Option<Floor>, String> {
        Ok(None)
    }
}

/// Why a policy change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionRefusal {
    #[error("keep times are whole days from 1 to {MAX_KEEP_DAYS}; {0} is not one")]
    BadDays(u32),
    #[error("“{0}” is not a number of days (leave it empty to keep for ever)")]
    NotDays(String),
    #[error("“{0}” is not a basis for keep times")]
    BadBasis(String),
    #[error("mail must be kept at least {} days: {}", .floor.days, .floor.why)]
    BelowFloor { floor: Floor },
}

/// A rule as a form gives it: a day count (empty keeps for ever) and a basis name.
pub fn keep_rule_from_form(days: &str, basis: &str) -> Result<KeepRule, RetentionRefusal> {
    let basis = RetentionBasis::parse(basis.trim())
        .ok_or_else(|| RetentionRefusal::BadBasis(basis.into()))?;
    let days = days.trim();
    if days.is_empty() {
        return Ok(KeepRule {
            keep_days: None,
            basis,
        });
    }
    let n: u32 = days
        .parse()
        .map_err(|_| RetentionRefusal::NotDays(days.to_owned()))?;
    let rule = KeepRule::days(n, basis);
    check_rule(&rule)?;
    Ok(rule)
}

pub(crate) fn check_rule(rule: &KeepRule) -> Result<(), RetentionRefusal> {
    match rule.keep_days {
        Some(d) if d == 0 || d > MAX_KEEP_DAYS => Err(RetentionRefusal::BadDays(d)),
        _ => Ok(()),
    }
}

/// What a purge would take from one mailbox (a dry run), or took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeCount {
    pub mail: u64,
    pub calendar: u64,
    pub contacts: u64,
    /// Bytes of the records' content (shared blobs counted per record).
    pub bytes: u64,
    /// Past their keep time but shown by a held snapshot, so kept.
    pub held: u64,
}

impl PurgeCount {
    pub fn items(&self) -> u64 {
        self.mail + self.calendar + self.contacts
    }

    pub fn add_kind(&mut self, kind: ItemKind, n: u64) {
        match kind {
            ItemKind::Message => self.mail += n,
            ItemKind::Calendar => self.calendar += n,
            ItemKind::Contact => self.contacts += n,
        }
    }

    /// "3 messages, 1 calendar item, 0 contacts".
    pub fn kinds_phrase(&self) -> String {
        format!(
            "{}, {}, {}",
            domain::counted(self.mail, "message", "messages"),
            domain::counted(self.calendar, "calendar item", "calendar items"),
            domain::counted(self.contacts, "contact", "contacts"),
        )
    }

    pub fn absorb(&mut self, other: &PurgeCount) {
        self.mail += other.mail;
        self.calendar += other.calendar;
        self.contacts += other.contacts;
        self.bytes += other.bytes;
        self.held += other.held;
    }
}

/// One item a purge would remove, as a dry run lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeCandidate {
    pub id: crate::types::ItemId,
    pub kind: ItemKind,
    pub subject: String,
    pub size: i64,
    pub date: Timestamp,
    /// When it left the source (None while the source still has it).
    pub left_at: Option<Timestamp>,
    pub archived_at: Timestamp,
}

/// What one purge step removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub count: PurgeCount,
    /// The source id of each removed record (all of the step's mailbox), for the sync
    /// bookkeeping to forget.
    pub source_ids: Vec<String>,
}
