//! Connections, tasks, status and history, connection tests and the worker, against the
//! simulator into a real archive.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use archive::Timestamp;
use common::*;
use exchange_sim::SimConfig;
use syncer::*;

fn ews_settings(sim: &exchange_sim::RunningSim) -> ConnectionSettings {
    ConnectionSettings::Ews {
        url: sim.ews_url(),
        username: SimConfig::default().service_account,
    }
}

fn graph_settings(sim: &exchange_sim::RunningSim) -> ConnectionSettings {
    let d = SimConfig::default();
    ConnectionSettings::Graph {
        tenant_id: d.tenant.clone(),
        client_id: d.client_id,
        graph_endpoint: Some(sim.graph_url()),
        token_endpoint: Some(sim.token_url(&d.tenant)),
    }
}

fn settings(proto: Proto, sim: &exchange_sim::RunningSim) -> (ConnectionSettings, String) {
    let d = SimConfig::default();
    match proto {
        Proto::Ews => (ews_settings(sim), d.service_password),
        Proto::Graph => (graph_settings(sim), d.client_secret),
    }
}

fn service(env: &Env, node: &str) -> SyncService {
    SyncService::new(
        SyncStore::new(env.db().clone(), KEY),
        env.archive.clone(),
        ServiceOptions {
            retry: retry(),
            tick: Duration::from_millis(50),
            node: Some(node.into()),
            ..ServiceOptions::default()
        },
    )
}

