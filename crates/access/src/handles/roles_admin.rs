use crate::{AccessError, AuditAction, Caller, Permission, Role, RoleId};

/// Roles and their permissions (permission `roles`).
pub struct RolesAdmin<'a> {
    caller: &'a Caller,
}

impl<'a> RolesAdmin<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        RolesAdmin { caller }
    }

    fn roles(&self) -> &crate::Roles {
        &self.caller.access.inner.roles
    }

    pub async fn list(&self) -> Result<Vec<Role>, AccessError> {
        self.roles().list().await
    }

    pub async fn create(
        &self,
        name: &str,
        description: &str,
        permissions: &[Permission],
    ) -> Result<Role, AccessError> {
        let role = self.roles().create(name, description, permissions).await?;
        self.caller
            .record(AuditAction::RoleCreated, None, describe(&role))
            .await?;
        Ok(role)
    }

    pub async fn update(
        &self,
        id: RoleId,
        description: &str,
        permissions: &[Permission],
    ) -> Result<Role, AccessError> {
        let role = self.roles().update(id, description, permissions).await?;
        self.caller
            .record(AuditAction::RoleChanged, None, describe(&role))
            .await?;
        Ok(role)
    }

    pub async fn delete(&self, id: RoleId) -> Result<(), AccessError> {
        self.roles().delete(id).await?;
        self.caller
            .record(AuditAction::RoleDeleted, None, format!("role {id}"))
            .await
    }
}

fn describe(role: &Role) -> String {
    let perms: Vec<&str> = role.permissions.iter().map(|p| p.as_str()).collect();
    format!("{} ({})", role.name, perms.join(", "))
}
