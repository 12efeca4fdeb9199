//! The explorer over HTTP against the simulator: a synced mailbox opened now and as of an
//! instant, a snapshot taken, items deleted and moved in the source, the next sync, and the
//! difference naming exactly those changes; the refusals on the way.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{builtin, json, person, spawn_app, TestApp};

const ALICE: &str = "alice.martin@example.com";

async fn ok(response: reqwest::Response) -> Value {
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn sign_in(app: &TestApp, name: &str, role: &str, scope: &str) -> String {
    person(app, name, &builtin(app, role).await, scope).await
}

/// Runs the task now and waits until the mailbox has `runs` finished runs, healthy.
async fn sync(app: &TestApp, admin: &str, task: &str, runs: usize) {
    ok(app
        .call_as(Some(admin), "admin/sync_now", &[("task", task)])
        .await)
    .await;
    let mut history = Value::Null;
    for _ in 0..200 {
        history = ok(app
            .call_as(
                Some(admin),
                "admin/history",
                &[("task", task), ("address", ALICE)],
            )
            .await)
        .await;
        let tasks = ok(app.call_as(Some(admin), "admin/tasks", &[]).await).await;
        let idle = tasks[0]["mailboxes"][0]["running"] == false;
        if idle && history.as_array().is_some_and(|h| h.len() >= runs) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {runs} runs: {history}");
}

/// A connection to the simulator and a task "Staff" for Alice syncing `what`, run once;
/// returns the task's id.
async fn synced_task(
    app: &TestApp,
    sim: &exchange_sim::RunningSim,
    admin: &str,
    what: &[(&str, &str)],
) -> String {
    let defaults = exchange_sim::SimConfig::for_tests();
    let ews_url = sim.ews_url();
    ok(app
        .call_as(
            Some(admin),
            "admin/create_connection",
            &[
                ("name", "Head office"),
                ("kind", "ews"),
                ("url", &ews_url),
                ("username", &defaults.service_account),
                ("tenant_id", ""),
                ("client_id", ""),
                ("secret", &defaults.service_password),
            ],
        )
        .await)
    .await;
    let connections = ok(app.call_as(Some(admin), "admin/connections", &[]).await).await;
    let connection = connections[0]["id"].to_string();
    // A task may be enabled only on a connection that passed its test.
    let tested = ok(app
        .call_as(
            Some(admin),
            "admin/test_connection",
            &[("id", connection.as_str())],
        )
        .await)
    .await;
    assert_eq!(tested["ok"], true, "{tested}");
    let mut form = vec![
        ("name", "Staff"),
        ("connection", connection.as_str()),
        ("mailboxes", ALICE),
        ("runs_per_day", "4"),
    ];
    form.extend_from_slice(what);
    ok(app.call_as(Some(admin), "admin/create_task", &form).await).await;
    let tasks = ok(app.call_as(Some(admin), "admin/tasks", &[]).await).await;
    let task = tasks[0]["id"].to_string();
    sync(app, admin, &task, 1).await;
    task
}

fn folder<'a>(overview: &'a Value, kind: &str) -> &'a Value {
    overview["overview"]["folders"]
        .as_array()
        .expect("folders")
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {overview}"))
}