async fn connection_and_task(
    svc: &SyncService,
    proto: Proto,
    sim: &exchange_sim::RunningSim,
    mailboxes: &[&str],
) -> (i64, i64) {
    let (settings, secret) = settings(proto, sim);
    let c = svc
        .store()
        .create_connection(&NewConnection {
            name: format!("{proto:?} sim"),
            settings,
            secret,
        })
        .await
        .unwrap();
    // A task may be enabled only on a connection that passed its test.
    let tested = svc.store().test_connection(c.id, None).await.unwrap();
    assert!(tested.ok, "{tested:?}");
    let t = svc
        .store()
        .create_task(&NewTask::new("Everyone", c.id))
        .await
        .unwrap();
    let added = svc
        .store()
        .add_mailboxes(
            t.id,
            &mailboxes.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(added as usize, mailboxes.len());
    (c.id, t.id)
}

async fn connections_and_secrets(env: Env) {
    let store = SyncStore::new(env.db().clone(), KEY);
    let ews = store
        .create_connection(&NewConnection {
            name: "On-prem".into(),
            settings: ConnectionSettings::Ews {
                url: "https://mail.example.com/EWS/Exchange.asmx".into(),
                username: "svc-archive@example.com".into(),
            },
            secret: "Pa55-w0rd-on-prem!".into(),
        })
        .await
        .unwrap();
    let graph = store
        .create_connection(&NewConnection {
            name: "Online".into(),
            settings: ConnectionSettings::Graph {
                tenant_id: "contoso.onmicrosoft.com".into(),
                client_id: "11111111-2222-3333-4444-555555555555".into(),
                graph_endpoint: None,
                token_endpoint: None,
            },
            secret: "graph~client~secret~value".into(),
        })
        .await
        .unwrap();
    assert!(ews.has_secret && graph.has_secret);
    assert_eq!(
        (ews.kind, graph.kind),
        (ConnectionKind::Ews, ConnectionKind::Graph)
    );

    // Sealed at rest: the raw column holds neither the secret nor a plain encoding of it.
    let raws: Vec<String> =
        sqlx::query_scalar("SELECT secret_sealed FROM sync_connections ORDER BY id")
            .fetch_all(&env.db().pool)
            .await
            .unwrap();
    assert_eq!(raws.len(), 2);
    for (raw, secret) in raws
        .iter()
        .zip(["Pa55-w0rd-on-prem!", "graph~client~secret~value"])
    {
        assert!(!raw.contains(secret), "{raw}");
        assert!(!raw.contains("Pa55") && !raw.contains("graph~"), "{raw}");
        assert!(raw.len() > secret.len(), "nonce and tag are stored too");
    }
    // Never in a view, whichever way it is serialised.
    let listed = store.list_connections().await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["On-prem", "Online"]
    );
    let json = serde_json::to_string(&listed).unwrap();
    assert!(
        !json.contains("Pa55-w0rd") && !json.contains("graph~client"),
        "{json}"
    );
    assert!(!format!("{listed:?}").contains("Pa55-w0rd"));

    // An edit without a secret keeps it; with one, it is re-sealed.
    let renamed = store
        .update_connection(
            ews.id,
            &ConnectionUpdate {
                name: Some("Datacenter".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Datacenter");
    assert!(renamed.has_secret);
    let raw_before = raws[0].clone();
    let raw_kept: String =
        sqlx::query_scalar("SELECT secret_sealed FROM sync_connections WHERE id = $1")
            .bind(ews.id)
            .fetch_one(&env.db().pool)
            .await
            .unwrap();
    assert_eq!(raw_kept, raw_before);
    store
        .update_connection(
            ews.id,
            &ConnectionUpdate {
                secret: Some("new-password".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let raw_new: String =
        sqlx::query_scalar("SELECT secret_sealed FROM sync_connections WHERE id = $1")
            .bind(ews.id)
            .fetch_one(&env.db().pool)
            .await
            .unwrap();
    assert_ne!(raw_new, raw_before);

    // Validation and uniqueness.
    let dup = store
        .create_connection(&NewConnection {
            name: "Online".into(),
            settings: graph.settings.clone(),
            secret: "x".into(),
        })
        .await;
    assert!(matches!(dup, Err(SyncerError::NameTaken { .. })), "{dup:?}");
    let bad = store
        .create_connection(&NewConnection {
            name: "Bad".into(),
            settings: ConnectionSettings::Ews {
                url: "mail.example.com".into(),
                username: "svc".into(),
            },
            secret: "x".into(),
        })
        .await;
    assert!(
        matches!(bad, Err(SyncerError::Invalid { field: "url", .. })),
        "{bad:?}"
    );
    let empty = store
        .create_connection(&NewConnection {
            name: "Empty".into(),
            settings: graph.settings.clone(),
            secret: " ".into(),
        })
        .await;
    assert!(
        matches!(
            empty,
            Err(SyncerError::Invalid {
                field: "secret",
                ..
            })
        ),
        "{empty:?}"
    );

    // A different server key cannot open the secret, and says so.
    let wrong_key = SyncStore::new(env.db().clone(), [0x17; 32]);
    let r = wrong_key.test_connection(graph.id, None).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::SecretUnreadable), "{r:?}");

    // Tasks: defaults, update, a connection in use cannot go. This connection never passed
    // a test (its server does not exist), so a task on it cannot be enabled.
    match store.create_task(&NewTask::new("Staff", ews.id)).await {
        Err(SyncerError::PrerequisitesMissing(missing)) => {
            assert_eq!(missing.len(), 1, "{missing:?}");
            assert_eq!(missing[0].what, PrerequisiteKind::ConnectionTested);
            assert_eq!(missing[0].fix_at, "/admin/connections");
            assert!(
                missing[0].message.contains("has not been tested"),
                "{missing:?}"
            );
        }
        other => panic!("expected the missing test to be named, got {other:?}"),
    }
    assert!(
        store.list_tasks().await.unwrap().is_empty(),
        "nothing created"
    );
    let task = store
        .create_task(&NewTask {
            enabled: false,
            ..NewTask::new("Staff", ews.id)
        })
        .await
        .unwrap();
    assert_eq!(
        (task.runs_per_day, task.enabled, task.what),
        (4, false, SyncWhat::default())
    );
    assert!(matches!(
        store
            .update_task(
                task.id,
                &TaskUpdate {
                    enabled: Some(true),
                    ..Default::default()
                }
            )
            .await,
        Err(SyncerError::PrerequisitesMissing(_))
    ));
    assert_eq!(task.connection_name, "Datacenter");
    assert!(matches!(
        store.delete_connection(ews.id).await,
        Err(SyncerError::ConnectionInUse(_))
    ));
    let bad_runs = store
        .create_task(&NewTask {
            runs_per_day: 0,
            ..NewTask::new("Zero", ews.id)
        })
        .await;
    assert!(matches!(
        bad_runs,
        Err(SyncerError::Invalid {
            field: "runs_per_day",
            ..
        })
    ));
    let too_often = store
        .create_task(&NewTask {
            runs_per_day: syncer::MAX_RUNS_PER_DAY + 1,
            ..NewTask::new("Too often", ews.id)
        })
        .await;
    assert!(matches!(
        too_often,
        Err(SyncerError::Invalid {
            field: "runs_per_day",
            ..
        })
    ));
    let nothing = store
        .create_task(&NewTask {
            what: SyncWhat {
                mail: false,
                calendar: false,
                contacts: false,
            },
            ..NewTask::new("Nothing", ews.id)
        })
        .await;
    assert!(matches!(
        nothing,
        Err(SyncerError::Invalid { field: "what", .. })
    ));
    // A task and its mailboxes are one transaction: one bad address, and no task is left.
    let half = store
        .create_task(&NewTask {
            mailboxes: vec!["ok@example.com".into(), "not-an-address".into()],
            ..NewTask::new("Half", ews.id)
        })
        .await;
    match half {
        Err(SyncerError::Invalid { field, message }) => {
            assert_eq!(field, "mailboxes");
            assert!(message.contains("not-an-address"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(store
        .list_tasks()
        .await
        .unwrap()
        .iter()
        .all(|t| t.name != "Half"));
    let t2 = store
        .update_task(
            task.id,
            &TaskUpdate {
                what: Some(SyncWhat {
                    mail: true,
                    calendar: false,
                    contacts: false,
                }),
                runs_per_day: Some(12),
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (t2.runs_per_day, t2.enabled, t2.what.calendar),
        (12, false, false)
    );
    assert_eq!(
        store
            .add_mailboxes(task.id, &["A@Example.com".into(), "b@example.com".into()])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .add_mailboxes(task.id, &["a@example.com".into()])
            .await
            .unwrap(),
        0,
        "already there"
    );
    assert!(matches!(
        store
            .add_mailboxes(task.id, &["not-an-address".into()])
            .await,
        Err(SyncerError::Invalid {
            field: "mailboxes",
            ..
        })
    ));
    let mbs = store.task_mailboxes(task.id).await.unwrap();
    assert_eq!(
        mbs.iter().map(|m| m.address.as_str()).collect::<Vec<_>>(),
        ["a@example.com", "b@example.com"]
    );
    assert!(mbs
        .iter()
        .all(|m| m.status == MailboxSyncStatus::Pending && m.next_run_at.is_some()));
    assert_eq!(store.list_tasks().await.unwrap()[0].mailbox_count, 2);
    let listed = store.tasks_with_mailboxes().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].task.id, task.id);
    assert_eq!(
        listed[0]
            .mailboxes
            .iter()
            .map(|m| m.address.as_str())
            .collect::<Vec<_>>(),
        ["a@example.com", "b@example.com"]
    );
    store
        .remove_mailbox(task.id, "A@example.com")
        .await
        .unwrap();
    assert_eq!(store.task_mailboxes(task.id).await.unwrap().len(), 1);
    store.delete_task(task.id).await.unwrap();
    assert!(store.task(task.id).await.unwrap().is_none());
    store.delete_connection(ews.id).await.unwrap();
    assert_eq!(store.list_connections().await.unwrap().len(), 1);
    env.finish().await;
}

#[tokio::test]
async fn connections_and_secrets_sqlite() {
    connections_and_secrets(Env::sqlite().await).await;
}

#[tokio::test]
async fn connections_and_secrets_postgres() {
    if let Some(env) = Env::postgres().await {
        connections_and_secrets(env).await;
    }
}

#[tokio::test]
async fn test_connection_says_what_failed() {
    let sim = sim().await;
    let env = Env::sqlite().await;
    let store = SyncStore::new(env.db().clone(), KEY);
    let d = SimConfig::default();
    let create = |name: &str, settings: ConnectionSettings, secret: &str| {
        let store = store.clone();
        let n = NewConnection {
            name: name.into(),
            settings,
            secret: secret.into(),
        };
        async move { store.create_connection(&n).await.unwrap().id }
    };
    let ews_ok = create("ews ok", ews_settings(&sim), &d.service_password).await;
    let ews_bad = create("ews bad", ews_settings(&sim), "wrong-password").await;
    let graph_ok = create("graph ok", graph_settings(&sim), &d.client_secret).await;
    let graph_bad = create("graph bad", graph_settings(&sim), "wrong-secret").await;
    let mut unknown_app = graph_settings(&sim);
    if let ConnectionSettings::Graph { client_id, .. } = &mut unknown_app {
        *client_id = "99999999-0000-0000-0000-000000000000".into();
    }
    let graph_app = create("graph app", unknown_app, &d.client_secret).await;
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = create(
        "closed",
        ConnectionSettings::Ews {
            url: format!("http://127.0.0.1:{free}/EWS/Exchange.asmx"),
            username: "svc".into(),
        },
        "x",
    )
    .await;
    let nxdomain = create(
        "nxdomain",
        ConnectionSettings::Ews {
            url: "https://mail.does-not-exist.invalid/EWS/Exchange.asmx".into(),
            username: "svc".into(),
        },
        "x",
    )
    .await;
    // TLS spoken to a plain-HTTP server.
    let tls = create(
        "tls",
        ConnectionSettings::Ews {
            url: sim.ews_url().replace("http://", "https://"),
            username: "svc".into(),
        },
        "x",
    )
    .await;
    sim.handle().set_access_granted(BRUNO, false).unwrap();

    let r = store.test_connection(ews_ok, Some(ALICE)).await.unwrap();
    assert!(r.ok, "{r:?}");
    assert!(r.message.contains(ALICE), "{}", r.message);
    assert!(r.steps.iter().any(|s| s.step == "impersonation" && s.ok));
    let r = store.test_connection(ews_ok, None).await.unwrap();
    assert!(r.ok, "credentials alone: {r:?}");

    let r = store.test_connection(ews_bad, Some(ALICE)).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::BadCredentials), "{r:?}");
    assert!(r.message.contains("401"), "{}", r.message);

    let r = store.test_connection(ews_ok, Some(BRUNO)).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::ImpersonationDenied), "{r:?}");
    assert!(
        r.message.contains("may not impersonate") && r.message.contains(BRUNO),
        "{}",
        r.message
    );
    let r = store
        .test_connection(ews_ok, Some("nobody@example.com"))
        .await
        .unwrap();
    assert_eq!(r.failure, Some(TestFailure::MailboxNotFound), "{r:?}");

    let r = store.test_connection(graph_ok, Some(ALICE)).await.unwrap();
    assert!(r.ok, "{r:?}");
    let restore = |r: &ConnectionTestReport| {
        r.steps
            .iter()
            .find(|s| s.step == "restore")
            .cloned()
            .unwrap_or_else(|| panic!("no restore step: {r:?}"))
    };
    assert!(restore(&r).ok, "{r:?}");
    // Sync reads; restore writes: an app with read permissions only syncs, and the test says
    // which permission a restore lacks and where it is granted.
    sim.handle().set_graph_roles(vec![
        "Mail.Read".into(),
        "Calendars.Read".into(),
        "Contacts.Read".into(),
    ]);
    let r = store.test_connection(graph_ok, Some(ALICE)).await.unwrap();
    assert!(r.ok, "sync still works: {r:?}");
    let step = restore(&r);
    assert!(!step.ok);
    for role in [
        "Mail.ReadWrite",
        "Calendars.ReadWrite",
        "Contacts.ReadWrite",
    ] {
        assert!(step.detail.contains(role), "{}", step.detail);
    }
    assert!(step.detail.contains("admin consent"), "{}", step.detail);
    sim.handle().set_graph_roles(vec![
        "Mail.ReadWrite".into(),
        "Calendars.ReadWrite".into(),
        "Contacts.ReadWrite".into(),
    ]);
    let r = store.test_connection(ews_ok, Some(ALICE)).await.unwrap();
    assert!(restore(&r).ok, "{r:?}");
    let r = store.test_connection(graph_bad, None).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::ClientSecretRefused), "{r:?}");
    assert!(r.message.contains("client secret"), "{}", r.message);
    let r = store.test_connection(graph_app, None).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::UnknownApplication), "{r:?}");
    let r = store.test_connection(graph_ok, Some(BRUNO)).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::ImpersonationDenied), "{r:?}");

    let r = store.test_connection(closed, None).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::ConnectionRefused), "{r:?}");
    assert!(
        r.message.contains("refused") && r.message.contains(&free.to_string()),
        "{}",
        r.message
    );
    let r = store.test_connection(nxdomain, None).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::Dns), "{r:?}");
    assert!(
        r.message.contains("mail.does-not-exist.invalid"),
        "{}",
        r.message
    );
    let r = store.test_connection(tls, None).await.unwrap();
    assert_eq!(r.failure, Some(TestFailure::Tls), "{r:?}");
    assert!(
        r.steps.iter().any(|s| s.step.ends_with("TCP") && s.ok),
        "TCP got through: {r:?}"
    );
    env.finish().await;
}

