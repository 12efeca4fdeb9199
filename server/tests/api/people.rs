//! Users and roles over HTTP: a disabled user and a removed role count from the next request,
//! the last administrator stays, and a help desk role opens no connections.

use crate::helpers::{session_cookie, spawn_app, TestApp};

async fn signed_in(app: &TestApp, name: &str, role: Option<&str>) -> (i64, String) {
    let user = app
        .accounts
        .create_user(name, name, Some("correct horse"))
        .await
        .expect("user");
    if let Some(role) = role {
        app.roles.assign_builtin(user.id, role).await.expect("role");
    }
    let response = app
        .call(
            "sign_in",
            &[("username", name), ("password", "correct horse")],
        )
        .await;
    (user.id, session_cookie(&response).expect("signed in"))
}

testkit::each_backend!(disabling_and_roles_count_from_the_next_request);
async fn disabling_and_roles_count_from_the_next_request(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;
    let (root_id, root) = signed_in(&app, "root", Some(access::ADMINISTRATOR)).await;
    let (desk_id, desk) = signed_in(&app, "desk", Some(access::ADMINISTRATOR)).await;

    // Desk is an administrator for now.
    let tasks = app.call_as(Some(&desk), "admin/tasks", &[]).await;
    assert_eq!(tasks.status(), 200);
    // Root takes the role away and gives Help desk: desk's very next call is refused.
    let roles = app.roles.list().await.expect("roles");
    let admin_role = roles
        .iter()
        .find(|r| r.name == access::ADMINISTRATOR)
        .expect("admin");
    let help_desk = roles
        .iter()
        .find(|r| r.name == access::HELP_DESK)
        .expect("help desk");
    let (desk_s, admin_s, help_s) = (
        desk_id.to_string(),
        admin_role.id.to_string(),
        help_desk.id.to_string(),
    );
    let taken = app
        .call_as(
            Some(&root),
            "admin/unassign_role",
            &[("user", &desk_s), ("role", &admin_s)],
        )
        .await;
    assert_eq!(taken.status(), 200);
    let given = app
        .call_as(
            Some(&root),
            "admin/assign_role",
            &[
                ("user", &desk_s),
                ("role", &help_s),
                ("scope", "branch.example.com"),
            ],
        )
        .await;
    assert_eq!(given.status(), 200);
    let refused = app.call_as(Some(&desk), "admin/tasks", &[]).await;
    assert_eq!(refused.status(), 403);
    let me = app.call_as(Some(&desk), "current_user", &[]).await;
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!(
        me["permissions"],
        serde_json::json!(["browse_mail", "restore"])
    );

    // Disabling ends desk's session at once; re-enabling does not bring it back.
    let off = app
        .call_as(
            Some(&root),
            "admin/set_user_disabled",
            &[("id", &desk_s), ("disabled", "true")],
        )
        .await;
    assert_eq!(off.status(), 200);
    let gone = app.call_as(Some(&desk), "mail/overview", &[]).await;
    assert_eq!(gone.status(), 401);
    let again = app
        .call(
            "sign_in",
            &[("username", "desk"), ("password", "correct horse")],
        )
        .await;
    assert!(
        session_cookie(&again).is_none(),
        "a disabled user cannot sign in"
    );

    // The last full administrator can neither lose the role nor be disabled, nor disable
    // themselves.
    let root_s = root_id.to_string();
    let last = app
        .call_as(
            Some(&root),
            "admin/unassign_role",
            &[("user", &root_s), ("role", &admin_s)],
        )
        .await;
    assert_eq!(last.status(), 422);
    let own = app
        .call_as(
            Some(&root),
            "admin/set_user_disabled",
            &[("id", &root_s), ("disabled", "true")],
        )
        .await;
    assert_eq!(own.status(), 422);

    // Every one of these changes is in the audit log.
    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 50)
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for expected in ["role_unassigned", "role_assigned", "user_disabled"] {
        assert!(actions.contains(&expected), "{expected}: {actions:?}");
    }
}

testkit::each_backend!(users_are_created_with_their_addresses_and_roles_with_their_permissions);
async fn users_are_created_with_their_addresses_and_roles_with_their_permissions(
    kit: &testkit::TestDb,
) {
    let app = spawn_app(kit).await;
    let (_, root) = signed_in(&app, "root", Some(access::ADMINISTRATOR)).await;
    let bad = app
        .call_as(
            Some(&root),
            "admin/create_user",
            &[
                ("username", "ann"),
                ("display_name", "Ann Archer"),
                ("password", "a long password"),
                ("addresses", "ann@example.com, not-an-address"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(
        app.accounts
            .find_user("ann")
            .await
            .expect("lookup")
            .is_none(),
        "nothing half made"
    );
    let made = app
        .call_as(
            Some(&root),
            "admin/create_user",
            &[
                ("username", "ann"),
                ("display_name", "Ann Archer"),
                ("password", "a long password"),
                ("addresses", "Ann@Example.com"),
            ],
        )
        .await;
    assert_eq!(made.status(), 200);
    let listed: serde_json::Value = app
        .call_as(Some(&root), "admin/users", &[("query", "archer")])
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed["users"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(
        listed["users"][0]["addresses"],
        serde_json::json!(["ann@example.com"])
    );

    let role = app
        .call_as(
            Some(&root),
            "admin/create_role",
            &[
                ("name", "Exporters"),
                ("description", "Export for legal"),
                ("permissions", "export,browse_mail"),
            ],
        )
        .await;
    assert_eq!(role.status(), 200);
    let bad_perm = app
        .call_as(
            Some(&root),
            "admin/create_role",
            &[
                ("name", "Odd"),
                ("description", ""),
                ("permissions", "everything"),
            ],
        )
        .await;
    assert_eq!(bad_perm.status(), 422);
    let screen: serde_json::Value = app
        .call_as(Some(&root), "admin/roles", &[])
        .await
        .json()
        .await
        .expect("json");
    let exporters = screen["roles"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "Exporters"))
        .cloned()
        .expect("the new role");
    assert_eq!(
        exporters["permissions"],
        serde_json::json!(["browse_mail", "export"])
    );
    assert_eq!(exporters["builtin"], false);
}
