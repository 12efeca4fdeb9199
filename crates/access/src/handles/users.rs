use accounts::{User, UserId};
use domain::MailAddress;

use crate::{AccessError, Assignment, AuditAction, Caller, RoleId, Scope, ADMINISTRATOR};

/// A user as the users screen lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    pub user: User,
    pub addresses: Vec<String>,
    pub roles: Vec<Assignment>,
}

/// Users, their addresses, roles and sessions (permission `users`).
pub struct UsersAdmin<'a> {
    caller: &'a Caller,
}

impl<'a> UsersAdmin<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        UsersAdmin { caller }
    }

    fn accounts(&self) -> &accounts::Accounts {
        &self.caller.access.inner.accounts
    }

    fn roles(&self) -> &crate::Roles {
        &self.caller.access.inner.roles
    }

    /// Users whose name, display name or an address contains `query` (all when empty).
    pub async fn list(&self, query: &str) -> Result<Vec<UserSummary>, AccessError> {
        let query = query.trim().to_lowercase();
        let mut out = Vec::new();
        for user in self.accounts().list_users().await? {
            let addresses = self.accounts().addresses(user.id).await?;
            let matches = query.is_empty()
                || user.username.contains(&query)
                || user.display_name.to_lowercase().contains(&query)
                || addresses.iter().any(|a| a.contains(&query));
            if matches {
                let roles = self.roles().assignments(user.id).await?;
                out.push(UserSummary {
                    user,
                    addresses,
                    roles,
                });
            }
        }
        Ok(out)
    }

    /// The roles that can be given, for the users screen's choice.
    pub async fn roles_to_give(&self) -> Result<Vec<crate::Role>, AccessError> {
        self.roles().list().await
    }

    async fn user(&self, id: UserId) -> Result<User, AccessError> {
        self.accounts().user(id).await?.ok_or(AccessError::NotFound)
    }

    /// A new user; without a password they can sign in only through single sign-on.
    pub async fn create(
        &self,
        username: &str,
        display_name: &str,
        password: Option<&str>,
        addresses: &[String],
    ) -> Result<User, AccessError> {
        // Checked before the user exists, so a bad address leaves no half-made account.
        for a in addresses {
            MailAddress::parse(a)
                .map_err(|e| AccessError::invalid("addresses", format!("{e}.")))?;
        }
        let display = if display_name.trim().is_empty() {
            username
        } else {
            display_name
        };
        let user = self
            .accounts()
            .create_user(username, display, password.filter(|p| !p.is_empty()))
            .await?;
        self.accounts().set_addresses(user.id, addresses).await?;
        self.caller
            .record(AuditAction::UserCreated, None, user.username.clone())
            .await?;
        Ok(user)
    }

    /// Disabling ends the user's sessions at once. The last administrator stays enabled.
    pub async fn set_disabled(&self, id: UserId, disabled: bool) -> Result<(), AccessError> {
        let user = self.user(id).await?;
        if disabled {
            if id == self.caller.user().id {
                return Err(AccessError::invalid(
                    "id",
                    "You cannot disable your own account.",
                ));
            }
            let is_admin =
                self.roles().assignments(id).await?.iter().any(|a| {
                    a.role.builtin && a.role.name == ADMINISTRATOR && a.scope == Scope::All
                });
            if is_admin && !self.roles().another_full_administrator(id).await? {
                return Err(crate::roles::last_administrator("id"));
            }
        }
        self.accounts().set_disabled(id, disabled).await?;
        self.caller
            .record(
                if disabled {
                    AuditAction::UserDisabled
                } else {
                    AuditAction::UserEnabled
                },
                None,
                user.username,
            )
            .await
    }

    /// Ends every session of the user ("sign out everywhere").
    pub async fn sign_out_everywhere(&self, id: UserId) -> Result<u64, AccessError> {
        let user = self.user(id).await?;
        let ended = self.accounts().end_sessions(id).await?;
        self.caller
            .record(
                AuditAction::UserSignedOutEverywhere,
                None,
                format!("{}: {ended} sessions", user.username),
            )
            .await?;
        Ok(ended)
    }

    /// The addresses whose mailboxes the user sees as their own.
    pub async fn set_addresses(&self, id: UserId, text: &str) -> Result<Vec<String>, AccessError> {
        let user = self.user(id).await?;
        let addresses = MailAddress::split_list(text);
        self.accounts().set_addresses(id, &addresses).await?;
        let now = self.accounts().addresses(id).await?;
        self.caller
            .record(
                AuditAction::UserAddressesSet,
                None,
                format!("{}: addresses {}", user.username, now.join(", ")),
            )
            .await?;
        Ok(now)
    }

    /// A new password chosen by the administrator (a forced reset); the user's sessions end.
    pub async fn set_password(&self, id: UserId, password: &str) -> Result<(), AccessError> {
        let user = self.user(id).await?;
        self.accounts()
            .set_password(&user.username, password)
            .await?;
        self.accounts().end_sessions(id).await?;
        self.caller
            .record(AuditAction::PasswordSet, None, user.username)
            .await
    }

    pub async fn assign_role(
        &self,
        id: UserId,
        role: RoleId,
        scope: &str,
    ) -> Result<(), AccessError> {
        let user = self.user(id).await?;
        let scope = Scope::parse(scope).map_err(|m| AccessError::invalid("scope", m))?;
        let role_name = self
            .roles()
            .list()
            .await?
            .into_iter()
            .find(|r| r.id == role)
            .map(|r| r.name)
            .ok_or(AccessError::NotFound)?;
        self.roles().assign(id, role, &scope).await?;
        self.caller
            .record(
                AuditAction::RoleAssigned,
                None,
                format!("{}: {role_name} for {}", user.username, scope.describe()),
            )
            .await
    }

    pub async fn unassign_role(&self, id: UserId, role: RoleId) -> Result<(), AccessError> {
        let user = self.user(id).await?;
        self.roles().unassign(id, role).await?;
        self.caller
            .record(
                AuditAction::RoleUnassigned,
                None,
                format!("{}: role {role}", user.username),
            )
            .await
    }
}