/// A throttling server is busy, not refusing the settings: the test says so, with the wait the
/// server asked for, and gives up within seconds.
async fn test_connection_says_when_the_server_is_busy(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    match proto {
        Proto::Ews => h.set_ews_server_busy(Some(1), 30_000),
        Proto::Graph => h.set_graph_throttle(Some(exchange_sim::ThrottleRule::EveryNth {
            n: 1,
            retry_after_secs: 30.0,
        })),
    }
    let (settings, secret) = settings(proto, &sim);
    let started = std::time::Instant::now();
    let r = test_settings(&settings, &secret, Some(ALICE)).await;
    assert!(started.elapsed() < Duration::from_secs(15), "{r:?}");
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.failure, Some(TestFailure::ServerBusy), "{r:?}");
    assert_eq!(r.message, "the server is busy, try again in 30 s");
    assert!(r.steps.last().is_some_and(|s| !s.ok), "{r:?}");

    // Once the server has room again, the same settings pass.
    h.set_ews_server_busy(None, 0);
    h.set_graph_throttle(None);
    let r = test_settings(&settings, &secret, Some(ALICE)).await;
    assert!(r.ok, "{r:?}");
}
both!(test_connection_says_when_the_server_is_busy);

async fn scheduled_runs_record_status_and_history(proto: Proto) {
    let sim = sim().await;
    let env = Env::sqlite().await;
    sim.handle().set_access_granted(BRUNO, false).unwrap();
    let svc = service(&env, "node-a");
    let (_, task) = connection_and_task(&svc, proto, &sim, &[ALICE, BRUNO, CHLOE]).await;

    let now = Timestamp::now();
    let runs = svc.run_due(now).await.unwrap();
    assert_eq!(runs.len(), 3, "{runs:?}");
    let mbs = svc.store().task_mailboxes(task).await.unwrap();
    let by = |a: &str| mbs.iter().find(|m| m.address == a).unwrap().clone();
    let (alice, bruno, chloe) = (by(ALICE), by(BRUNO), by(CHLOE));
    assert_eq!(alice.status, MailboxSyncStatus::Healthy, "{alice:?}");
    assert_eq!(chloe.status, MailboxSyncStatus::Healthy, "{chloe:?}");
    assert_eq!(bruno.status, MailboxSyncStatus::Attention, "{bruno:?}");
    let reason = bruno.reason.clone().unwrap();
    assert!(reason.contains("denied"), "{reason}");
    assert!(alice.reason.is_none() && !alice.running);
    let counts = alice.last_counts.unwrap();
    assert!(
        counts.new_items > 0 && counts.calendar_items == 3 && counts.contacts == 3,
        "{counts:?}"
    );
    // Next run: after the run, within one period (6 h), at the mailbox's own offset.
    for m in [&alice, &bruno, &chloe] {
        let next = m.next_run_at.unwrap();
        assert!(next > m.last_finished_at.unwrap());
        assert!(next.0 - now.0 <= 6 * 3_600_000_000, "{m:?}");
        assert_eq!(next, next_run(task, &m.address, 4, Timestamp(next.0 - 1)));
    }
    assert_ne!(alice.next_run_at, chloe.next_run_at);

    // The archive got the mailboxes that worked, and each task mailbox points at its own.
    let archived = env.archive.mailbox_by_name(ALICE).await.unwrap().unwrap();
    assert_eq!(archived.owner_address, ALICE);
    assert_eq!(alice.archive_mailbox_id, Some(archived.id));
    assert_ne!(alice.archive_mailbox_id, chloe.archive_mailbox_id);
    let (messages, _, _) = sim.handle().item_counts(ALICE).unwrap();
    assert_eq!(counts.new_items as usize, messages);

    // History: one row per run with the request counts.
    let h = svc.store().history(task, ALICE, 10).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].status, MailboxSyncStatus::Healthy);
    assert!(h[0].requests > 0 && h[0].finished_at >= h[0].started_at);
    assert_eq!(
        svc.store().history(task, BRUNO, 10).await.unwrap()[0]
            .error
            .as_deref(),
        Some(reason.as_str())
    );

    // Nothing is due now; run-now makes exactly that mailbox due.
    assert!(svc.run_due(Timestamp::now()).await.unwrap().is_empty());
    sim.handle()
        .add_message(ALICE, "Inbox", &mime("Run now"), false)
        .unwrap();
    svc.run_mailbox_now(task, ALICE).await.unwrap();
    let again = svc.run_due(Timestamp::now()).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].address.as_str(), again[0].counts.new_items),
        (ALICE, 1)
    );
    assert_eq!(svc.store().history(task, ALICE, 10).await.unwrap().len(), 2);

    // Access granted again: the next run makes Bruno healthy.
    sim.handle().set_access_granted(BRUNO, true).unwrap();
    let r = svc.sync_mailbox_now(task, BRUNO).await.unwrap().unwrap();
    assert_eq!(r.status, MailboxSyncStatus::Healthy, "{r:?}");
    assert_eq!(
        svc.store()
            .task_mailbox(task, BRUNO)
            .await
            .unwrap()
            .unwrap()
            .reason,
        None
    );
    env.finish().await;
}
both!(scheduled_runs_record_status_and_history);

