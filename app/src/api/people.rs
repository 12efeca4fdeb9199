//! Users and roles: who may sign in, which mailboxes are theirs, which roles they hold, and what
//! each role may do. The users screen needs the `users` permission, the roles screen `roles`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::admin::Outcome;
use super::error::ApiError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRoleView {
    pub role_id: i64,
    pub name: String,
    /// "all mailboxes" or the domains and addresses.
    pub scope: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub addresses: Vec<String>,
    pub roles: Vec<HeldRoleView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionView {
    pub name: String,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersScreen {
    pub users: Vec<UserView>,
    /// For the "give a role" choice.
    pub roles: Vec<RoleView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesScreen {
    pub roles: Vec<RoleView>,
    pub permissions: Vec<PermissionView>,
}

#[server(endpoint = "admin/users", output = super::codec::Json)]
pub async fn admin_users(query: String) -> Result<UsersScreen, ApiError> {
    let caller = super::access::caller().await?;
    let users = caller.users()?.list(&query).await?;
    // The role list of the assign form; no `roles` permission is needed to give a role.
    let roles = caller.users()?.roles_to_give().await?;
    Ok(UsersScreen {
        users: users.iter().map(ssr::user_view).collect(),
        roles: roles.iter().map(ssr::role_view).collect(),
    })
}

#[server(endpoint = "admin/create_user", output = super::codec::Json)]
pub async fn create_user(
    username: String,
    display_name: String,
    password: String,
    addresses: String,
) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let addresses = domain::MailAddress::split_list(&addresses);
    let password = Some(password.as_str()).filter(|p| !p.is_empty());
    let user = caller
        .users()?
        .create(&username, &display_name, password, &addresses)
        .await?;
    Ok(Outcome::said(format!(
        "{} added{}.",
        user.username,
        if password.is_none() {
            " (signs in through single sign-on only)"
        } else {
            ""
        }
    )))
}

#[server(endpoint = "admin/set_user_disabled", output = super::codec::Json)]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.users()?.set_disabled(id, disabled).await?;
    Ok(Outcome::said(if disabled {
        "User disabled; their sessions have ended."
    } else {
        "User enabled."
    }))
}

#[server(endpoint = "admin/sign_out_user", output = super::codec::Json)]
pub async fn sign_out_user(id: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let ended = caller.users()?.sign_out_everywhere(id).await?;
    Ok(Outcome::said(format!(
        "Signed out everywhere ({ended} session{}).",
        if ended == 1 { "" } else { "s" }
    )))
}

#[server(endpoint = "admin/set_user_addresses", output = super::codec::Json)]
pub async fn set_user_addresses(id: i64, addresses: String) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let now = caller.users()?.set_addresses(id, &addresses).await?;
    Ok(Outcome::said(if now.is_empty() {
        "No address: the user sees no archived mailbox.".to_owned()
    } else {
        format!("Addresses saved: {}.", now.join(", "))
    }))
}

#[server(endpoint = "admin/set_user_password", output = super::codec::Json)]
pub async fn set_user_password(id: i64, password: String) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.users()?.set_password(id, &password).await?;
    Ok(Outcome::said(
        "Password set; the user's sessions have ended, so they sign in with it next.",
    ))
}

#[server(endpoint = "admin/assign_role", output = super::codec::Json)]
pub async fn assign_role(user: i64, role: i64, scope: String) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.users()?.assign_role(user, role, &scope).await?;
    Ok(Outcome::said(
        "Role given; it counts from the user's next click.",
    ))
}

#[server(endpoint = "admin/unassign_role", output = super::codec::Json)]
pub async fn unassign_role(user: i64, role: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.users()?.unassign_role(user, role).await?;
    Ok(Outcome::said("Role taken away."))
}

#[server(endpoint = "admin/roles", output = super::codec::Json)]
pub async fn admin_roles() -> Result<RolesScreen, ApiError> {
    let caller = super::access::caller().await?;
    let roles = caller.roles()?.list().await?;
    Ok(RolesScreen {
        roles: roles.iter().map(ssr::role_view).collect(),
        permissions: ssr::permissions(),
    })
}

/// `permissions`: permission names separated by commas.
#[server(endpoint = "admin/create_role", output = super::codec::Json)]
pub async fn create_role(
    name: String,
    description: String,
    permissions: String,
) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let role = caller
        .roles()?
        .create(&name, &description, &ssr::parse_permissions(&permissions)?)
        .await?;
    Ok(Outcome::said(format!("Role “{}” created.", role.name)))
}

#[server(endpoint = "admin/update_role", output = super::codec::Json)]
pub async fn update_role(
    id: i64,
    description: String,
    permissions: String,
) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    let role = caller
        .roles()?
        .update(id, &description, &ssr::parse_permissions(&permissions)?)
        .await?;
    Ok(Outcome::said(format!("Role “{}” saved.", role.name)))
}

#[server(endpoint = "admin/delete_role", output = super::codec::Json)]
pub async fn delete_role(id: i64) -> Result<Outcome, ApiError> {
    let caller = super::access::caller().await?;
    caller.roles()?.delete(id).await?;
    Ok(Outcome::said(
        "Role deleted; whoever held it no longer does.",
    ))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use access::{Permission, Role, UserSummary};

    use super::{HeldRoleView, PermissionView, RoleView, UserView};
    use crate::api::error::ApiError;

    pub fn user_view(u: &UserSummary) -> UserView {
        UserView {
            id: u.user.id,
            username: u.user.username.clone(),
            display_name: u.user.display_name.clone(),
            disabled: u.user.disabled,
            addresses: u.addresses.clone(),
            roles: u
                .roles
                .iter()
                .map(|a| HeldRoleView {
                    role_id: a.role.id,
                    name: a.role.name.clone(),
                    scope: a.scope.describe(),
                })
                .collect(),
        }
    }

    pub fn role_view(r: &Role) -> RoleView {
        RoleView {
            id: r.id,
            name: r.name.clone(),
            description: r.description.clone(),
            builtin: r.builtin,
            permissions: r
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        }
    }

    pub fn permissions() -> Vec<PermissionView> {
        Permission::ALL
            .iter()
            .map(|p| PermissionView {
                name: p.as_str().to_owned(),
                label: p.label().to_owned(),
            })
            .collect()
    }

    pub fn parse_permissions(text: &str) -> Result<Vec<Permission>, ApiError> {
        text.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                Permission::parse(p).ok_or_else(|| {
                    ApiError::invalid("permissions", format!("“{p}” is not a permission."))
                })
            })
            .collect()
    }
}
