//! The fixed list of permissions: one per admin screen or action. A new screen adds its variant
//! here, and the caller can only open its handle through [`crate::Caller`] with that variant.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Server connections: add, test, delete.
    Connections,
    /// Sync tasks and their mailboxes, run now, history.
    SyncTasks,
    /// Open and search the mail of mailboxes that are not one's own (within the scope).
    BrowseMail,
    /// Calendars and contacts of any mailbox (within the scope).
    BrowseCalendars,
    Snapshots,
    Export,
    Restore,
    LegacyImport,
    Retention,
    Users,
    Roles,
    AuditLog,
}

impl Permission {
    pub const ALL: [Permission; 12] = [
        Permission::Connections,
        Permission::SyncTasks,
        Permission::BrowseMail,
        Permission::BrowseCalendars,
        Permission::Snapshots,
        Permission::Export,
        Permission::Restore,
        Permission::LegacyImport,
        Permission::Retention,
        Permission::Users,
        Permission::Roles,
        Permission::AuditLog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Connections => "connections",
            Permission::SyncTasks => "sync_tasks",
            Permission::BrowseMail => "browse_mail",
            Permission::BrowseCalendars => "browse_calendars",
            Permission::Snapshots => "snapshots",
            Permission::Export => "export",
            Permission::Restore => "restore",
            Permission::LegacyImport => "legacy_import",
            Permission::Retention => "retention",
            Permission::Users => "users",
            Permission::Roles => "roles",
            Permission::AuditLog => "audit_log",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// For the roles screen's checklist.
    pub fn label(self) -> &'static str {
        match self {
            Permission::Connections => "Server connections",
            Permission::SyncTasks => "Sync tasks",
            Permission::BrowseMail => "Browse mail of any mailbox",
            Permission::BrowseCalendars => "Browse calendars and contacts",
            Permission::Snapshots => "Snapshots",
            Permission::Export => "Export",
            Permission::Restore => "Restore",
            Permission::LegacyImport => "Legacy import",
            Permission::Retention => "Retention",
            Permission::Users => "Users",
            Permission::Roles => "Roles",
            Permission::AuditLog => "Audit log",
        }
    }

    /// Whether the permission reaches mailbox content, so an assignment's scope limits it.
    pub fn is_scoped(self) -> bool {
        matches!(
            self,
            Permission::BrowseMail
                | Permission::BrowseCalendars
                | Permission::Snapshots
                | Permission::Export
                | Permission::Restore
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
        assert_eq!(Permission::parse("everything"), None);
    }
}
