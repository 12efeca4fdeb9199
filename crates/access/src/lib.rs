//! `access`: who may do what, proven by types.
//!
//! - [`Permission`]: one per admin screen or action; [`Roles`] are named sets of them, assigned
//!   to users for all mailboxes or a [`Scope`] of owner domains and addresses.
//! - [`Access::caller`] builds a [`Caller`] once per request from the session. Its methods open
//!   handles (`caller.connections()?`, `caller.sync_tasks()?`, `caller.audit()?`, ...), each
//!   the only way to that screen's operations, and each writes the audit entry as it acts. A
//!   handle cannot be made without its permission, so an unchecked call does not compile.
//! - [`AuditLog`]: append-only, hash-chained, with [`AuditLog::verify`].
//!
//! End users hold no permission: [`Caller::own_mail`] reaches the mailboxes of the addresses
//! they own and nothing else. A refusal of a mailbox or item looks exactly like "not found".

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod audit;
mod caller;
mod handles;
mod permission;
mod roles;
mod scope;
mod sso_sign_in;

use std::net::IpAddr;
use std::sync::Arc;

use accounts::{Accounts, Session, SignInAttempt, SignInOutcome, SignInRefusal, SignInThrottle};
use archive::Archive;
use database::Database;
use search::ShardedSearch;
use syncer::SyncService;

pub use audit::{AuditAction, AuditEntry, AuditFilter, AuditLog, ChainReport, NewAuditEntry};
pub use caller::Caller;
pub use handles::{
    AgentSession, AuditReader, CalendarBrowser, Compared, Comparison, ConnectionsAdmin, ExportDesk,
    ExportDownload, ItemSources, KnownInstant, LegacyAdmin, MailBrowser, MailQuery, MailboxEntry,
    MailboxSync, OpenedPimItem, OwnMail, ReadableItem, ReadableMailbox, RestoreDesk,
    RestoreTargetChoice, RetentionAdmin, RolesAdmin, SearchAcross, SnapshotsAdmin, StoredContact,
    StoredEvent, SyncPrerequisites, TasksAdmin, UserSummary, UsersAdmin,
};
pub use permission::Permission;
pub use roles::{Assignment, Role, RoleId, Roles, ADMINISTRATOR, AUDITOR, HELP_DESK};
pub use scope::Scope;
pub use sso_sign_in::{SsoPolicy, SsoRefusal, SsoSignIn};

/// The one error of this crate's surface, shaped like what a person is told.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("not signed in")]
    SignedOut,
    #[error("this needs a permission the caller does not hold")]
    Forbidden,
    /// Also what someone else's existing mailbox or item looks like.
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// Storage or a peer failed; the text is for the log, not for a browser.
    #[error("{0}")]
    Unavailable(String),
}