/// An item the server cannot give shows on the mailbox's status with its reason and in the run
/// counts; once the server gives it, the next run archives it and the mailbox is healthy.
async fn items_not_archived_show_on_the_status(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let env = Env::sqlite().await;
    let svc = service(&env, "node-a");
    let stuck = h
        .add_message(ALICE, "Inbox", &mime("Cannot convert"), false)
        .unwrap();
    h.fail_item(
        ALICE,
        stuck,
        exchange_sim::ItemFault::MimeConversionFailed,
        1000,
    );
    let (_, task) = connection_and_task(&svc, proto, &sim, &[ALICE]).await;
    let r = svc.sync_mailbox_now(task, ALICE).await.unwrap().unwrap();
    assert_eq!(r.status, MailboxSyncStatus::Attention, "{r:?}");
    assert_eq!(r.counts.failed_items, 1, "{r:?}");
    let m = svc
        .store()
        .task_mailbox(task, ALICE)
        .await
        .unwrap()
        .unwrap();
    let reason = m.reason.unwrap();
    assert!(
        reason.starts_with("1 item could not be archived: ")
            && reason.contains("ErrorMimeContentConversionFailed"),
        "{reason}"
    );

    h.clear_item_faults();
    let r = svc.sync_mailbox_now(task, ALICE).await.unwrap().unwrap();
    assert_eq!(r.status, MailboxSyncStatus::Healthy, "{r:?}");
    assert_eq!((r.counts.failed_items, r.counts.recovered_items), (0, 1));
    let m = svc
        .store()
        .task_mailbox(task, ALICE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.reason, None);
    env.finish().await;
}
both!(items_not_archived_show_on_the_status);

