//! Roles (named sets of permissions) and who holds which, with what scope (`0300_access.sql`).

use std::collections::BTreeMap;

use accounts::UserId;
use database::Database;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{AccessError, Permission, Scope};

pub const ADMINISTRATOR: &str = "Administrator";
pub const HELP_DESK: &str = "Help desk";
pub const AUDITOR: &str = "Auditor";

pub type RoleId = i64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<Permission>,
}

/// A role held by a user, for a scope of mailboxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub user_id: UserId,
    pub role: Role,
    pub scope: Scope,
}

#[derive(Debug, Clone)]
pub struct Roles {
    db: Database,
}

fn now() -> i64 {
    domain::Timestamp::now().0
}

impl Roles {
    pub fn new(db: Database) -> Roles {
        Roles { db }
    }

    pub async fn list(&self) -> Result<Vec<Role>, AccessError> {
        let rows = sqlx::query(
            "SELECT id, name, description, builtin FROM roles ORDER BY builtin DESC, name",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let perms = sqlx::query("SELECT role_id, permission FROM role_permissions")
            .fetch_all(&self.db.pool)
            .await?;
        let mut by_role: BTreeMap<i64, Vec<Permission>> = BTreeMap::new();
        for row in &perms {
            let role: i64 = row.try_get("role_id")?;
            let name: String = row.try_get("permission")?;
            // A permission this version no longer knows grants nothing.
            if let Some(p) = Permission::parse(&name) {
                by_role.entry(role).or_default().push(p);
            }
        }
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get("id")?;
                let mut permissions = by_role.remove(&id).unwrap_or_default();
                permissions.sort();
                Ok(Role {
                    id,
                    name: row.try_get("name")?,
                    description: row.try_get("description")?,
                    builtin: row.try_get::<i64, _>("builtin")? != 0,
                    permissions,
                })
            })
            .collect()
    }

    pub async fn by_name(&self, name: &str) -> Result<Option<Role>, AccessError> {
        Ok(self.list().await?.into_iter().find(|r| r.name == name))
    }

    /// Creates a role of the administrator's own. Names are unique, ignoring case.
    pub async fn create(
        &self,
        name: &str,
        description: &str,
        permissions: &[Permission],
    ) -> Result<Role, AccessError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(AccessError::invalid("name", "Give the role a name."));
        }
        if permissions.is_empty() {
            return Err(AccessError::invalid(
                "permissions",
                "Choose at least one permission.",
            ));
        }
        if self
            .list()
            .await?
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(name))
        {
            return Err(AccessError::invalid(
                "name",
                format!("A role named “{name}” exists already."),
            ));
        }
        let mut tx = self.db.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO roles (name, description, builtin, created_at) VALUES ($1, $2, 0, $3) RETURNING id",
        )
        .bind(name)
        .bind(description.trim())
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        insert_permissions(&mut tx, id, permissions).await?;
        tx.commit().await?;
        self.list()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AccessError::NotFound)
    }

    /// Changes a role of one's own: its description and permissions. Built-in roles stay as
    /// they are, so "Administrator" always means everything.
    pub async fn update(
        &self,
        id: RoleId,
        description: &str,
        permissions: &[Permission],
    ) -> Result<Role, AccessError> {
        let role = self
            .list()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AccessError::NotFound)?;
        if role.builtin {
            return Err(AccessError::invalid(
                "id",
                format!("“{}” is built in and cannot be changed.", role.name),
            ));
        }
        if permissions.is_empty() {
            return Err(AccessError::invalid(
                "permissions",
                "Choose at least one permission.",
            ));
        }
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("UPDATE roles SET description = $1 WHERE id = $2")
            .bind(description.trim())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM role_permissions WHERE role_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        insert_permissions(&mut tx, id, permissions).await?;
        tx.commit().await?;
        self.list()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AccessError::NotFound)
    }

    /// Whether anyone else, enabled, holds Administrator for all mailboxes.
    pub async fn another_full_administrator(&self, besides: UserId) -> Result<bool, AccessError> {
        let holders: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM role_assignments a JOIN roles r ON r.id = a.role_id \
             JOIN users u ON u.id = a.user_id \
             WHERE r.name = $1 AND r.builtin = 1 AND a.scope = '' AND u.disabled = 0 AND a.user_id <> $2",
        )
        .bind(ADMINISTRATOR)
        .bind(besides)
        .fetch_one(&self.db.pool)
        .await?;
        Ok(holders > 0)
    }

    /// Deletes a role of one's own; the built-in roles stay. Its assignments go with it.
    pub async fn delete(&self, id: RoleId) -> Result<(), AccessError> {
        let role = self
            .list()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AccessError::NotFound)?;
        if role.builtin {
            return Err(AccessError::invalid(
                "id",
                format!("“{}” is built in and cannot be deleted.", role.name),
            ));
        }
        sqlx::query("DELETE FROM roles WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Every role the user holds, with its scope.
    pub async fn assignments(&self, user: UserId) -> Result<Vec<Assignment>, AccessError> {
        let rows = sqlx::query("SELECT role_id, scope FROM role_assignments WHERE user_id = $1")
            .bind(user)
            .fetch_all(&self.db.pool)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let roles = self.list().await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let role_id: i64 = row.try_get("role_id")?;
            let scope: String = row.try_get("scope")?;
            if let Some(role) = roles.iter().find(|r| r.id == role_id) {
                out.push(Assignment {
                    user_id: user,
                    role: role.clone(),
                    scope: Scope::from_stored(&scope),
                });
            }
        }
        Ok(out)
    }

    /// Gives the user a role (again: the scope is replaced).
    pub async fn assign(
        &self,
        user: UserId,
        role: RoleId,
        scope: &Scope,
    ) -> Result<(), AccessError> {
        sqlx::query(
            "INSERT INTO role_assignments (user_id, role_id, scope, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, role_id) DO UPDATE SET scope = excluded.scope",
        )
        .bind(user)
        .bind(role)
        .bind(scope.to_stored())
        .bind(now())
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Takes a role away. The last holder of Administrator keeps it: without one, nobody could
    /// give it back.
    pub async fn unassign(&self, user: UserId, role: RoleId) -> Result<(), AccessError> {
        let admin_role: Option<i64> =
            sqlx::query_scalar("SELECT id FROM roles WHERE name = $1 AND builtin = 1")
                .bind(ADMINISTRATOR)
                .fetch_optional(&self.db.pool)
                .await?;
        if admin_role == Some(role) && !self.another_full_administrator(user).await? {
            return Err(last_administrator("role"));
        }
        sqlx::query("DELETE FROM role_assignments WHERE user_id = $1 AND role_id = $2")
            .bind(user)
            .bind(role)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// The roles a sign-on provider says the user has, for all mailboxes: the assignments an
    /// earlier sign-on made are replaced; ones an administrator made stay as they are.
    pub async fn replace_sso_roles(
        &self,
        user: UserId,
        roles: &[RoleId],
    ) -> Result<(), AccessError> {
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM role_assignments WHERE user_id = $1 AND source = 'sso'")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        for role in roles {
            sqlx::query(
                "INSERT INTO role_assignments (user_id, role_id, scope, created_at, source) \
                 VALUES ($1, $2, '', $3, 'sso') ON CONFLICT (user_id, role_id) DO NOTHING",
            )
            .bind(user)
            .bind(role)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives a built-in role by name, for all mailboxes (set-up, the command line, the demo).
    pub async fn assign_builtin(&self, user: UserId, name: &str) -> Result<(), AccessError> {
        let role = self.by_name(name).await?.ok_or(AccessError::NotFound)?;
        self.assign(user, role.id, &Scope::All).await
    }
}

/// Refusing to leave the archive without an administrator for all mailboxes.
pub(crate) fn last_administrator(field: &str) -> AccessError {
    AccessError::invalid(
        field,
        "This is the last administrator: give the Administrator role to someone else first.",
    )
}

async fn insert_permissions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    role: RoleId,
    permissions: &[Permission],
) -> Result<(), AccessError> {
    for p in permissions {
        sqlx::query(
            "INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(role)
        .bind(p.as_str())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
