//! Roles, the last-administrator rule and the audit chain, on both backends.
#![allow(clippy::unwrap_used)]

use access::{
    AccessError, AuditAction, AuditFilter, AuditLog, NewAuditEntry, Permission, Roles, Scope,
    ADMINISTRATOR, AUDITOR, HELP_DESK,
};
use accounts::Accounts;

testkit::each_backend!(built_in_roles_and_the_last_administrator);
async fn built_in_roles_and_the_last_administrator(kit: &testkit::TestDb) {
    let roles = Roles::new(kit.db.clone());
    let accounts = Accounts::new(kit.db.clone());
    let all = roles.list().await.unwrap();
    let perms = |name: &str| {
        all.iter()
            .find(|r| r.name == name)
            .map(|r| r.permissions.clone())
            .unwrap()
    };
    assert_eq!(perms(ADMINISTRATOR), Permission::ALL.to_vec());
    assert_eq!(
        perms(HELP_DESK),
        [Permission::BrowseMail, Permission::Restore]
    );
    assert_eq!(perms(AUDITOR), [Permission::AuditLog]);

    // Own roles: a name once, at least one permission; built-in roles stay.
    let custom = roles
        .create("Exporters", "Export only", &[Permission::Export])
        .await
        .unwrap();
    assert!(!custom.builtin);
    assert!(matches!(
        roles.create("exporters", "", &[Permission::Export]).await,
        Err(AccessError::Invalid { .. })
    ));
    assert!(matches!(
        roles.create("Nothing", "", &[]).await,
        Err(AccessError::Invalid { .. })
    ));
    let admin_role = all.iter().find(|r| r.name == ADMINISTRATOR).unwrap();
    assert!(matches!(
        roles.delete(admin_role.id).await,
        Err(AccessError::Invalid { .. })
    ));
    roles.delete(custom.id).await.unwrap();

    // The last administrator cannot lose the role; with a second one, the first can.
    let ann = accounts.create_user("ann", "Ann", None).await.unwrap();
    let ben = accounts.create_user("ben", "Ben", None).await.unwrap();
    roles.assign_builtin(ann.id, ADMINISTRATOR).await.unwrap();
    assert!(matches!(
        roles.unassign(ann.id, admin_role.id).await,
        Err(AccessError::Invalid { .. })
    ));
    // A scoped Administrator does not count: it cannot reach every mailbox.
    roles
        .assign(
            ben.id,
            admin_role.id,
            &Scope::parse("branch.example.com").unwrap(),
        )
        .await
        .unwrap();
    assert!(roles.unassign(ann.id, admin_role.id).await.is_err());
    roles
        .assign(ben.id, admin_role.id, &Scope::All)
        .await
        .unwrap();
    roles.unassign(ann.id, admin_role.id).await.unwrap();
    assert!(roles.assignments(ann.id).await.unwrap().is_empty());
    let held = roles.assignments(ben.id).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].scope, Scope::All);
}

fn entry(detail: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor_user_id: Some(1),
        actor: "root".into(),
        actor_role: ADMINISTRATOR.into(),
        client_address: "192.0.2.7".into(),
        action: AuditAction::ItemOpened,
        target_mailbox: Some(3),
        target_owner: "alice@example.com".into(),
        detail: detail.into(),
        outcome: "ok".into(),
    }
}

testkit::each_backend!(the_chain_finds_changed_removed_and_cut_off_entries);
async fn the_chain_finds_changed_removed_and_cut_off_entries(kit: &testkit::TestDb) {
    let log = AuditLog::new(kit.db.clone());
    assert_eq!(log.verify().await.unwrap().broken, None);
    let mut seqs = Vec::new();
    for n in 0..5 {
        seqs.push(
            log.append(&entry(&format!("message {n}")))
                .await
                .unwrap()
                .seq,
        );
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    let report = log.verify().await.unwrap();
    assert_eq!((report.entries, report.broken), (5, None));

    // Filters: by owner, by action, paging by sequence.
    let by_owner = log
        .list(
            &AuditFilter {
                target_owner: Some("ALICE@example.com".into()),
                ..AuditFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(by_owner.len(), 5);
    assert_eq!(by_owner[0].seq, 5, "newest first");
    let older = log
        .list(
            &AuditFilter {
                before_seq: Some(3),
                ..AuditFilter::default()
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(older.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 1]);

    // The last entry removed: the head still says five were written.
    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(&kit.db.pool)
        .await
        .unwrap();
    let cut = log.verify().await.unwrap();
    assert_eq!(cut.broken.as_ref().map(|b| b.0), Some(5), "{cut:?}");
    // An entry in the middle removed.
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(&kit.db.pool)
        .await
        .unwrap();
    let gap = log.verify().await.unwrap();
    assert_eq!(gap.broken.as_ref().map(|b| b.0), Some(2), "{gap:?}");
    assert!(gap.broken.unwrap().1.contains("missing"));
}

#[test]
fn help_desk_scope_covers_its_domain_only() {
    let scope = Scope::parse("branch.example.com").unwrap();
    assert!(scope.covers("ann@branch.example.com"));
    assert!(!scope.covers("ceo@example.com"));
}