/// Removing a mailbox or a task takes its status and run history with it, through the schema's
/// cascades, on both backends; the archive keeps the mail.
async fn removals_take_their_history_along(env: Env) {
    let sim = sim().await;
    let svc = service(&env, "node-a");
    let (_, task) = connection_and_task(&svc, Proto::Ews, &sim, &[ALICE, BRUNO]).await;
    assert_eq!(svc.run_due(Timestamp::now()).await.unwrap().len(), 2);
    let count = |table: &'static str| {
        let pool = env.db().pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("sync_runs").await, 2);
    svc.store().remove_mailbox(task, BRUNO).await.unwrap();
    assert_eq!(count("sync_runs").await, 1);
    svc.store().delete_task(task).await.unwrap();
    assert_eq!(count("sync_runs").await, 0);
    assert_eq!(count("sync_task_mailboxes").await, 0);
    let archived = env.archive.mailbox_by_name(ALICE).await.unwrap().unwrap();
    assert!(env.archive.count_items(Some(archived.id)).await.unwrap() > 0);
    env.finish().await;
}

#[tokio::test]
async fn removals_take_their_history_along_sqlite() {
    removals_take_their_history_along(Env::sqlite().await).await;
}

#[tokio::test]
async fn removals_take_their_history_along_postgres() {
    if let Some(env) = Env::postgres().await {
        removals_take_their_history_along(env).await;
    }
}

