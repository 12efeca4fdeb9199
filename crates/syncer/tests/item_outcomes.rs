//! Nothing the server listed is lost, whatever it answers for single items: per-item errors on
//! HTTP 200, Warning answers of a stopped batch, throttling inside a batch, moves reported
//! create-before-delete. Exact counts, against the real archive, for EWS and Graph, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use archive::{ItemKind, MailboxId};
use common::*;
use exchange_sim::{ItemFault, ItemRef, RunningSim};
use mailsync::{sync_mailbox, MailboxStatus, RunReport, SyncTarget};
use syncer::ArchiveTarget;

/// The subjects of every archived message of the mailbox (live or not), with how many records
/// carry each: a message archived twice shows as 2.
async fn archived_subjects(env: &Env, mb: MailboxId) -> BTreeMap<String, usize> {
    let state = env
        .archive
        .state_at(mb, archive::Timestamp::now())
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for i in state.items {
        let item = env.archive.item(i.item_id).await.unwrap().unwrap();
        if item.kind == ItemKind::Message {
            *out.entry(item.subject).or_insert(0) += 1;
        }
    }
    out
}

async fn envs() -> Vec<Env> {
    let mut out = vec![Env::sqlite().await];
    if let Some(pg) = Env::postgres().await {
        out.push(pg);
    }
    out
}

fn id_of(proto: Proto, sim: &RunningSim, item: ItemRef) -> String {
    let ids = sim.handle().item_ids(ALICE, item).unwrap();
    match proto {
        Proto::Ews => ids.ews,
        Proto::Graph => ids.graph_immutable,
    }
}

async fn run(proto: Proto, sim: &RunningSim, target: &ArchiveTarget) -> RunReport {
    let source = source(proto, sim);
    sync_mailbox(source.as_ref(), target, ALICE, &options()).await
}

/// Every kind of per-item answer in one Inbox: the run archives what it can, keeps the rest on
/// the failed list with its reason, says "attention", and the next run makes the archive equal
/// to the source, each message once.
async fn per_item_errors_lose_nothing(proto: Proto) {
    for env in envs().await {
        let sim = sim().await;
        let h = sim.handle();
        let subjects = [
            "busy twice",
            "internal error",
            "not found once",
            "conversion failed",
            "batch stopped here",
            "after the stop 1",
            "after the stop 2",
            "unavailable",
        ];
        let items: Vec<ItemRef> = subjects
            .iter()
            .map(|s| h.add_message(ALICE, "Inbox", &mime(s), false).unwrap())
            .collect();
        h.fail_item(ALICE, items[0], ItemFault::ServerBusy { backoff_ms: 20 }, 2);
        h.fail_item(ALICE, items[1], ItemFault::InternalError, 1);
        h.fail_item(ALICE, items[2], ItemFault::NotFound, 1);
        // Fails on every attempt of this run: it must end on the failed list.
        h.fail_item(ALICE, items[3], ItemFault::MimeConversionFailed, 1000);
        h.fail_item(ALICE, items[4], ItemFault::BatchStopped, 1);
        h.fail_item(ALICE, items[7], ItemFault::Unavailable, 1);

        let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
            .await
            .unwrap();
        let mb = target.mailbox().id;
        let first = run(proto, &sim, &target).await;
        assert_eq!(first.status, MailboxStatus::Attention, "{first:?}");
        assert_eq!(first.counts.failed_items, 1, "{first:?}");
        let reason = first.reason.clone().unwrap();
        assert!(
            reason.starts_with("1 item could not be archived:")
                && reason.contains("ErrorMimeContentConversionFailed"),
            "{reason}"
        );
        let failed = target.failed_items().await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].item_id, id_of(proto, &sim, items[3]));
        assert_eq!(failed[0].attempts, 1);
        let got = archived_subjects(&env, mb).await;
        for (n, s) in subjects.iter().enumerate() {
            let want = usize::from(n != 3);
            assert_eq!(got.get(*s).copied().unwrap_or(0), want, "{s}: {got:?}");
        }
        if proto == Proto::Ews {
            assert!(
                first.throttled >= 2,
                "per-item busy answers count as throttling"
            );
        }

        // Still failing on the next run: kept, one attempt more, the run says so again.
        let second = run(proto, &sim, &target).await;
        assert_eq!(second.status, MailboxStatus::Attention, "{second:?}");
        assert_eq!(target.failed_items().await.unwrap()[0].attempts, 2);

        // The server recovers: the run after archives it, and the archive equals the source.
        h.clear_item_faults();
        let third = run(proto, &sim, &target).await;
        assert_eq!(third.status, MailboxStatus::Healthy, "{third:?}");
        assert_eq!(
            (third.counts.failed_items, third.counts.recovered_items),
            (0, 1),
            "{third:?}"
        );
        assert!(target.failed_items().await.unwrap().is_empty());
        let got = archived_subjects(&env, mb).await;
        for s in subjects {
            assert_eq!(got.get(s).copied(), Some(1), "{s}: {got:?}");
        }
        let (messages, _, _) = h.item_counts(ALICE).unwrap();
        assert_eq!(env.live_count(mb, ItemKind::Message).await, messages);
        assert_eq!(
            env.archive.count_items(Some(mb)).await.unwrap() as usize,
            messages + 6,
            "every message once, plus 3 events and 3 contacts"
        );
        env.finish().await;
    }
}
both!(per_item_errors_lose_nothing);

