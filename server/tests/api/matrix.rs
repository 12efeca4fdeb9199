//! The access matrix: every endpoint the router serves (plain routes, pages, server functions),
//! called as every kind of caller, allowed or refused as the roles say. An endpoint without a
//! row here fails the test, so nobody can add an unguarded one.

use std::collections::BTreeMap;

use crate::helpers::{session_cookie, spawn_app, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    SignedOut,
    EndUser,
    Administrator,
    HelpDesk,
    ScopedHelpDesk,
    Auditor,
}

const EVERYONE: [Who; 6] = [
    Who::SignedOut,
    Who::EndUser,
    Who::Administrator,
    Who::HelpDesk,
    Who::ScopedHelpDesk,
    Who::Auditor,
];
const SIGNED_IN: [Who; 5] = [
    Who::EndUser,
    Who::Administrator,
    Who::HelpDesk,
    Who::ScopedHelpDesk,
    Who::Auditor,
];

/// What a refusal looks like for this endpoint when signed in: `403` for a missing permission,
/// `404` for someone else's content (indistinguishable from a missing item), [`SCOPED`] for both.
#[derive(Clone, Copy)]
struct Row {
    endpoint: &'static str,
    allowed: &'static [Who],
    refused_with: u16,
}

/// `refused_with` of an endpoint on the seeded mailbox (alice@example.com) that needs
/// `browse_mail`: 403 without the permission, 404 for the help desk scoped to another domain.
const SCOPED: u16 = 1;
const BROWSERS: [Who; 2] = [Who::Administrator, Who::HelpDesk];
/// Who holds `export` or `restore`, in any scope.
const JOB_HOLDERS: [Who; 3] = [Who::Administrator, Who::HelpDesk, Who::ScopedHelpDesk];