#[tokio::test]
async fn only_due_mailboxes_of_enabled_tasks_run() {
    let sim = sim().await;
    let env = Env::sqlite().await;
    let svc = service(&env, "node-a");
    let (conn, task) = connection_and_task(&svc, Proto::Ews, &sim, &[ALICE, BRUNO, CHLOE]).await;
    let now = Timestamp::now();
    // Bruno and Chloe are scheduled later; only Alice is due.
    sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE address <> $2")
        .bind(now.0 + 3_600_000_000)
        .bind(ALICE)
        .execute(&env.db().pool)
        .await
        .unwrap();
    let runs = svc.run_due(now).await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.address.as_str()).collect::<Vec<_>>(),
        [ALICE]
    );
    // An hour later they are due. (Alice's own next slot depends on the time of day the test
    // runs; it is moved past that hour so the count does not.)
    sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE address = $2")
        .bind(now.0 + 7_200_000_000)
        .bind(ALICE)
        .execute(&env.db().pool)
        .await
        .unwrap();
    let later = svc.run_due(Timestamp(now.0 + 3_600_000_001)).await.unwrap();
    let mut later: Vec<&str> = later.iter().map(|r| r.address.as_str()).collect();
    later.sort();
    assert_eq!(later, [BRUNO, CHLOE]);

    // A disabled task runs nothing, even when asked.
    let other = svc
        .store()
        .create_task(&NewTask {
            enabled: false,
            ..NewTask::new("Off", conn)
        })
        .await
        .unwrap();
    svc.store()
        .add_mailboxes(other.id, &["x@example.com".into()])
        .await
        .unwrap();
    svc.store().request_task_run(task).await.unwrap();
    let runs = svc.run_due(Timestamp::now()).await.unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.task_id == task));
    env.finish().await;
}

#[test]
fn offsets_spread_over_the_period() {
    let now = Timestamp::from_unix_seconds(1_770_000_000);
    let period = 6 * 3_600_000_000i64;
    let nexts: Vec<i64> = (0..80)
        .map(|i| next_run(7, &format!("user{i}@example.com"), 4, now).0 - now.0)
        .collect();
    assert!(nexts.iter().all(|d| *d > 0 && *d <= period));
    let mut quarters = [0; 4];
    for d in &nexts {
        quarters[((d - 1) * 4 / period) as usize] += 1;
    }
    assert!(quarters.iter().all(|q| *q >= 8), "{quarters:?}");
    // Stable: the same mailbox always gets the same slot.
    assert_eq!(
        next_run(7, "user1@example.com", 4, now),
        next_run(7, "user1@example.com", 4, now)
    );
    // A slot repeats each period.
    let a = next_run(7, "user1@example.com", 4, now);
    assert_eq!(next_run(7, "user1@example.com", 4, a).0 - a.0, period);
}

async fn lease_prevents_double_runs(env: Env) {
    let sim = sim().await;
    sim.handle().set_latency(Duration::from_millis(10));
    let a = service(&env, "node-a");
    let b = service(&env, "node-b");
    let (_, task) = connection_and_task(&a, Proto::Ews, &sim, &[ALICE, BRUNO, CHLOE]).await;
    let now = Timestamp::now();
    let (ra, rb) = tokio::join!(a.run_due(now), b.run_due(now));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.len() + rb.len(), 3, "a: {ra:?} b: {rb:?}");
    for m in [ALICE, BRUNO, CHLOE] {
        assert_eq!(
            a.store().history(task, m, 10).await.unwrap().len(),
            1,
            "{m} ran once"
        );
    }

    // While one node holds a mailbox, the other cannot take it, even on run-now.
    let claimed_until = Timestamp::now().0 + 60_000_000;
    sqlx::query("UPDATE sync_task_mailboxes SET claimed_until = $1, claimed_by = 'node-a', next_run_at = NULL WHERE address = $2")
        .bind(claimed_until)
        .bind(ALICE)
        .execute(&env.db().pool)
        .await
        .unwrap();
    assert!(
        a.store()
            .task_mailbox(task, ALICE)
            .await
            .unwrap()
            .unwrap()
            .running
    );
    assert!(b.sync_mailbox_now(task, ALICE).await.unwrap().is_none());
    assert!(b.run_due(Timestamp::now()).await.unwrap().is_empty());
    // The others' next slots are wall-clock times spread over the day: one may fall within the
    // lease's minute. Moved past it, only the interrupted run can be due below.
    sqlx::query("UPDATE sync_task_mailboxes SET next_run_at = $1 WHERE address <> $2")
        .bind(claimed_until + 86_400_000_000)
        .bind(ALICE)
        .execute(&env.db().pool)
        .await
        .unwrap();
    // The node died: once the lease lapses the interrupted run is picked up again.
    let r = b.run_due(Timestamp(claimed_until + 1)).await.unwrap();
    assert_eq!(
        r.iter().map(|r| r.address.as_str()).collect::<Vec<_>>(),
        [ALICE]
    );
    let m = b.store().task_mailbox(task, ALICE).await.unwrap().unwrap();
    assert!(!m.running && m.next_run_at.is_some());
    env.finish().await;
}

