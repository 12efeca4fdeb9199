#![allow(clippy::unwrap_used)]
//! Retention on SQLite and PostgreSQL: the policy and its floor, what a purge takes and what it
//! must keep (items still in the source, held snapshots, shared blobs), and a purge racing a
//! sync that stores the same content.

mod common;

use archive::*;
use common::{message, t};

const DAY: i64 = 86_400_000_000;

fn folder(source: &str, name: &str) -> FolderSpec {
    FolderSpec {
        source_id: source.into(),
        parent_source_id: None,
        name: name.into(),
        kind: FolderKind::Other,
    }
}

fn put(mailbox: MailboxId, source: &str, kind: ItemKind, raw: Vec<u8>, at: Timestamp) -> PutItem {
    PutItem {
        kind,
        ..PutItem::message(mailbox, "inbox", source, raw, at)
    }
}

fn mail(n: u32) -> Vec<u8> {
    message(
        &format!("Message {n}"),
        "sender@example.com",
        "Mon, 1 Jan 2024 10:00:00 +0000",
        &format!("body {n}"),
    )
}

async fn mailbox(a: &Archive, name: &str) -> MailboxId {
    let m = a
        .ensure_mailbox(&NewMailbox {
            name: name.into(),
            owner_address: name.into(),
            display_name: name.into(),
        })
        .await
        .unwrap()
        .id;
    a.upsert_folder(m, &folder("inbox", "Inbox"), t(10))
        .await
        .unwrap();
    m
}

async fn id_of(a: &Archive, m: MailboxId, source: &str) -> Option<ItemId> {
    a.item_by_source_id(m, source).await.unwrap().map(|i| i.id)
}

/// A floor as the sync tasks give it.
struct Floor58;

#[async_trait::async_trait]
impl RetentionFloors for Floor58 {
    async fn floor(&self, _mailbox: Option<MailboxId>) -> Result<Option<Floor>, String> {
        Ok(Some(Floor {
            days: 58,
            why: "sync task “Nightly” is enabled".into(),
        }))
    }
}

testkit::each_backend!(the_policy_has_a_default_overrides_and_a_floor);
async fn the_policy_has_a_default_overrides_and_a_floor(kit: &testkit::TestDb) {
    let a = &common::archive_on(kit);
    let m = mailbox(a, "p@example.com").await;
    let fresh = a.retention_policy().await.unwrap();
    assert_eq!(
        fresh.default,
        KindRules::FOREVER,
        "nothing set keeps for ever"
    );
    assert_eq!(fresh.default_changed, None);

    let mut rules = KindRules::FOREVER;
    rules.mail = KeepRule::days(30, RetentionBasis::LeftSource);
    rules.contacts = KeepRule::days(400, RetentionBasis::Archived);
    let refused = a
        .set_retention(&RetentionChange::Default(rules), "admin", &Floor58)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("at least 58 days") && refused.to_string().contains("Nightly"),
        "the refusal names the floor and its reason: {refused}"
    );
    assert_eq!(
        a.retention_policy().await.unwrap(),
        fresh,
        "nothing changed"
    );

    let policy = a
        .set_retention(&RetentionChange::Default(rules), "admin", &NoFloors)
        .await
        .unwrap();
    assert_eq!(policy.default, rules);
    assert_eq!(policy.default_changed.as_ref().unwrap().0, "admin");

    // A zero or absurd keep time is refused before anything is stored.
    let mut zero = rules;
    zero.calendar = KeepRule::days(0, RetentionBasis::LeftSource);
    assert!(a
        .set_retention(&RetentionChange::Default(zero), "admin", &NoFloors)
        .await
        .is_err());

    // A mailbox overrides mail only; the other kinds follow the default.
    let policy = a
        .set_retention(
            &RetentionChange::Mailbox {
                mailbox_id: m,
                mail: Some(KeepRule::days(3650, RetentionBasis::Archived)),
                calendar: None,
                contacts: None,
            },
            "boss",
            &Floor58,
        )
        .await
        .unwrap();
    let effective = policy.for_mailbox(m);
    assert_eq!(effective.mail.keep_days, Some(3650));
    assert_eq!(effective.contacts, rules.contacts);
    assert_eq!(
        policy.for_mailbox(m + 1000),
        rules,
        "others follow the default"
    );

    // An override shorter than the floor is refused too; removing it is always allowed.
    assert!(a
        .set_retention(
            &RetentionChange::Mailbox {
                mailbox_id: m,
                mail: Some(KeepRule::days(10, RetentionBasis::LeftSource)),
                calendar: None,
                contacts: None,
            },
            "boss",
            &Floor58,
        )
        .await
        .is_err());
    let policy = a
        .set_retention(
            &RetentionChange::Mailbox {
                mailbox_id: m,
                mail: None,
                calendar: None,
                contacts: None,
            },
            "boss",
            &Floor58,
        )
        .await
        .unwrap();
    assert!(policy.overrides.is_empty());
    assert!(a
        .set_retention(
            &RetentionChange::Mailbox {
                mailbox_id: 987_654,
                mail: None,
                calendar: None,
                contacts: None,
            },
            "boss",
            &NoFloors,
        )
        .await
        .is_err());
}