impl AccessError {
    pub fn invalid(field: &str, message: impl Into<String>) -> AccessError {
        AccessError::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for AccessError {
    fn from(e: sqlx::Error) -> Self {
        AccessError::Unavailable(format!("database: {e}"))
    }
}

impl From<accounts::AccountError> for AccessError {
    fn from(e: accounts::AccountError) -> Self {
        use accounts::AccountError as E;
        match e {
            E::UsernameTaken(_) | E::InvalidUsername => {
                AccessError::invalid("username", e.to_string())
            }
            E::PasswordTooShort => AccessError::invalid("password", e.to_string()),
            E::InvalidAddress(_) | E::AddressTaken(_) => {
                AccessError::invalid("addresses", e.to_string())
            }
            E::NoSuchUser(_) => AccessError::NotFound,
            other => AccessError::Unavailable(other.to_string()),
        }
    }
}

impl From<archive::ArchiveError> for AccessError {
    fn from(e: archive::ArchiveError) -> Self {
        match e {
            archive::ArchiveError::BadCursor(_)
            | archive::ArchiveError::UnknownItem(_)
            | archive::ArchiveError::UnknownMailbox(_) => AccessError::NotFound,
            archive::ArchiveError::Retention(refusal) => {
                AccessError::invalid("retention", format!("{refusal}."))
            }
            other => AccessError::Unavailable(other.to_string()),
        }
    }
}

impl From<syncer::SyncerError> for AccessError {
    fn from(e: syncer::SyncerError) -> Self {
        use syncer::SyncerError as E;
        match e {
            E::Invalid { field, message } => AccessError::invalid(field, message),
            E::NameTaken { .. } => AccessError::invalid("name", format!("{e}.")),
            E::ConnectionInUse(_) => AccessError::invalid("id", format!("{e}.")),
            E::PrerequisitesMissing(_) => AccessError::invalid("prerequisites", e.to_string()),
            E::UnknownConnection(_) | E::UnknownTask(_) | E::UnknownTaskMailbox { .. } => {
                AccessError::NotFound
            }
            other => AccessError::Unavailable(other.to_string()),
        }
    }
}

/// A job crate's refusal, told to a person as about the form's `field`; the rest is a failure.
pub(crate) fn recovery_refusal(field: &str, e: recovery::RecoveryError) -> AccessError {
    use recovery::RecoveryError as E;
    match e {
        E::Invalid(message) => AccessError::invalid(field, message),
        e @ E::NoSpace { .. } => AccessError::invalid("space", e.to_string()),
        other => AccessError::Unavailable(other.to_string()),
    }
}

impl From<legacy::LegacyError> for AccessError {
    fn from(e: legacy::LegacyError) -> Self {
        use legacy::LegacyError as E;
        match e {
            E::Invalid(message) => AccessError::invalid("legacy", message),
            E::NameTaken(_) => AccessError::invalid("name", format!("{e}.")),
            E::UnknownAgent(_) => AccessError::NotFound,
            other => AccessError::Unavailable(other.to_string()),
        }
    }
}

impl From<jobs::JobError> for AccessError {
    fn from(e: jobs::JobError) -> Self {
        match e {
            jobs::JobError::UnknownJob(_) => AccessError::NotFound,
            other => AccessError::Unavailable(other.to_string()),
        }
    }
}

impl From<search::SearchError> for AccessError {
    fn from(e: search::SearchError) -> Self {
        match e {
            search::SearchError::Query(problem) => AccessError::invalid(
                "query",
                format!("That search could not be understood: {problem}."),
            ),
            other => AccessError::Unavailable(other.to_string()),
        }
    }
}

pub(crate) struct Inner {
    pub accounts: Accounts,
    pub archive: Archive,
    pub search: Arc<ShardedSearch>,
    pub sync: SyncService,
    pub roles: Roles,
    pub audit: AuditLog,
    pub exporter: recovery::Exporter,
    pub restorer: recovery::Restorer,
    pub purger: recovery::Purger,
    pub importer: recovery::Importer,
    pub legacy: legacy::Legacy,
}

/// The background jobs that get things back or bring them in, as the server builds them.
pub struct JobDesks {
    pub exporter: recovery::Exporter,
    pub restorer: recovery::Restorer,
    pub importer: recovery::Importer,
}

/// Every store behind the access checks. Cheap to clone. Only [`Caller`] handles reach the
/// stores for a request; [`Access::roles`] and [`Access::audit_log`] are for set-up and the
/// command line.
#[derive(Clone)]
pub struct Access {
    pub(crate) inner: Arc<Inner>,
}

impl Access {
    pub fn new(
        db: Database,
        accounts: Accounts,
        archive: Archive,
        search: Arc<ShardedSearch>,
        sync: SyncService,
        desks: JobDesks,
    ) -> Access {
        let JobDesks {
            exporter,
            restorer,
            importer,
        } = desks;
        let purger = recovery::Purger::new(
            archive.clone(),
            exporter.jobs().clone(),
            sync.store().clone(),
        );
        let legacy = legacy::Legacy::new(archive.clone(), sync.store().clone());
        Access {
            inner: Arc::new(Inner {
                purger,
                importer,
                legacy,
                accounts,
                search,
                sync,
                archive,
                exporter,
                restorer,
                roles: Roles::new(db.clone()),
                audit: AuditLog::new(db),
            }),
        }
    }

    /// The legacy agent whose bearer token this is, if it is live (not revoked).
    pub async fn agent(&self, token: &str) -> Result<Option<AgentSession>, AccessError> {
        let legacy = &self.inner.legacy;
        Ok(legacy
            .agents()
            .authenticate(token)
            .await?
            .map(|agent| AgentSession {
                legacy: legacy.clone(),
                agent,
            }))
    }

    pub fn roles(&self) -> &Roles {
        &self.inner.roles
    }

    pub fn audit_log(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// The live session named by a cookie's token, if any.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AccessError> {
        Ok(self.inner.accounts.session(token).await?)
    }

    /// The caller of a request: the session's user with the permissions of every role they
    /// hold, read now (a removed role counts from the next request on).
    pub async fn caller(
        &self,
        session: Option<Session>,
        client: Option<IpAddr>,
    ) -> Result<Caller, AccessError> {
        let session = session.ok_or(AccessError::SignedOut)?;
        let assignments = self.inner.roles.assignments(session.user.id).await?;
        Ok(Caller::new(self.clone(), session.user, client, assignments))
    }

    /// Signs in with a local password; every attempt is in the audit log.
    pub async fn sign_in(
        &self,
        throttle: &SignInThrottle,
        attempt: SignInAttempt<'_>,
    ) -> Result<SignInOutcome, AccessError> {
        let username = attempt.username.trim().to_lowercase();
        let client = attempt.client.map(|ip| ip.to_string()).unwrap_or_default();
        let outcome = self.inner.accounts.sign_in(throttle, attempt).await?;
        let (user_id, outcome_text, detail) = match &outcome {
            SignInOutcome::Started { user, .. } => (Some(user.id), "ok", String::new()),
            SignInOutcome::Refused(SignInRefusal::MissingFields) => return Ok(outcome),
            SignInOutcome::Refused(r) => (None, "refused", r.message()),
        };
        self.inner
            .audit
            .append(&NewAuditEntry {
                actor_user_id: user_id,
                actor: username,
                actor_role: String::new(),
                client_address: client,
                action: if user_id.is_some() {
                    AuditAction::SignIn
                } else {
                    AuditAction::SignInFailed
                },
                target_mailbox: None,
                target_owner: String::new(),
                detail,
                outcome: outcome_text.to_owned(),
            })
            .await?;
        Ok(outcome)
    }

    /// Ends the session of this token (signing out), in the audit log when it was live.
    pub async fn sign_out(&self, token: &str, client: Option<IpAddr>) -> Result<(), AccessError> {
        let session = self.inner.accounts.session(token).await?;
        self.inner.accounts.delete_session(token).await?;
        if let Some(session) = session {
            self.inner
                .audit
                .append(&NewAuditEntry {
                    actor_user_id: Some(session.user.id),
                    actor: session.user.username,
                    actor_role: String::new(),
                    client_address: client.map(|ip| ip.to_string()).unwrap_or_default(),
                    action: AuditAction::SignOut,
                    target_mailbox: None,
                    target_owner: String::new(),
                    detail: String::new(),
                    outcome: "ok".to_owned(),
                })
                .await?;
        }
        Ok(())
    }
}