const ROWS: &[Row] = &[
    Row {
        endpoint: "/admin/mailboxes",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/mailbox",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/search",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/mailbox/calendar",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/mailbox/contacts",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/mailbox/snapshots",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/mailbox/changes",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/mail/body/{item}",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/admin/download/{item}/eml",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/admin/download/{item}/attachment/{index}",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    // Calendar items and contacts as files: the calendar permission, like their cards (the
    // seeded item is a message, so the administrator is answered "not found").
    Row {
        endpoint: "/admin/download/{item}/ics",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/download/{item}/vcf",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/mailboxes",
        allowed: &[Who::Administrator, Who::HelpDesk, Who::ScopedHelpDesk],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/overview",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/api/explorer/messages",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/api/explorer/message",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/api/explorer/search",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/api/explorer/calendar_open",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/calendar_month",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/calendar_event",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/contacts_open",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/contacts",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/contact",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/search_all",
        allowed: &[Who::Administrator, Who::HelpDesk, Who::ScopedHelpDesk],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/snapshots",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/create_snapshot",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/snapshot_hold",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/delete_snapshot",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/compare",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/explorer/select_deleted",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/healthz",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/metrics",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/sign-in",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    // Pages render for everyone: their data comes from the server functions below.
    Row {
        endpoint: "/mail",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/connections",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/tasks",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/legacy",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        // Agents prove themselves with a bearer token only: a session opens nothing here.
        endpoint: "/legacy/v1/submissions",
        allowed: &[],
        refused_with: 401,
    },
    Row {
        endpoint: "/admin/legacy/upload",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/retention",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/audit",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/jobs",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/export",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    // The Jobs screen opens with `export` or `restore` (the help desk restores); each desk then
    // finds only its own kind of job in its own scope.
    Row {
        endpoint: "/api/jobs/list",
        allowed: &JOB_HOLDERS,
        refused_with: 403,
    },
    Row {
        endpoint: "/api/jobs/detail",
        allowed: &JOB_HOLDERS,
        refused_with: 403,
    },
    Row {
        endpoint: "/api/jobs/cancel",
        allowed: &JOB_HOLDERS,
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/restore",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/restore/form",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/api/restore/access",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/api/restore/start",
        allowed: &BROWSERS,
        refused_with: SCOPED,
    },
    Row {
        endpoint: "/api/restore/confirm",
        allowed: &JOB_HOLDERS,
        refused_with: 403,
    },
    Row {
        endpoint: "/api/jobs/export_choice",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/jobs/start_export",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/jobs/{job}/download",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/jobs/{job}/part/{part}",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/jobs/{job}/report.csv",
        allowed: &JOB_HOLDERS,
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/audit.csv",
        allowed: &[Who::Administrator, Who::Auditor],
        refused_with: 403,
    },
    Row {
        endpoint: "/mail/body/{item}",
        allowed: &[Who::EndUser],
        refused_with: 404,
    },
    Row {
        endpoint: "/download/{item}/eml",
        allowed: &[Who::EndUser],
        refused_with: 404,
    },
    Row {
        endpoint: "/download/{item}/attachment/{index}",
        allowed: &[Who::EndUser],
        refused_with: 404,
    },
    Row {
        endpoint: "/api/current_user",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/sign_in",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/sign_out",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/mail/overview",
        allowed: &SIGNED_IN,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/mail/messages",
        allowed: &SIGNED_IN,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/mail/search",
        allowed: &SIGNED_IN,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/mail/access_log",
        allowed: &SIGNED_IN,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/mail/message",
        allowed: &[Who::EndUser],
        refused_with: 404,
    },
    Row {
        endpoint: "/api/admin/connections",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/create_connection",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/delete_connection",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/test_connection",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/prerequisites",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/set_task_enabled",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/retention/policy",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/retention/set_default",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/retention/set_mailbox",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/retention/dry_run",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/retention/start_purge",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/retention/purges",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/legacy/start_import",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/legacy/overview",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/legacy/create_agent",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/legacy/revoke_agent",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/legacy/migrate",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/legacy/roll_back",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/tasks",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/create_task",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/add_task_mailboxes",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/remove_task_mailbox",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/delete_task",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/sync_now",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/history",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/audit",
        allowed: &[Who::Administrator, Who::Auditor],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/audit_verify",
        allowed: &[Who::Administrator, Who::Auditor],
        refused_with: 403,
    },
    Row {
        endpoint: "/admin/users",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/admin/roles",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/admin/users",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/create_user",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/set_user_disabled",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/sign_out_user",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/set_user_addresses",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/set_user_password",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/assign_role",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/unassign_role",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/roles",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/create_role",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/update_role",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/api/admin/delete_role",
        allowed: &[Who::Administrator],
        refused_with: 403,
    },
    Row {
        endpoint: "/access-log",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/auth/sso/start",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/auth/sso/callback",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/sign_in_options",
        allowed: &EVERYONE,
        refused_with: 0,
    },
    Row {
        endpoint: "/api/sign_out_everywhere",
        allowed: &SIGNED_IN,
        refused_with: 0,
    },
];

struct Callers {
    cookies: BTreeMap<Who, String>,
    item: i64,
    mailbox: i64,
}

async fn person(app: &TestApp, name: &str, role: Option<(&str, &str)>) -> String {
    let user = app
        .accounts
        .create_user(name, name, Some("correct horse"))
        .await
        .expect("user");
    if let Some((role, scope)) = role {
        let role = app
            .roles
            .by_name(role)
            .await
            .expect("roles")
            .expect("built in");
        let scope = access::Scope::parse(scope).expect("scope");
        app.roles
            .assign(user.id, role.id, &scope)
            .await
            .expect("assign");
    }
    let response = app
        .call(
            "sign_in",
            &[("username", name), ("password", "correct horse")],
        )
        .await;
    session_cookie(&response).expect("signed in")
}

async fn callers(app: &TestApp) -> Callers {
    let alice = app.signed_in_owner("alice", "alice@example.com").await;
    let seeded = app.mailbox_with_mail("alice@example.com", "quince").await;
    let mut cookies = BTreeMap::new();
    cookies.insert(Who::EndUser, alice);
    cookies.insert(
        Who::Administrator,
        person(app, "root", Some((access::ADMINISTRATOR, ""))).await,
    );
    cookies.insert(
        Who::HelpDesk,
        person(app, "desk", Some((access::HELP_DESK, ""))).await,
    );
    cookies.insert(
        Who::ScopedHelpDesk,
        person(
            app,
            "branchdesk",
            Some((access::HELP_DESK, "branch.example.com")),
        )
        .await,
    );
    cookies.insert(
        Who::Auditor,
        person(app, "auditor", Some((access::AUDITOR, ""))).await,
    );
    Callers {
        cookies,
        item: seeded.items[0].0,
        mailbox: seeded.id,
    }
}

/// The request of a row: a GET for routes and pages, the server function's POST with harmless
/// arguments (ids that do not exist: an allowed call may then answer "not found" or "invalid").
async fn call(app: &TestApp, row: &Row, cookie: Option<&str>, item: i64, mailbox: i64) -> u16 {
    let item = item.to_string();
    let mailbox = mailbox.to_string();
    let mb = ("mailbox", mailbox.as_str());
    if let Some(endpoint) = row.endpoint.strip_prefix("/api/") {
        let form: Vec<(&str, &str)> = match endpoint {
            "sign_in" => vec![("username", ""), ("password", "")],
            "mail/messages" => vec![("sort", "")],
            "mail/search" => vec![("query", "quince"), ("page", "0"), ("sort", "")],
            "mail/message" | "explorer/message" => vec![("item", &item)],
            "explorer/overview"
            | "explorer/snapshots"
            | "explorer/calendar_open"
            | "explorer/calendar_month"
            | "explorer/contacts_open"
            | "explorer/contacts" => vec![mb],
            "explorer/calendar_event" | "explorer/contact" => vec![mb, ("item", &item)],
            "explorer/messages" => vec![mb, ("sort", "")],
            "explorer/search" => vec![mb, ("query", "quince"), ("page", "0"), ("sort", "")],
            "explorer/search_all" => vec![("query", "quince")],
            "jobs/detail" | "jobs/cancel" => vec![("id", "999999")],
            "admin/set_task_enabled" => vec![("task", "999999"), ("enabled", "true")],
            // Names and addresses that break the rules: allowed callers get the refusal.
            "legacy/create_agent" => vec![("name", "")],
            "legacy/revoke_agent" => vec![("id", "999999")],
            "legacy/migrate" => vec![("addresses", "not-an-address"), ("confirm", "yes")],
            "legacy/roll_back" => vec![("address", "a@example.com")],
            "legacy/start_import" => vec![
                ("file", "../x"),
                ("mailbox", "a@example.com"),
                ("owner", ""),
            ],
            // Day counts that are not numbers: allowed callers get the refusal of the input.
            "retention/set_default" => vec![
                ("mail_days", "soon"),
                ("mail_basis", "left_source"),
                ("calendar_days", ""),
                ("calendar_basis", "left_source"),
                ("contacts_days", ""),
                ("contacts_basis", "left_source"),
            ],
            "retention/set_mailbox" => vec![
                ("mailbox", "999999"),
                ("mail_mode", "default"),
                ("mail_days", ""),
                ("mail_basis", "left_source"),
                ("calendar_mode", "default"),
                ("calendar_days", ""),
                ("calendar_basis", "left_source"),
                ("contacts_mode", "default"),
                ("contacts_days", ""),
                ("contacts_basis", "left_source"),
            ],
            // A mailbox that does not exist: nothing is purged.
            "retention/start_purge" | "retention/dry_run" => vec![("mailbox", "999999")],
            "restore/form" => vec![mb],
            "restore/access" => vec![("target", "999999:alice@example.com")],
            // A connection that does not exist: allowed callers get the refusal of the input.
            "restore/start" => vec![
                mb,
                ("target", "999999:alice@example.com"),
                ("placement", "original"),
                ("mail", "on"),
            ],
            "restore/confirm" => vec![("dry_run", "999999")],
            "jobs/export_choice" => vec![mb],
            // A format that does not exist: allowed callers get the refusal of the input.
            "jobs/start_export" => vec![mb, ("format", "none"), ("mail", "on")],
            "explorer/create_snapshot" => {
                vec![mb, ("task", "999999"), ("at", ""), ("label", "Matrix")]
            }
            "explorer/snapshot_hold" => vec![("id", "999999"), ("hold", "true")],
            "explorer/delete_snapshot" => vec![("id", "999999")],
            "explorer/compare" | "explorer/select_deleted" => {
                vec![mb, ("from", "2020-01-01T00:00")]
            }
            "admin/create_connection" => vec![
                ("name", "Matrix"),
                ("kind", "ews"),
                ("url", "https://mail.example.com/EWS/Exchange.asmx"),
                ("username", "svc@example.com"),
                ("tenant_id", ""),
                ("client_id", ""),
                ("secret", "pw"),
            ],
            "admin/delete_connection" | "admin/test_connection" => vec![("id", "999999")],
            "admin/create_task" => vec![
                ("name", "Matrix"),
                ("connection", "999999"),
                ("mailboxes", "a@example.com"),
                ("mail", "on"),
                ("runs_per_day", "4"),
            ],
            "admin/add_task_mailboxes" => vec![("task", "999999"), ("mailboxes", "b@example.com")],
            "admin/remove_task_mailbox" | "admin/history" => {
                vec![("task", "999999"), ("address", "a@example.com")]
            }
            "admin/delete_task" | "admin/sync_now" => vec![("task", "999999")],
            "admin/audit" => vec![
                ("actor", ""),
                ("action", ""),
                ("mailbox", ""),
                ("from", ""),
                ("until", ""),
            ],
            "admin/users" => vec![("query", "")],
            "admin/create_user" => vec![
                ("username", "matrix"),
                ("display_name", ""),
                ("password", ""),
                ("addresses", ""),
            ],
            "admin/set_user_disabled" => vec![("id", "999999"), ("disabled", "false")],
            "admin/sign_out_user" | "admin/delete_role" => vec![("id", "999999")],
            "admin/set_user_addresses" => vec![("id", "999999"), ("addresses", "")],
            "admin/set_user_password" => vec![("id", "999999"), ("password", "long enough pw")],
            "admin/assign_role" => vec![("user", "999999"), ("role", "1"), ("scope", "")],
            "admin/unassign_role" => vec![("user", "999999"), ("role", "999999")],
            "admin/create_role" => vec![
                ("name", "Matrix role"),
                ("description", ""),
                ("permissions", "export"),
            ],
            "admin/update_role" => vec![
                ("id", "999999"),
                ("description", ""),
                ("permissions", "export"),
            ],
            _ => vec![],
        };
        return app.call_as(cookie, endpoint, &form).await.status().as_u16();
    }
    let path = row
        .endpoint
        .replace("{item}", &item)
        .replace("{index}", "0")
        .replace("{job}", "999999")
        .replace("{part}", "1");
    app.get_as(cookie, &path).await.status().as_u16()
}

testkit::each_backend!(every_endpoint_allows_and_refuses_as_the_roles_say);
async fn every_endpoint_allows_and_refuses_as_the_roles_say(kit: &testkit::TestDb) {
    let app = spawn_app(kit).await;

    // Every endpoint has a row, and every row an endpoint.
    let served = server::web::endpoints();
    let rows: Vec<String> = ROWS.iter().map(|r| r.endpoint.to_owned()).collect();
    let unguarded: Vec<&String> = served.iter().filter(|e| !rows.contains(e)).collect();
    assert!(
        unguarded.is_empty(),
        "endpoints without a row in the access matrix: {unguarded:?}"
    );
    let stale: Vec<&String> = rows.iter().filter(|r| !served.contains(r)).collect();
    assert!(
        stale.is_empty(),
        "matrix rows for endpoints that do not exist: {stale:?}"
    );

    let callers = callers(&app).await;
    // Signing out ends the session the other rows need: it goes last.
    let (last, first): (Vec<&Row>, Vec<&Row>) = ROWS
        .iter()
        .partition(|r| r.endpoint.starts_with("/api/sign_out"));
    // "Everywhere" before the plain sign-out: each needs the session the other ends, and the
    // plain one still answers for a session that is gone.
    let mut last = last;
    last.sort_by_key(|r| r.endpoint == "/api/sign_out");
    for row in first.into_iter().chain(last) {
        for who in EVERYONE {
            let cookie = callers.cookies.get(&who).map(String::as_str);
            let status = call(&app, row, cookie, callers.item, callers.mailbox).await;
            let endpoint = row.endpoint;
            if row.allowed.contains(&who) {
                assert!(
                    !matches!(status, 401 | 403)
                        && (status != 404 || !matches!(row.refused_with, 404 | SCOPED)),
                    "{endpoint} as {who:?} should be allowed, got {status}"
                );
                assert!(status < 500, "{endpoint} as {who:?}: {status}");
            } else if who == Who::SignedOut {
                assert_eq!(status, 401, "{endpoint} signed out");
            } else if row.refused_with == SCOPED {
                let expected = if who == Who::ScopedHelpDesk { 404 } else { 403 };
                assert_eq!(status, expected, "{endpoint} as {who:?}");
            } else {
                assert_eq!(status, row.refused_with, "{endpoint} as {who:?}");
            }
        }
    }
}

testkit::each_backend!(changes_and_sign_ins_are_in_the_audit_log_and_a_tampered_entry_is_found);
async fn changes_and_sign_ins_are_in_the_audit_log_and_a_tampered_entry_is_found(
    kit: &testkit::TestDb,
) {
    let app = spawn_app(kit).await;
    let callers = callers(&app).await;
    let admin = callers.cookies[&Who::Administrator].clone();
    let wrong = app
        .call("sign_in", &[("username", "root"), ("password", "not it")])
        .await;
    assert_eq!(wrong.status(), 200);
    let created = app
        .call_as(
            Some(&admin),
            "admin/create_connection",
            &[
                ("name", "Audited"),
                ("kind", "ews"),
                ("url", "https://mail.example.com/EWS/Exchange.asmx"),
                ("username", "svc@example.com"),
                ("tenant_id", ""),
                ("client_id", ""),
                ("secret", "pw"),
            ],
        )
        .await;
    assert_eq!(created.status(), 200);
    let entries = app
        .audit
        .list(&access::AuditFilter::default(), 100)
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"sign_in_failed"), "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == "sign_in").count(),
        5,
        "{actions:?}"
    );
    let made = entries
        .iter()
        .find(|e| e.action == "connection_created")
        .expect("the connection's creation is logged");
    assert_eq!(made.actor, "root");
    assert_eq!(made.actor_role, access::ADMINISTRATOR);
    assert_eq!(made.client_address, "127.0.0.1");
    assert!(made.detail.contains("Audited"));

    // The auditor reads and verifies it; the end user cannot.
    let auditor = &callers.cookies[&Who::Auditor];
    let days = |from: &'static str, until: &'static str| {
        [
            ("actor", ""),
            ("action", ""),
            ("mailbox", ""),
            ("from", from),
            ("until", until),
        ]
    };
    let since_2000: serde_json::Value = app
        .call_as(Some(auditor), "admin/audit", &days("2000-01-01", ""))
        .await
        .json()
        .await
        .expect("json");
    assert!(since_2000["rows"].as_array().is_some_and(|r| !r.is_empty()));
    let in_2000: serde_json::Value = app
        .call_as(
            Some(auditor),
            "admin/audit",
            &days("2000-01-01", "2000-12-31"),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(in_2000["rows"], serde_json::json!([]));
    let bad_day = app
        .call_as(Some(auditor), "admin/audit", &days("yesterday", ""))
        .await;
    assert_eq!(bad_day.status(), 422);
    let verify = app.call_as(Some(auditor), "admin/audit_verify", &[]).await;
    assert_eq!(verify.status(), 200);
    assert!(verify.text().await.expect("body").contains("intact"));

    // Someone with database access edits an entry: the chain names it.
    sqlx::query("UPDATE audit_log SET detail = 'nothing to see' WHERE seq = $1")
        .bind(made.seq)
        .execute(&kit.db.pool)
        .await
        .expect("tamper");
    let report = app.audit.verify().await.expect("verify");
    assert_eq!(
        report.broken.as_ref().map(|b| b.0),
        Some(made.seq),
        "{report:?}"
    );
    let verify = app.call_as(Some(auditor), "admin/audit_verify", &[]).await;
    let text = verify.text().await.expect("body");
    assert!(
        text.contains(&format!("Broken at entry {}", made.seq)),
        "{text}"
    );
}