#[tokio::test]
async fn lease_prevents_double_runs_sqlite() {
    lease_prevents_double_runs(Env::sqlite().await).await;
}

#[tokio::test]
async fn lease_prevents_double_runs_postgres() {
    if let Some(env) = Env::postgres().await {
        lease_prevents_double_runs(env).await;
    }
}

// A run writes in transactions that span many awaits. Before, the lease was renewed in the
// run's own task: a renewal that came while the run sat inside a transaction waited on that
// transaction's lock (SQLite's one writer) until the busy timeout, the run stalled, and its
// lease lapsed under it, so another node could take the mailbox and run it a second time.
async fn renewals_keep_a_long_run_to_its_node(env: Env) {
    let sim = sim().await;
    sim.handle().set_latency(Duration::from_millis(2));
    for n in 0..1000 {
        sim.handle()
            .add_message(ALICE, "Inbox", &mime(&format!("Note {n}")), false)
            .unwrap();
    }
    let a = SyncService::new(
        SyncStore::new(env.db().clone(), KEY),
        env.archive.clone(),
        ServiceOptions {
            retry: retry(),
            lease: Duration::from_millis(300),
            node: Some("node-a".into()),
            ..ServiceOptions::default()
        },
    );
    let b = service(&env, "node-b");
    let (_, task) = connection_and_task(&a, Proto::Ews, &sim, &[ALICE]).await;
    let now = Timestamp::now();
    // A's run in a task of its own, so that B's attempts below never hold it up.
    let run = tokio::spawn({
        let a = a.clone();
        async move { a.run_due(now).await }
    });
    while !run.is_finished()
        && !a
            .store()
            .task_mailbox(task, ALICE)
            .await
            .unwrap()
            .unwrap()
            .running
    {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut taken_by_b = Vec::new();
    while !run.is_finished() {
        taken_by_b.extend(b.run_due(Timestamp::now()).await.unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ran = run.await.unwrap().unwrap();
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert!(taken_by_b.is_empty(), "B took A's mailbox: {taken_by_b:?}");
    assert_eq!(a.store().history(task, ALICE, 10).await.unwrap().len(), 1);
    env.finish().await;
}

#[tokio::test]
async fn renewals_keep_a_long_run_to_its_node_sqlite() {
    renewals_keep_a_long_run_to_its_node(Env::sqlite().await).await;
}

#[tokio::test]
async fn renewals_keep_a_long_run_to_its_node_postgres() {
    if let Some(env) = Env::postgres().await {
        renewals_keep_a_long_run_to_its_node(env).await;
    }
}

#[tokio::test]
async fn spawned_worker_runs_new_mailboxes_and_run_now_requests() {
    let sim = sim().await;
    let env = Env::sqlite().await;
    let svc = service(&env, "node-a");
    let (_, task) = connection_and_task(&svc, Proto::Graph, &sim, &[CHLOE]).await;
    let worker = svc.spawn();
    let wait_for = |n: usize| {
        let svc = svc.clone();
        async move {
            for _ in 0..200 {
                let h = svc.store().history(task, CHLOE, 10).await.unwrap();
                if h.len() >= n {
                    return h;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("no run {n} within 5 s");
        }
    };
    let first = wait_for(1).await;
    assert_eq!(first[0].status, MailboxSyncStatus::Healthy, "{first:?}");
    sim.handle()
        .add_message(CHLOE, "Inbox", &mime("Please run now"), false)
        .unwrap();
    svc.run_mailbox_now(task, CHLOE).await.unwrap();
    let second = wait_for(2).await;
    assert_eq!(second[0].counts.new_items, 1, "{second:?}");
    worker.stop().await;
    assert_eq!(
        svc.store()
            .task_mailbox(task, CHLOE)
            .await
            .unwrap()
            .unwrap()
            .status,
        MailboxSyncStatus::Healthy
    );
    env.finish().await;
}

#[tokio::test]
async fn unreadable_secret_needs_attention() {
    let sim = sim().await;
    let env = Env::sqlite().await;
    let svc = service(&env, "node-a");
    let (_, task) = connection_and_task(&svc, Proto::Ews, &sim, &[ALICE]).await;
    // Another server key (a misconfigured node) cannot open the secret.
    let other = SyncService::new(
        SyncStore::new(env.db().clone(), [1; 32]),
        env.archive.clone(),
        ServiceOptions::default(),
    );
    let r = other.run_due(Timestamp::now()).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, MailboxSyncStatus::Attention);
    assert!(
        r[0].error
            .as_deref()
            .unwrap()
            .contains("cannot be decrypted"),
        "{r:?}"
    );
    assert_eq!(
        svc.store()
            .task_mailbox(task, ALICE)
            .await
            .unwrap()
            .unwrap()
            .status,
        MailboxSyncStatus::Attention
    );
    env.finish().await;
}

/// Capability 9: a task runs only while mail is kept 58 days and its connection passed its
/// test; and retention cannot be shortened below that while a task that needs it is enabled.
async fn the_58_day_rule_holds_both_ways(env: Env) {
    let proto = Proto::Ews;
    let sim = sim().await;
    let store = SyncStore::new(env.db().clone(), KEY);
    let archive = &env.archive;
    let (settings, secret) = settings(proto, &sim);
    let c = store
        .create_connection(&NewConnection {
            name: "Sim".into(),
            settings,
            secret,
        })
        .await
        .unwrap();
    assert!(store.test_connection(c.id, None).await.unwrap().ok);
    let view = store.connection(c.id).await.unwrap().unwrap();
    let last = view.last_test.expect("the test is kept");
    assert!(last.passed);

    let mut short = archive::KindRules::FOREVER;
    short.mail = archive::KeepRule::days(30, archive::RetentionBasis::LeftSource);
    archive
        .set_retention(&archive::RetentionChange::Default(short), "admin", &store)
        .await
        .unwrap();
    let refused = store
        .create_task(&NewTask {
            mailboxes: vec![ALICE.into()],
            ..NewTask::new("Nightly", c.id)
        })
        .await;
    match refused {
        Err(SyncerError::PrerequisitesMissing(missing)) => {
            assert_eq!(missing.len(), 1, "{missing:?}");
            assert_eq!(missing[0].what, PrerequisiteKind::Retention);
            assert_eq!(missing[0].fix_at, "/admin/retention");
            assert!(
                missing[0].message.contains("30 days") && missing[0].message.contains("58 days"),
                "{missing:?}"
            );
        }
        other => panic!("expected the retention prerequisite, got {other:?}"),
    }
    archive
        .set_retention(
            &archive::RetentionChange::Default(archive::KindRules::FOREVER),
            "admin",
            &store,
        )
        .await
        .unwrap();
    let task = store
        .create_task(&NewTask {
            mailboxes: vec![ALICE.into()],
            ..NewTask::new("Nightly", c.id)
        })
        .await
        .unwrap();
    assert!(task.enabled);

    // Now the other way: shortening retention is refused, naming the task.
    let refused = archive
        .set_retention(&archive::RetentionChange::Default(short), "admin", &store)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("Nightly") && refused.to_string().contains("58"),
        "{refused}"
    );
    // A mailbox the task syncs cannot get a shorter rule; one it does not sync can.
    let alice = archive
        .ensure_mailbox(&archive::NewMailbox {
            name: ALICE.into(),
            owner_address: ALICE.into(),
            display_name: "Alice".into(),
        })
        .await
        .unwrap();
    let legacy = archive
        .ensure_mailbox(&archive::NewMailbox {
            name: "legacy@example.com".into(),
            owner_address: "legacy@example.com".into(),
            display_name: "Legacy".into(),
        })
        .await
        .unwrap();
    let override_of = |id| archive::RetentionChange::Mailbox {
        mailbox_id: id,
        mail: Some(archive::KeepRule::days(
            10,
            archive::RetentionBasis::Archived,
        )),
        calendar: None,
        contacts: None,
    };
    assert!(archive
        .set_retention(&override_of(alice.id), "admin", &store)
        .await
        .is_err());
    archive
        .set_retention(&override_of(legacy.id), "admin", &store)
        .await
        .unwrap();
    // Adding that mailbox to the enabled task is refused for the same reason.
    assert!(matches!(
        store
            .add_mailboxes(task.id, &["legacy@example.com".into()])
            .await,
        Err(SyncerError::PrerequisitesMissing(_))
    ));

    // Disabled, the task no longer needs it: retention may shrink, and enabling is refused.
    store
        .update_task(
            task.id,
            &TaskUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    archive
        .set_retention(&archive::RetentionChange::Default(short), "admin", &store)
        .await
        .unwrap();
    assert!(matches!(
        store
            .update_task(
                task.id,
                &TaskUpdate {
                    enabled: Some(true),
                    ..Default::default()
                }
            )
            .await,
        Err(SyncerError::PrerequisitesMissing(_))
    ));

    // Changed settings clear the last test: the connection must be tested again.
    archive
        .set_retention(
            &archive::RetentionChange::Default(archive::KindRules::FOREVER),
            "admin",
            &store,
        )
        .await
        .unwrap();
    store
        .update_connection(
            c.id,
            &ConnectionUpdate {
                secret: Some("wrong".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.connection(c.id).await.unwrap().unwrap().last_test,
        None
    );
    let missing = store
        .missing_prerequisites(c.id, &[ALICE.into()])
        .await
        .unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].what, PrerequisiteKind::ConnectionTested);
    let failed = store.test_connection(c.id, None).await.unwrap();
    assert!(!failed.ok);
    let missing = store
        .missing_prerequisites(c.id, &[ALICE.into()])
        .await
        .unwrap();
    assert!(
        missing[0].message.contains("failed its last test"),
        "{missing:?}"
    );
    env.finish().await;
}

#[tokio::test]
async fn the_58_day_rule_holds_both_ways_sqlite() {
    the_58_day_rule_holds_both_ways(Env::sqlite().await).await;
}

#[tokio::test]
async fn the_58_day_rule_holds_both_ways_postgres() {
    if let Some(env) = Env::postgres().await {
        the_58_day_rule_holds_both_ways(env).await;
    }
}