/// An item that fails and is then deleted in the source leaves the failed list: the mailbox is
/// healthy again and nothing waits for an item that no longer exists.
async fn failed_then_deleted_leaves_the_list(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let env = Env::sqlite().await;
    let doomed = h
        .add_message(ALICE, "Inbox", &mime("doomed"), false)
        .unwrap();
    h.fail_item(ALICE, doomed, ItemFault::MimeConversionFailed, 1000);
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let first = run(proto, &sim, &target).await;
    assert_eq!(first.status, MailboxStatus::Attention, "{first:?}");
    h.delete_item(ALICE, doomed).unwrap();
    let second = run(proto, &sim, &target).await;
    assert_eq!(second.status, MailboxStatus::Healthy, "{second:?}");
    assert!(target.failed_items().await.unwrap().is_empty());
    env.finish().await;
}
both!(failed_then_deleted_leaves_the_list);

/// Moves in both directions in one run, so that one of them is seen as a create in the new
/// folder before its delete in the old one: both stay one record each, and the summary counts
/// two moves, no new message and no delete. A copy of identical content stays a copy.
async fn moves_stay_moves_in_any_order(proto: Proto) {
    for env in envs().await {
        let sim = sim().await;
        let h = sim.handle();
        let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
            .await
            .unwrap();
        let mb = target.mailbox().id;
        assert_eq!(
            run(proto, &sim, &target).await.status,
            MailboxStatus::Healthy
        );
        let records = env.archive.count_items(Some(mb)).await.unwrap();

        let inbox = h.list_items(ALICE, "Inbox").unwrap();
        let projects = h.list_items(ALICE, "Inbox/Projects").unwrap();
        let sent = h.list_items(ALICE, "Sent Items").unwrap();
        h.move_item(ALICE, inbox[0], "Inbox/Projects").unwrap();
        h.move_item(ALICE, projects[0], "Inbox").unwrap();
        h.move_item(ALICE, sent[0], "Newsletters").unwrap();
        let r = run(proto, &sim, &target).await;
        assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
        assert_eq!(
            (
                r.counts.moved_items,
                r.counts.new_items,
                r.counts.deleted_items
            ),
            (3, 0, 0),
            "{r:?}"
        );
        assert_eq!(env.archive.count_items(Some(mb)).await.unwrap(), records);
        let (messages, _, _) = h.item_counts(ALICE).unwrap();
        assert_eq!(env.live_count(mb, ItemKind::Message).await, messages);
        for (item, path) in [
            (inbox[0], "Inbox/Projects"),
            (projects[0], "Inbox"),
            (sent[0], "Newsletters"),
        ] {
            let rec = env
                .archive
                .item_by_source_id(mb, &id_of(proto, &sim, item))
                .await
                .unwrap()
                .unwrap();
            let folder = env
                .archive
                .folder_tree(mb, None)
                .await
                .unwrap()
                .into_iter()
                .find(|f| f.path.join("/") == path)
                .unwrap();
            assert_eq!(rec.folder_id, Some(folder.id), "{path}");
        }
        for (s, n) in archived_subjects(&env, mb).await {
            assert_eq!(n, 1, "{s} archived {n} times");
        }

        // The same bytes in a second folder, the first copy still there: a copy, not a move.
        let raw = mime("Copied twice");
        h.add_message(ALICE, "Inbox", &raw, false).unwrap();
        run(proto, &sim, &target).await;
        h.add_message(ALICE, "Sent Items", &raw, false).unwrap();
        let r = run(proto, &sim, &target).await;
        assert_eq!((r.counts.new_items, r.counts.moved_items), (1, 0), "{r:?}");
        assert_eq!(
            archived_subjects(&env, mb).await.get("Copied twice"),
            Some(&2)
        );
        env.finish().await;
    }
}
both!(moves_stay_moves_in_any_order);