testkit::each_backend!(a_purge_takes_what_is_past_its_time_and_keeps_the_rest);
async fn a_purge_takes_what_is_past_its_time_and_keeps_the_rest(kit: &testkit::TestDb) {
    let a = &common::archive_on(kit);
    let m = mailbox(a, "owner@example.com").await;
    let other = mailbox(a, "other@example.com").await;
    for n in 1..=4 {
        a.put_item(put(m, &format!("S{n}"), ItemKind::Message, mail(n), t(10)))
            .await
            .unwrap();
    }
    // The same content as S1 elsewhere: its blob must outlive S1's record.
    a.put_item(put(other, "O1", ItemKind::Message, mail(1), t(10)))
        .await
        .unwrap();
    a.put_item(put(
        m,
        "E1",
        ItemKind::Calendar,
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_vec(),
        t(16),
    ))
    .await
    .unwrap();
    // S1 and S3 leave the source early, S2 later; S4 and E1 stay.
    a.delete_item(m, "S1", t(12)).await.unwrap();
    a.delete_item(m, "S3", t(12)).await.unwrap();
    a.delete_item(m, "S2", t(20)).await.unwrap();
    // A held snapshot at t(15) shows S2 (and S4; not E1, which came later): S2 stays
    // however old.
    let held = a
        .create_snapshot(&NewSnapshot {
            mailbox_id: m,
            taken_at: t(15),
            label: "legal hold".into(),
            task_id: 1,
            task_name: "Nightly".into(),
            created_by: "admin".into(),
            hold: true,
        })
        .await
        .unwrap();
    let s1 = id_of(a, m, "S1").await.unwrap();
    let s3 = id_of(a, m, "S3").await.unwrap();
    let selection = a
        .create_selection(
            m,
            "S1 and S3",
            "chosen by hand",
            "admin",
            &[
                SelectedItem {
                    item_id: s1,
                    folder_id: None,
                },
                SelectedItem {
                    item_id: s3,
                    folder_id: None,
                },
            ],
        )
        .await
        .unwrap();
    let s3_blob = a.item(s3).await.unwrap().unwrap().blob_hash;

    let mut rules = KindRules::FOREVER;
    rules.mail = KeepRule::days(30, RetentionBasis::LeftSource);
    rules.calendar = KeepRule::days(20, RetentionBasis::Archived);

    // Not yet: 29 days after they left.
    let early = Timestamp(t(12).0 + 29 * DAY);
    let (count, listed) = a.purge_preview(m, &rules, early, 10).await.unwrap();
    assert_eq!((count.mail, count.held), (0, 0));
    assert_eq!(
        count.calendar, 1,
        "the event counts from when it was archived"
    );
    assert_eq!(listed.len(), 1);

    let now = Timestamp(t(20).0 + 40 * DAY);
    let (count, listed) = a.purge_preview(m, &rules, now, 10).await.unwrap();
    assert_eq!(count.mail, 2, "S1 and S3 left long ago: {count:?}");
    assert_eq!(count.held, 1, "S2 is past its time but held");
    assert_eq!(count.calendar, 1);
    let mut names: Vec<String> = listed.iter().map(|c| c.subject.clone()).collect();
    names.sort();
    assert_eq!(names, ["", "Message 1", "Message 3"]);
    assert!(listed
        .iter()
        .filter(|c| c.kind == ItemKind::Message)
        .all(|c| c.left_at == Some(t(12))));
    assert_eq!(
        a.count_items(Some(m)).await.unwrap(),
        5,
        "a dry run removes nothing"
    );

    let seq_before = a.change_seq().await.unwrap();
    let step = a.purge_step(m, &rules, now, 2).await.unwrap();
    assert_eq!(step.count.items(), 2, "a step takes at most its batch");
    let rest = a.purge_step(m, &rules, now, 500).await.unwrap();
    assert_eq!(step.count.items() + rest.count.items(), 3);
    // The counts the database keeps follow the purge of an item still in the source (E1): they
    // match a recount, and S4 is all that is left open.
    let kept = a.folder_tree(m, None).await.unwrap();
    let counted = a
        .folder_tree(m, Some(Timestamp(now.0 + DAY)))
        .await
        .unwrap();
    let shape = |tree: &[FolderNode]| {
        tree.iter()
            .map(|n| (n.id, n.total, n.unread))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&kept), shape(&counted));
    assert_eq!(kept.iter().map(|n| n.total).sum::<i64>(), 1, "{kept:?}");
    assert_eq!(
        a.purge_step(m, &rules, now, 500)
            .await
            .unwrap()
            .count
            .items(),
        0
    );

    for gone in ["S1", "S3", "E1"] {
        assert_eq!(id_of(a, m, gone).await, None, "{gone} is purged");
    }
    for kept in ["S2", "S4"] {
        assert!(id_of(a, m, kept).await.is_some(), "{kept} stays");
    }
    let sel = a.selection(selection.id).await.unwrap().unwrap();
    assert_eq!(sel.item_count, 0, "the selection says what it still holds");
    assert!(a.selection_items(selection.id).await.unwrap().is_empty());

    // The search index learns of each removal, in change order.
    let removals = a
        .removals_since(
            ChangeCursor {
                seq: seq_before,
                item_id: i64::MAX,
            },
            100,
        )
        .await
        .unwrap();
    let mut removed: Vec<ItemId> = removals.iter().map(|r| r.item_id).collect();
    removed.sort();
    assert_eq!(removed.len(), 3);
    assert!(removed.contains(&s1) && removed.contains(&s3));
    let paged = a.removals_since(removals[0], 100).await.unwrap();
    assert_eq!(
        paged.len(),
        2,
        "a cursor inside one change's removals pages on"
    );

    // Blobs: S3's content is gone after the second step; S1's stays, the other mailbox has it.
    let deleted = a.collect_orphans().await.unwrap();
    assert_eq!(deleted, 2, "S3's and E1's content");
    assert!(!a
        .blobs()
        .contains(&BlobHash::parse(&s3_blob).unwrap())
        .await
        .unwrap());
    let o1 = id_of(a, other, "O1").await.unwrap();
    assert_eq!(a.read_raw(o1).await.unwrap(), mail(1));
    assert_eq!(
        a.collect_orphans().await.unwrap(),
        0,
        "nothing left to collect"
    );

    // Releasing the hold lets S2 go at the next purge; the other mailbox is untouched.
    a.set_snapshot_hold(held.id, false).await.unwrap();
    let last = a.purge_step(m, &rules, now, 500).await.unwrap();
    assert_eq!(last.count.mail, 1);
    assert_eq!(id_of(a, m, "S2").await, None);
    assert_eq!(a.count_items(Some(other)).await.unwrap(), 1);

    // Content stored again after its blob was deleted is written again, not left dangling.
    a.put_item(put(other, "O3", ItemKind::Message, mail(3), t(30)))
        .await
        .unwrap();
    let o3 = id_of(a, other, "O3").await.unwrap();
    assert_eq!(a.read_raw(o3).await.unwrap(), mail(3));
}

