//! One handle per screen. Each is made only by [`crate::Caller`] after the permission check
//! (its constructor is private to this crate), exposes only that screen's operations, and
//! writes the audit entry of each change.

mod audit_reader;
mod browse;
mod calendars;
mod connections;
mod exports;
mod job_desk;
mod legacy;
mod mail_ops;
mod own_mail;
mod restores;
mod retention;
mod roles_admin;
mod snapshots;
mod tasks;
mod users;

pub use audit_reader::AuditReader;
pub use browse::{MailBrowser, MailboxEntry, MailboxSync, SearchAcross};
pub use calendars::{CalendarBrowser, OpenedPimItem, StoredContact, StoredEvent};
pub use connections::ConnectionsAdmin;
pub use exports::{ExportDesk, ExportDownload};
pub use job_desk::ItemSources;
pub use legacy::{AgentSession, LegacyAdmin};
pub use mail_ops::{KnownInstant, MailQuery, ReadableItem, ReadableMailbox};
pub use own_mail::OwnMail;
pub use restores::{RestoreDesk, RestoreTargetChoice};
pub use retention::RetentionAdmin;
pub use roles_admin::RolesAdmin;
pub use snapshots::{Compared, Comparison, SnapshotsAdmin};
pub use tasks::{SyncPrerequisites, TasksAdmin};
pub use users::{UserSummary, UsersAdmin};
