//! The caller of one request and the handles its grants open.

use std::collections::BTreeMap;
use std::net::IpAddr;

use accounts::User;

use crate::handles::{
    AuditReader, CalendarBrowser, ConnectionsAdmin, ExportDesk, LegacyAdmin, MailBrowser, OwnMail,
    RestoreDesk, RetentionAdmin, RolesAdmin, SnapshotsAdmin, TasksAdmin, UsersAdmin,
};
use crate::{Access, AccessError, Assignment, AuditAction, NewAuditEntry, Permission, Scope};

/// Built once per request by [`Access::caller`]. It holds the user, where the request came from,
/// and the scope of each permission the user's roles grant.
pub struct Caller {
    pub(crate) access: Access,
    user: User,
    client: String,
    grants: BTreeMap<Permission, Scope>,
    role_names: String,
}

impl Caller {
    pub(crate) fn new(
        access: Access,
        user: User,
        client: Option<IpAddr>,
        assignments: Vec<Assignment>,
    ) -> Caller {
        let mut grants: BTreeMap<Permission, Scope> = BTreeMap::new();
        let mut names = Vec::new();
        for a in assignments {
            names.push(a.role.name.clone());
            for p in a.role.permissions {
                let scope = if p.is_scoped() {
                    a.scope.clone()
                } else {
                    Scope::All
                };
                let merged = match grants.remove(&p) {
                    Some(held) => held.union(scope),
                    None => scope,
                };
                grants.insert(p, merged);
            }
        }
        names.sort();
        Caller {
            access,
            user,
            client: client.map(|ip| ip.to_string()).unwrap_or_default(),
            grants,
            role_names: names.join(", "),
        }
    }

    pub fn user(&self) -> &User {
        &self.user
    }

    /// What the UI may offer: a screen the caller lacks is hidden (and refused anyway).
    pub fn permissions(&self) -> Vec<Permission> {
        self.grants.keys().copied().collect()
    }

    pub fn holds(&self, permission: Permission) -> bool {
        self.grants.contains_key(&permission)
    }

    /// The roles, as the audit log and the access log name them ("" for an end user).
    pub fn role_names(&self) -> &str {
        &self.role_names
    }

    fn require(&self, permission: Permission) -> Result<Scope, AccessError> {
        match self.grants.get(&permission) {
            Some(scope) => Ok(scope.clone()),
            None => {
                tracing::warn!(user = %self.user.username, permission = permission.as_str(), "refused");
                Err(AccessError::Forbidden)
            }
        }
    }

    /// The caller's own archive: the mailboxes of the addresses they own. Everyone has it.
    pub fn own_mail(&self) -> OwnMail<'_> {
        OwnMail::new(self)
    }

    /// Other people's mail, within the scope of the `browse_mail` grant.
    pub fn browse_mail(&self) -> Result<MailBrowser<'_>, AccessError> {
        let scope = self.require(Permission::BrowseMail)?;
        Ok(MailBrowser::new(self, scope))
    }

    /// Other people's calendars and contacts, within the scope of the `browse_calendars` grant.
    pub fn browse_calendars(&self) -> Result<CalendarBrowser<'_>, AccessError> {
        let scope = self.require(Permission::BrowseCalendars)?;
        Ok(CalendarBrowser::new(self, scope))
    }

    /// Snapshots, differences and selections, within the scope of the `snapshots` grant.
    pub fn snapshots(&self) -> Result<SnapshotsAdmin<'_>, AccessError> {
        let scope = self.require(Permission::Snapshots)?;
        Ok(SnapshotsAdmin::new(self, scope))
    }

    /// Exports of mailboxes within the scope of the `export` grant.
    pub fn exports(&self) -> Result<ExportDesk<'_>, AccessError> {
        let scope = self.require(Permission::Export)?;
        Ok(ExportDesk::new(self, scope))
    }

    /// Restores of mailboxes within the scope of the `restore` grant, into mailboxes within it.
    pub fn restores(&self) -> Result<RestoreDesk<'_>, AccessError> {
        let scope = self.require(Permission::Restore)?;
        Ok(RestoreDesk::new(self, scope))
    }

    pub fn connections(&self) -> Result<ConnectionsAdmin<'_>, AccessError> {
        self.require(Permission::Connections)?;
        Ok(ConnectionsAdmin::new(self))
    }

    pub fn sync_tasks(&self) -> Result<TasksAdmin<'_>, AccessError> {
        self.require(Permission::SyncTasks)?;
        Ok(TasksAdmin::new(self))
    }

    pub fn legacy(&self) -> Result<LegacyAdmin<'_>, AccessError> {
        self.require(Permission::LegacyImport)?;
        Ok(LegacyAdmin::new(self))
    }

    pub fn retention(&self) -> Result<RetentionAdmin<'_>, AccessError> {
        self.require(Permission::Retention)?;
        Ok(RetentionAdmin::new(self))
    }

    pub fn users(&self) -> Result<UsersAdmin<'_>, AccessError> {
        self.require(Permission::Users)?;
        Ok(UsersAdmin::new(self))
    }

    pub fn roles(&self) -> Result<RolesAdmin<'_>, AccessError> {
        self.require(Permission::Roles)?;
        Ok(RolesAdmin::new(self))
    }

    pub fn audit(&self) -> Result<AuditReader<'_>, AccessError> {
        self.require(Permission::AuditLog)?;
        Ok(AuditReader::new(self))
    }

    /// Ends every session of the caller, on every device (this one too).
    pub async fn sign_out_everywhere(&self) -> Result<u64, AccessError> {
        let ended = self
            .access
            .inner
            .accounts
            .end_sessions(self.user.id)
            .await?;
        self.record(
            AuditAction::UserSignedOutEverywhere,
            None,
            format!("{}: {ended} sessions, by themselves", self.user.username),
        )
        .await?;
        Ok(ended)
    }

    /// Writes an audit entry in the caller's name.
    pub(crate) async fn record(
        &self,
        action: AuditAction,
        target: Option<(i64, &str)>,
        detail: String,
    ) -> Result<(), AccessError> {
        self.access
            .inner
            .audit
            .append(&NewAuditEntry {
                actor_user_id: Some(self.user.id),
                actor: self.user.username.clone(),
                actor_role: self.role_names.clone(),
                client_address: self.client.clone(),
                action,
                target_mailbox: target.map(|(id, _)| id),
                target_owner: target
                    .map(|(_, owner)| owner.to_owned())
                    .unwrap_or_default(),
                detail,
                outcome: "ok".to_owned(),
            })
            .await?;
        Ok(())
    }
}