testkit::each_backend!(a_snapshot_compared_with_now_names_what_the_source_deleted_and_moved);
async fn a_snapshot_compared_with_now_names_what_the_source_deleted_and_moved(
    kit: &testkit::TestDb,
) {
    let sim = exchange_sim::start(exchange_sim::SimConfig::for_tests())
        .await
        .expect("simulator");
    let app = spawn_app(kit).await;
    let admin = sign_in(&app, "root", access::ADMINISTRATOR, "").await;
    let desk = sign_in(&app, "desk", access::HELP_DESK, "").await;
    let branch = sign_in(&app, "branch", access::HELP_DESK, "branch.example.com").await;

    let task = synced_task(&app, &sim, &admin, &[("mail", "on")]).await;

    // The explorer lists the mailbox with its sync, for those whose scope reaches it.
    let list = ok(app.call_as(Some(&admin), "explorer/mailboxes", &[]).await).await;
    let entry = list
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["owner"] == ALICE)
        .cloned()
        .expect("alice's mailbox");
    assert!(entry["items"].as_i64().is_some_and(|n| n > 0), "{entry}");
    assert_eq!(entry["syncs"][0]["task"], "Staff");
    assert_eq!(entry["syncs"][0]["status"], "healthy");
    let scoped = ok(app.call_as(Some(&branch), "explorer/mailboxes", &[]).await).await;
    assert_eq!(
        scoped,
        serde_json::json!([]),
        "outside the scope: not listed"
    );
    let mailbox = entry["id"].to_string();
    let mb = ("mailbox", mailbox.as_str());

    let now = ok(app.call_as(Some(&desk), "explorer/overview", &[mb]).await).await;
    let inbox_before = folder(&now, "inbox")["total"].as_i64().expect("total");
    assert!(inbox_before >= 2, "{now}");
    let inbox_id = folder(&now, "inbox")["id"].to_string();

    // A snapshot "now", made from the task that syncs the mailbox.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let made = ok(app
        .call_as(
            Some(&admin),
            "explorer/create_snapshot",
            &[
                mb,
                ("task", &task),
                ("at", ""),
                ("label", "Before the clean-up"),
                ("hold", "on"),
            ],
        )
        .await)
    .await;
    assert!(made["message"].as_str().is_some_and(|m| m.contains("held")));
    let screen = ok(app.call_as(Some(&admin), "explorer/snapshots", &[mb]).await).await;
    let snapshot = &screen["snapshots"][0];
    assert_eq!(snapshot["label"], "Before the clean-up");
    assert_eq!(snapshot["task"], "Staff");
    assert_eq!(snapshot["hold"], true);
    let snapshot_at = snapshot["at"].as_str().expect("at").to_owned();
    let snapshot_id = snapshot["id"].to_string();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The source deletes one message and moves another to Deleted Items; the next sync sees it.
    let handle = sim.handle();
    let items = handle.list_items(ALICE, "inbox").expect("items");
    handle.delete_item(ALICE, items[0]).expect("delete");
    handle
        .move_item(ALICE, items[1], "deleteditems")
        .expect("move");
    sync(&app, &admin, &task, 2).await;

    let diff = ok(app
        .call_as(
            Some(&admin),
            "explorer/compare",
            &[mb, ("from", &snapshot_at)],
        )
        .await)
    .await;
    let count = |kind: &str| {
        diff["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .find(|c| c["kind"] == kind)
            .and_then(|c| c["count"].as_u64())
            .unwrap_or(0)
    };
    assert_eq!(
        (
            count("deleted"),
            count("moved"),
            count("added"),
            count("read_changed")
        ),
        (1, 1, 0, 0),
        "{diff}"
    );
    let moved = diff["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["kind"] == "moved")
        .cloned()
        .expect("a moved row");
    assert_eq!(moved["from_folder"], "Inbox", "{moved}");
    assert_eq!(moved["to_folder"], "Deleted Items", "{moved}");
    assert!(
        moved["observed"]
            .as_str()
            .is_some_and(|o| o.starts_with("Between the syncs of")),
        "{moved}"
    );
    // Filtered by kind and by folder.
    let only_deleted = ok(app
        .call_as(
            Some(&admin),
            "explorer/compare",
            &[mb, ("from", &snapshot_at), ("kinds", "deleted")],
        )
        .await)
    .await;
    assert_eq!(only_deleted["matching"], 1);
    assert_eq!(only_deleted["rows"][0]["kind"], "deleted");
    let in_inbox = ok(app
        .call_as(
            Some(&admin),
            "explorer/compare",
            &[mb, ("from", &snapshot_at), ("folder", &inbox_id)],
        )
        .await)
    .await;
    assert_eq!(in_inbox["matching"], 2, "both left the Inbox");

    // The snapshot's instant still shows the Inbox as it was; now shows it without the two.
    let then = ok(app
        .call_as(
            Some(&desk),
            "explorer/overview",
            &[mb, ("at", &snapshot_at)],
        )
        .await)
    .await;
    assert_eq!(folder(&then, "inbox")["total"], inbox_before);
    assert!(then["instant"]["precision"]
        .as_str()
        .is_some_and(|p| p.starts_with("As seen by the sync of")));
    let list_then = ok(app
        .call_as(
            Some(&desk),
            "explorer/messages",
            &[
                mb,
                ("folder", &inbox_id),
                ("sort", ""),
                ("at", &snapshot_at),
            ],
        )
        .await)
    .await;
    assert_eq!(
        list_then["rows"].as_array().map(Vec::len),
        Some(inbox_before as usize)
    );
    let now = ok(app.call_as(Some(&desk), "explorer/overview", &[mb]).await).await;
    assert_eq!(folder(&now, "inbox")["total"], inbox_before - 2);

    // "Everything deleted since the snapshot" becomes a selection for export and restore.
    let selected = ok(app
        .call_as(
            Some(&admin),
            "explorer/select_deleted",
            &[
                mb,
                ("from", &snapshot_at),
                ("label", "Deleted after the snapshot"),
            ],
        )
        .await)
    .await;
    assert!(
        selected["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 item")),
        "{selected}"
    );
    let screen = ok(app.call_as(Some(&admin), "explorer/snapshots", &[mb]).await).await;
    assert_eq!(screen["selections"][0]["items"], 1);

    // Refusals: a future instant, a malformed one, a snapshot before the first sync, a held
    // snapshot deleted, a mailbox outside the scope, a caller without the permission.
    let (status, body) = json(
        app.call_as(
            Some(&desk),
            "explorer/overview",
            &[mb, ("at", "2999-01-01T00:00")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("at"))
    );
    let (status, _) = json(
        app.call_as(Some(&desk), "explorer/overview", &[mb, ("at", "last week")])
            .await,
    )
    .await;
    assert_eq!(status, 422);
    let early = ok(app
        .call_as(
            Some(&desk),
            "explorer/overview",
            &[mb, ("at", "2001-01-01T00:00")],
        )
        .await)
    .await;
    assert_eq!(early["instant"]["before_first_sync"], true);
    assert_eq!(early["overview"]["folders"], serde_json::json!([]));
    let (status, body) = json(
        app.call_as(
            Some(&admin),
            "explorer/create_snapshot",
            &[
                mb,
                ("task", &task),
                ("at", "2001-01-01T00:00"),
                ("label", "x"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("at"))
    );
    let (status, body) = json(
        app.call_as(
            Some(&admin),
            "explorer/delete_snapshot",
            &[("id", &snapshot_id)],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("hold"))
    );
    let (status, _) = json(app.call_as(Some(&branch), "explorer/overview", &[mb]).await).await;
    assert_eq!(status, 404, "outside the scope is not found");
    let (status, _) = json(
        app.call_as(
            Some(&desk),
            "explorer/compare",
            &[mb, ("from", &snapshot_at)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "the help desk has no snapshot permission");

    // Every look at alice's mailbox is in the audit log.
    let audit = app.audit.list(&access::AuditFilter::default(), 1000).await;
    let actions: Vec<String> = audit
        .expect("audit")
        .iter()
        .map(|e| e.action.as_str().to_owned())
        .collect();
    for wanted in [
        "mailbox_opened",
        "snapshot_created",
        "mailbox_compared",
        "selection_created",
    ] {
        assert!(
            actions.iter().any(|a| a == wanted),
            "{wanted} in {actions:?}"
        );
    }
    sim.stop().await.expect("simulator stops");
}

/// The chips of one day of a month page: (time, subject, changed from the series).
fn chips_on(month: &Value, date: &str) -> Vec<(String, String, bool)> {
    month["weeks"]
        .as_array()
        .expect("weeks")
        .iter()
        .flat_map(|w| w.as_array().expect("week").iter())
        .filter(|d| d["date"] == date)
        .flat_map(|d| d["chips"].as_array().expect("chips").iter())
        .map(|c| {
            (
                c["time"].as_str().unwrap_or_default().to_owned(),
                c["subject"].as_str().unwrap_or_default().to_owned(),
                c["exception"] == true,
            )
        })
        .collect()
}

testkit::each_backend!(
    an_administrator_reads_a_synced_calendar_and_address_book_and_others_are_refused
);
async fn an_administrator_reads_a_synced_calendar_and_address_book_and_others_are_refused(
    kit: &testkit::TestDb,
) {
    let sim = exchange_sim::start(exchange_sim::SimConfig::for_tests())
        .await
        .expect("simulator");
    let app = spawn_app(kit).await;
    let admin = sign_in(&app, "root", access::ADMINISTRATOR, "").await;
    let desk = sign_in(&app, "desk", access::HELP_DESK, "").await;
    app.roles
        .create(
            "Calendar desk",
            "Calendars of the branch",
            &[access::Permission::BrowseCalendars],
        )
        .await
        .expect("role");
    let branch = sign_in(&app, "branch", "Calendar desk", "branch.example.com").await;

    synced_task(
        &app,
        &sim,
        &admin,
        &[("mail", "on"), ("calendar", "on"), ("contacts", "on")],
    )
    .await;
    let list = ok(app.call_as(Some(&admin), "explorer/mailboxes", &[]).await).await;
    let mailbox = list[0]["id"].to_string();
    let mb = ("mailbox", mailbox.as_str());

    // Opening the tab is audited; the overview tells the mail tab that calendars may be shown.
    let opened = ok(app
        .call_as(Some(&admin), "explorer/calendar_open", &[mb])
        .await)
    .await;
    assert_eq!(opened["owner"], ALICE);
    let overview = ok(app.call_as(Some(&admin), "explorer/overview", &[mb]).await).await;
    assert_eq!(overview["can_browse_calendars"], true);

    // Without a month, the page opens on the latest month with events (October 2025), in the
    // zone most of the meetings are in.
    let latest = ok(app
        .call_as(Some(&admin), "explorer/calendar_month", &[mb])
        .await)
    .await;
    assert_eq!(latest["month"], "2025-10", "{latest}");
    // EWS names the zone "W. Europe Standard Time", which CLDR maps to Europe/Berlin.
    assert_eq!(latest["zone"], "Europe/Berlin");
    assert_eq!(latest["events_total"], 3);
    assert_eq!(latest["without_details"], 0);

    // September 2025 in Zurich: the series at 10:00 on the 8th and 15th, the 22nd moved to
    // Tuesday the 23rd at 14:00, the 29th deleted; the all-day event on the 11th.
    let sep = ok(app
        .call_as(
            Some(&admin),
            "explorer/calendar_month",
            &[mb, ("month", "2025-09"), ("tz", "Europe/Zurich")],
        )
        .await)
    .await;
    let weekly =
        |time: &str, changed: bool| (time.to_owned(), "Weekly team meeting".to_owned(), changed);
    assert_eq!(chips_on(&sep, "2025-09-08"), vec![weekly("10:00", false)]);
    assert_eq!(chips_on(&sep, "2025-09-15"), vec![weekly("10:00", false)]);
    assert_eq!(chips_on(&sep, "2025-09-22"), vec![]);
    assert_eq!(chips_on(&sep, "2025-09-23"), vec![weekly("14:00", true)]);
    assert_eq!(
        chips_on(&sep, "2025-09-29"),
        vec![],
        "the deleted occurrence"
    );
    assert_eq!(
        chips_on(&sep, "2025-09-11"),
        vec![(
            String::new(),
            "Founding day (Tokyo office)".to_owned(),
            false
        )]
    );
    let agenda_days: Vec<&str> = sep["agenda"]
        .as_array()
        .expect("agenda")
        .iter()
        .map(|d| d["date"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        agenda_days,
        vec!["2025-09-08", "2025-09-11", "2025-09-15", "2025-09-23"]
    );
    assert_eq!(sep["agenda"][0]["entries"][0]["when"], "10:00–11:00");
    assert_eq!(sep["agenda"][0]["entries"][0]["location"], "Room 3.14");
    assert_eq!(sep["agenda"][3]["entries"][0]["location"], "Room 1.01");

    // Read in Tokyo the meetings are at 17:00 and the all-day event stays on the 11th.
    let tokyo = ok(app
        .call_as(
            Some(&admin),
            "explorer/calendar_month",
            &[mb, ("month", "2025-09"), ("tz", "Asia/Tokyo")],
        )
        .await)
    .await;
    assert_eq!(chips_on(&tokyo, "2025-09-08"), vec![weekly("17:00", false)]);
    assert_eq!(
        chips_on(&tokyo, "2025-09-11")[0].1,
        "Founding day (Tokyo office)"
    );

    // The event opens with its attendees and their answers, the series and its exceptions.
    let item = sep["agenda"][0]["entries"][0]["chip"]["item_id"].to_string();
    let card = ok(app
        .call_as(
            Some(&admin),
            "explorer/calendar_event",
            &[mb, ("item", &item), ("tz", "Europe/Zurich")],
        )
        .await)
    .await;
    assert_eq!(card["subject"], "Weekly team meeting");
    assert_eq!(card["series"], "Every week on Monday, 6 times");
    assert_eq!(card["organizer"], "Alice Martin <alice.martin@example.com>");
    let answers: Vec<(String, String)> = card["attendees"]
        .as_array()
        .expect("attendees")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_owned(),
                a["response"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        answers.contains(&("Daniel Okafor".into(), "Accepted".into()))
            && answers.contains(&("Emma Lindqvist".into(), "Tentative".into())),
        "{card}"
    );
    assert_eq!(
        card["changed"][0],
        "Mon 22 Sep 2025 10:00 moved to Tue 23 Sep 2025 14:00–15:00, Room 1.01"
    );
    assert_eq!(card["deleted"][0], "Mon 29 Sep 2025 10:00");
    assert_eq!(card["reminder"], "15 minutes before");
    let moved_start = sep["agenda"][3]["entries"][0]["chip"]["start"]
        .as_str()
        .expect("start")
        .to_owned();
    let moved = ok(app
        .call_as(
            Some(&admin),
            "explorer/calendar_event",
            &[
                mb,
                ("item", &item),
                ("occurrence", &moved_start),
                ("tz", "Europe/Zurich"),
            ],
        )
        .await)
    .await;
    assert_eq!(
        moved["occurrence"],
        "Tue 23 Sep 2025 14:00–15:00 (changed from the series)"
    );
    assert_eq!(moved["location"], "Room 1.01 (the series: Room 3.14)");

    // The address book: every contact, and Emma's card with both addresses and her photo.
    ok(app
        .call_as(Some(&admin), "explorer/contacts_open", &[mb])
        .await)
    .await;
    let contacts = ok(app.call_as(Some(&admin), "explorer/contacts", &[mb]).await).await;
    let names: Vec<&str> = contacts["contacts"]
        .as_array()
        .expect("contacts")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        vec!["Daniel Okafor", "Emma Lindqvist", "Farid Haddad"]
    );
    let emma = contacts["contacts"][1]["item_id"].to_string();
    let card = ok(app
        .call_as(Some(&admin), "explorer/contact", &[mb, ("item", &emma)])
        .await)
    .await;
    assert_eq!(
        card["work"], "Account Manager · Sales · Example Partners",
        "{card}"
    );
    assert_eq!(card["emails"].as_array().map(Vec::len), Some(2), "{card}");
    assert_eq!(card["phones"].as_array().map(Vec::len), Some(2), "{card}");
    let addresses: Vec<Value> = card["addresses"].as_array().expect("addresses").clone();
    assert_eq!(addresses.len(), 2, "{card}");
    assert!(addresses.iter().any(
        |a| a["lines"] == serde_json::json!(["Bahnhofstrasse 1", "8001 Zürich", "Switzerland"])
    ));
    assert!(card["photo"]
        .as_str()
        .is_some_and(|p| p.starts_with("data:image/png;base64,iVBORw0KGgo")));
    assert!(card["other"]
        .as_array()
        .expect("other")
        .iter()
        .any(|o| o["label"] == "Birthday" && o["value"] == "12 April 1985"));
    assert_eq!(card["notes"], "Met at the Zurich fair.");

    // Single items download as files written from their properties: the series as iCalendar
    // with its attendees, its moved and its deleted occurrence; Emma as a vCard with her photo.
    let ics = app
        .get_as(Some(&admin), &format!("/admin/download/{item}/ics"))
        .await;
    assert_eq!(ics.status(), 200);
    assert!(ics.headers()["content-type"]
        .to_str()
        .is_ok_and(|t| t.starts_with("text/calendar")));
    assert!(ics.headers()["content-disposition"]
        .to_str()
        .is_ok_and(|d| d.contains("Weekly team meeting.ics")));
    let ics = ics.text().await.expect("ics");
    for wanted in [
        "RRULE:FREQ=WEEKLY",
        "ATTENDEE",
        "mailto:daniel.okafor@example.com",
        "RECURRENCE-ID",
        "EXDATE",
        "Room 1.01",
    ] {
        assert!(ics.contains(wanted), "{wanted} in {ics}");
    }
    let vcf = app
        .get_as(Some(&admin), &format!("/admin/download/{emma}/vcf"))
        .await;
    assert_eq!(vcf.status(), 200);
    let vcf = vcf.text().await.expect("vcf");
    assert!(vcf.starts_with("BEGIN:VCARD"), "{vcf}");
    assert!(vcf.contains("Emma") && vcf.contains("PHOTO"), "{vcf}");
    // The wrong kind, a message, no permission, out of scope: nothing.
    let first_message = ok(app
        .call_as(Some(&admin), "explorer/messages", &[mb, ("sort", "")])
        .await)
    .await["rows"][0]["id"]
        .to_string();
    for (who, path, status) in [
        (&admin, format!("/admin/download/{item}/vcf"), 404),
        (&admin, format!("/admin/download/{emma}/ics"), 404),
        (&admin, format!("/admin/download/{first_message}/ics"), 404),
        (&desk, format!("/admin/download/{item}/ics"), 403),
        (&branch, format!("/admin/download/{emma}/vcf"), 404),
    ] {
        let r = app.get_as(Some(who), &path).await;
        assert_eq!(r.status(), status, "{path}");
    }
    let r = app
        .get_as(None, &format!("/admin/download/{item}/ics"))
        .await;
    assert_eq!(r.status(), 401, "signed out");

    // Refusals: a message is not a calendar item here; the help desk lacks the permission; a
    // calendar role for another domain does not find the mailbox; bad month and zone.
    let message = ok(app
        .call_as(Some(&admin), "explorer/messages", &[mb, ("sort", "")])
        .await)
    .await;
    let message_id = message["rows"][0]["id"].to_string();
    let (status, _) = json(
        app.call_as(
            Some(&admin),
            "explorer/calendar_event",
            &[mb, ("item", &message_id)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "a message through the calendar");
    let (status, _) = json(
        app.call_as(
            Some(&admin),
            "explorer/contact",
            &[("mailbox", "999999"), ("item", &emma)],
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "an item of another mailbox than the one named");
    for endpoint in [
        "explorer/calendar_month",
        "explorer/contacts",
        "explorer/calendar_open",
    ] {
        let (status, _) = json(app.call_as(Some(&desk), endpoint, &[mb]).await).await;
        assert_eq!(
            status, 403,
            "{endpoint}: the help desk has no calendar permission"
        );
        let (status, _) = json(app.call_as(Some(&branch), endpoint, &[mb]).await).await;
        assert_eq!(status, 404, "{endpoint}: outside the scope is not found");
    }
    let (status, _) = json(
        app.call_as(Some(&desk), "explorer/contact", &[mb, ("item", &emma)])
            .await,
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = json(
        app.call_as(
            Some(&admin),
            "explorer/calendar_month",
            &[mb, ("month", "September")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("month"))
    );
    let (status, body) = json(
        app.call_as(
            Some(&admin),
            "explorer/calendar_month",
            &[mb, ("tz", "Mars/Olympus")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("tz"))
    );

    // As of before the first sync there is nothing; each look is in the audit log.
    let early = ok(app
        .call_as(
            Some(&admin),
            "explorer/calendar_month",
            &[mb, ("at", "2001-01-01T00:00")],
        )
        .await)
    .await;
    assert_eq!(early["events_total"], 0);
    let audit = app
        .audit
        .list(&access::AuditFilter::default(), 1000)
        .await
        .expect("audit");
    let details: Vec<String> = audit.iter().map(|e| e.detail.clone()).collect();
    for wanted in [
        "calendar as it is now",
        "contacts as it is now",
        "calendar “Weekly team meeting”",
        "contact “Emma Lindqvist”",
    ] {
        assert!(
            details.iter().any(|d| d == wanted),
            "{wanted} in {details:?}"
        );
    }
    sim.stop().await.expect("simulator stops");
}

testkit::each_backend!(a_search_across_mailboxes_finds_in_each_the_scope_reaches_and_says_where);
async fn a_search_across_mailboxes_finds_in_each_the_scope_reaches_and_says_where(
    kit: &testkit::TestDb,
) {
    let app = spawn_app(kit).await;
    let head = app.mailbox_with_mail("alice@example.com", "quince").await;
    let branch_box = app
        .mailbox_with_mail("bob@branch.example.com", "quince")
        .await;
    app.mailbox_with_mail("carol@example.com", "medlar").await;
    let admin = sign_in(&app, "root", access::ADMINISTRATOR, "").await;
    let branch = sign_in(&app, "branch", access::HELP_DESK, "branch.example.com").await;
    let auditor = sign_in(&app, "auditor", access::AUDITOR, "").await;
    let search = |cookie: String, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            json(
                app.call_as(Some(&cookie), "explorer/search_all", &form)
                    .await,
            )
            .await
        }
    };

    // Every mailbox in the scope, once the background indexer has them all (two each).
    let mut all = Value::Null;
    for _ in 0..100 {
        let (status, body) = search(admin.clone(), vec![("query", "quince".into())]).await;
        assert_eq!(status, 200, "{body}");
        all = body;
        if all["total"] == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(all["total"], 4, "{all}");
    assert_eq!(all["searched"], 3);
    let mut places: Vec<String> = all["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["mailbox"].as_str().unwrap_or_default().to_owned())
        .collect();
    places.sort();
    places.dedup();
    assert_eq!(places, vec!["alice@example.com", "bob@branch.example.com"]);
    assert_eq!(all["mailboxes"].as_array().map(Vec::len), Some(3));

    // Narrowed to one mailbox; the full query language applies.
    let (_, one) = search(
        admin.clone(),
        vec![
            ("query", "quince folder:Projects".into()),
            ("mailboxes", head.id.to_string()),
        ],
    )
    .await;
    assert_eq!(one["total"], 1, "{one}");
    assert_eq!(one["hits"][0]["mailbox_id"], head.id);

    // The scoped help desk finds only its branch; naming a mailbox outside it is "not found".
    let (_, scoped) = search(branch.clone(), vec![("query", "quince".into())]).await;
    assert_eq!(scoped["total"], 2, "{scoped}");
    assert_eq!(scoped["searched"], 1);
    assert!(scoped["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .all(|h| h["mailbox_id"] == branch_box.id));
    let (status, _) = search(
        branch.clone(),
        vec![
            ("query", "quince".into()),
            ("mailboxes", head.id.to_string()),
        ],
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = search(auditor, vec![("query", "quince".into())]).await;
    assert_eq!(status, 403, "no browse_mail");
    let (status, body) = search(
        admin.clone(),
        vec![("query", "quince".into()), ("mailboxes", "first".into())],
    )
    .await;
    assert_eq!(
        (status, &body["Invalid"]["field"]),
        (422, &Value::from("mailboxes"))
    );
    let (_, broken) = search(admin.clone(), vec![("query", "\"unclosed".into())]).await;
    assert!(broken["problem"].is_string(), "{broken}");

    // The search is audited once as such, and in the access log of each owner it showed.
    let audit = app
        .audit
        .list(&access::AuditFilter::default(), 1000)
        .await
        .expect("audit");
    assert!(audit.iter().any(
        |e| e.action == "mail_searched" && e.detail.starts_with("“quince” across 3 mailboxes")
    ));
    let shown: Vec<i64> = audit
        .iter()
        .filter(|e| e.detail == "“quince” (found across several mailboxes)")
        .filter_map(|e| e.target_mailbox)
        .collect();
    assert!(
        shown.contains(&head.id) && shown.contains(&branch_box.id),
        "{shown:?}"
    );
}