/// A message whose delete was seen in an earlier run and whose create (with a new id) comes in
/// a later one, as when a run breaks off between the two folders: it is still a move.
#[tokio::test]
async fn ews_move_split_across_runs_stays_a_move() {
    let sim = sim().await;
    let h = sim.handle();
    let env = Env::sqlite().await;
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    run(Proto::Ews, &sim, &target).await;
    let records = env.archive.count_items(Some(mb)).await.unwrap();
    let inbox = h.list_items(ALICE, "Inbox").unwrap();
    let old_id = id_of(Proto::Ews, &sim, inbox[0]);
    h.move_item(ALICE, inbox[0], "Sent Items").unwrap();
    // The archive saw only the delete (as a run that stopped after the Inbox would).
    target.delete_item(&old_id).await.unwrap();
    let r = run(Proto::Ews, &sim, &target).await;
    assert_eq!((r.counts.moved_items, r.counts.new_items), (1, 0), "{r:?}");
    assert_eq!(env.archive.count_items(Some(mb)).await.unwrap(), records);
    let rec = env
        .archive
        .item_by_source_id(mb, &id_of(Proto::Ews, &sim, inbox[0]))
        .await
        .unwrap()
        .unwrap();
    assert!(!rec.deleted_in_source);
    env.finish().await;
}

/// The process dies mid-sync while items keep failing: after a restart and the server's
/// recovery, every message is there once.
async fn crash_with_item_errors_then_resume(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let big = "bulk@example.com";
    h.add_synthetic_mailbox(big, 60).unwrap();
    for (n, item) in h.list_items(big, "Inbox").unwrap().into_iter().enumerate() {
        let fault = match n % 3 {
            0 => ItemFault::ServerBusy { backoff_ms: 5 },
            1 => ItemFault::MimeConversionFailed,
            _ => ItemFault::InternalError,
        };
        h.fail_item(big, item, fault, if n % 3 == 1 { 1000 } else { 1 });
    }
    let env = Env::sqlite().await;
    let source = paged_source(proto, &sim, 10);
    let crashing = Crashing {
        inner: ArchiveTarget::open(env.archive.clone(), env.db().clone(), big, None)
            .await
            .unwrap(),
        saves_left: AtomicU64::new(3),
    };
    let mb = crashing.inner.mailbox().id;
    let first = sync_mailbox(source.as_ref(), &crashing, big, &options()).await;
    assert_eq!(first.status, MailboxStatus::Failed, "{first:?}");

    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), big, None)
        .await
        .unwrap();
    let second = sync_mailbox(source.as_ref(), &target, big, &options()).await;
    assert_eq!(second.status, MailboxStatus::Attention, "{second:?}");
    let inbox = h.list_items(big, "Inbox").unwrap().len() as u64;
    assert_eq!(second.counts.failed_items, inbox.div_ceil(3), "{second:?}");

    h.clear_item_faults();
    let third = sync_mailbox(source.as_ref(), &target, big, &options()).await;
    assert_eq!(third.status, MailboxStatus::Healthy, "{third:?}");
    assert_eq!(
        env.archive.count_items(Some(mb)).await.unwrap(),
        60,
        "nothing lost, nothing twice"
    );
    assert_eq!(env.live_count(mb, ItemKind::Message).await, 60);
    env.finish().await;
}
both!(crash_with_item_errors_then_resume);

/// Exchange renders MIME anew on each fetch, so a moved message's bytes differ from the archived
/// ones: the move is still paired, by PidTagSearchKey, in both directions.
#[tokio::test]
async fn ews_moves_pair_by_search_key_when_mime_differs() {
    for env in envs().await {
        let sim = sim().await;
        let h = sim.handle();
        h.set_mime_varies(true);
        let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
            .await
            .unwrap();
        let mb = target.mailbox().id;
        assert_eq!(
            run(Proto::Ews, &sim, &target).await.status,
            MailboxStatus::Healthy
        );
        let records = env.archive.count_items(Some(mb)).await.unwrap();
        let inbox = h.list_items(ALICE, "Inbox").unwrap();
        let projects = h.list_items(ALICE, "Inbox/Projects").unwrap();
        h.move_item(ALICE, inbox[0], "Inbox/Projects").unwrap();
        h.move_item(ALICE, projects[0], "Inbox").unwrap();
        let renderings = h.counters().mime_renderings;
        let r = run(Proto::Ews, &sim, &target).await;
        assert!(
            h.counters().mime_renderings > renderings,
            "MIME was fetched anew"
        );
        assert_eq!(
            (
                r.counts.moved_items,
                r.counts.new_items,
                r.counts.deleted_items
            ),
            (2, 0, 0),
            "{r:?}"
        );
        assert_eq!(env.archive.count_items(Some(mb)).await.unwrap(), records);
        env.finish().await;
    }
}