testkit::each_backend!(a_purge_racing_a_sync_of_the_same_content_loses_nothing);
/// Mailbox A's records are purged while mailbox B stores the same content, round after round:
/// B's put finds the blob present before its transaction, the purge deletes it in between.
/// Every record B ends up with must still read its content.
async fn a_purge_racing_a_sync_of_the_same_content_loses_nothing(kit: &testkit::TestDb) {
    let a = common::archive_on(kit);
    let old = mailbox(&a, "old@example.com").await;
    let new = mailbox(&a, "new@example.com").await;
    let mut rules = KindRules::FOREVER;
    rules.mail = KeepRule::days(1, RetentionBasis::Archived);
    let now = Timestamp(t(10).0 + 2 * DAY);
    const ROUNDS: u32 = 40;
    for round in 0..ROUNDS {
        let items: Vec<PutItem> = (0..5)
            .map(|k| {
                put(
                    old,
                    &format!("R{round}-{k}"),
                    ItemKind::Message,
                    mail(round * 10 + k),
                    t(10),
                )
            })
            .collect();
        a.put_items(items).await.unwrap();
        let purge = {
            let a = a.clone();
            tokio::spawn(async move {
                a.purge_step(old, &rules, now, 500).await.unwrap();
                a.collect_orphans().await.unwrap()
            })
        };
        let sync = {
            let a = a.clone();
            tokio::spawn(async move {
                let items: Vec<PutItem> = (0..5)
                    .map(|k| {
                        put(
                            new,
                            &format!("N{round}-{k}"),
                            ItemKind::Message,
                            mail(round * 10 + k),
                            Timestamp::now(),
                        )
                    })
                    .collect();
                a.put_items(items).await.unwrap();
            })
        };
        purge.await.unwrap();
        sync.await.unwrap();
    }
    let stored = a.referenced_blobs().await.unwrap();
    assert_eq!(stored.len(), (ROUNDS * 5) as usize);
    for round in 0..ROUNDS {
        for k in 0..5 {
            let id = id_of(&a, new, &format!("N{round}-{k}")).await.unwrap();
            assert_eq!(
                a.read_raw(id).await.unwrap(),
                mail(round * 10 + k),
                "round {round}: the record's content survived the purge"
            );
        }
    }
    assert_eq!(
        a.count_items(Some(old)).await.unwrap(),
        0,
        "every old record went"
    );
}
