#![allow(clippy::unwrap_used)]
//! Differences of two instants, snapshots and selections, on SQLite and PostgreSQL.

mod common;

use archive::*;
use common::{message, t};

fn folder(source: &str, parent: Option<&str>, name: &str) -> FolderSpec {
    FolderSpec {
        source_id: source.into(),
        parent_source_id: parent.map(str::to_owned),
        name: name.into(),
        kind: FolderKind::Other,
    }
}

fn put(mailbox: MailboxId, folder: &str, source: &str, raw: Vec<u8>, at: Timestamp) -> PutItem {
    PutItem::message(mailbox, folder, source, raw, at)
}

fn mail(n: u32) -> Vec<u8> {
    message(
        &format!("Message {n}"),
        "sender@example.com",
        "Mon, 1 Jan 2024 10:00:00 +0000",
        &format!("body {n}"),
    )
}

/// A mailbox with Inbox, Archive and Projects (under Inbox), and messages 1-4 in the Inbox, all
/// seen by the sync at t(10).
async fn seeded(a: &Archive, name: &str) -> MailboxId {
    let m = a
        .ensure_mailbox(&NewMailbox {
            name: name.into(),
            owner_address: name.into(),
            display_name: name.into(),
        })
        .await
        .unwrap()
        .id;
    for f in [
        folder("inbox", None, "Inbox"),
        folder("arch", None, "Archive"),
        folder("proj", Some("inbox"), "Projects"),
    ] {
        a.upsert_folder(m, &f, t(10)).await.unwrap();
    }
    for n in 1..=4 {
        a.put_item(put(m, "inbox", &format!("S{n}"), mail(n), t(10)))
            .await
            .unwrap();
    }
    m
}

async fn id_of(a: &Archive, m: MailboxId, source: &str) -> ItemId {
    a.item_by_source_id(m, source).await.unwrap().unwrap().id
}

testkit::each_backend!(difference_names_every_change_between_two_instants);
async fn difference_names_every_change_between_two_instants(kit: &testkit::TestDb) {
    let a = &common::archive_on(kit);
    let m = seeded(a, "diff@example.com").await;
    let inbox = a.folder_id(m, "inbox").await.unwrap().unwrap();
    let arch = a.folder_id(m, "arch").await.unwrap().unwrap();
    let proj = a.folder_id(m, "proj").await.unwrap().unwrap();

    // The sync at t(20) sees a new message, a delete, a move, a read and a folder renamed; the
    // one at t(40) a folder deleted and one created.
    a.put_item(put(m, "inbox", "S5", mail(5), t(20)))
        .await
        .unwrap();
    a.delete_item(m, "S1", t(20)).await.unwrap();
    a.move_item(m, "S2", "arch", None, t(20)).await.unwrap();
    a.set_read(m, "S3", true, t(20)).await.unwrap();
    a.upsert_folder(m, &folder("proj", Some("inbox"), "Projects 2024"), t(20))
        .await
        .unwrap();
    a.close_folder(m, "arch", t(40)).await.unwrap();
    a.upsert_folder(m, &folder("new", None, "Receipts"), t(40))
        .await
        .unwrap();

    let diff = a.difference(m, t(15), t(30)).await.unwrap();
    let mut kinds: Vec<(ItemId, ItemChangeKind)> =
        diff.items.iter().map(|c| (c.item_id, c.kind)).collect();
    kinds.sort();
    let mut want = vec![
        (id_of(a, m, "S1").await, ItemChangeKind::Deleted),
        (id_of(a, m, "S2").await, ItemChangeKind::Moved),
        (id_of(a, m, "S3").await, ItemChangeKind::ReadChanged),
        (id_of(a, m, "S5").await, ItemChangeKind::Added),
    ];
    want.sort();
    assert_eq!(kinds, want);
    let moved = diff
        .items
        .iter()
        .find(|c| c.kind == ItemChangeKind::Moved)
        .unwrap();
    assert_eq!(
        (moved.from_folder, moved.to_folder),
        (Some(inbox), Some(arch))
    );
    assert_eq!(moved.at, t(20));
    assert_eq!(diff.folders.len(), 1);
    assert_eq!(diff.folders[0].folder_id, proj);
    assert_eq!(diff.folders[0].kind, FolderChangeKind::Renamed);
    assert_eq!(diff.folders[0].new_name.as_deref(), Some("Projects 2024"));

    // The order of the instants does not matter; outside the changes nothing differs.
    assert_eq!(a.difference(m, t(30), t(15)).await.unwrap(), diff);
    assert!(a
        .difference(m, t(11), t(19))
        .await
        .unwrap()
        .items
        .is_empty());

    let later = a.difference(m, t(30), t(50)).await.unwrap();
    let mut folder_kinds: Vec<FolderChangeKind> = later.folders.iter().map(|f| f.kind).collect();
    folder_kinds.sort();
    assert_eq!(
        folder_kinds,
        vec![FolderChangeKind::Created, FolderChangeKind::Deleted]
    );

    // A page: counts of everything, rows of what the filter lets through, with details.
    let page = a
        .difference_page(
            m,
            t(15),
            t(30),
            &DifferenceFilter {
                kinds: vec![ItemChangeKind::Deleted, ItemChangeKind::Moved],
                folder: None,
                item_kinds: vec![ItemKind::Message],
                offset: 0,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.matching, 2);
    assert_eq!(page.rows.len(), 1);
    assert!(page.counts.contains(&(ItemChangeKind::Added, 1)));
    assert!(page.counts.contains(&(ItemChangeKind::ReadChanged, 1)));
    let in_archive = a
        .difference_page(
            m,
            t(15),
            t(30),
            &DifferenceFilter {
                folder: Some(arch),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(in_archive.matching, 1);
    assert_eq!(in_archive.rows[0].1.subject, "Message 2");
    assert_eq!(a.first_seen(m).await.unwrap(), Some(t(10)));
}

testkit::each_backend!(a_move_archived_as_delete_and_add_is_one_move);
async fn a_move_archived_as_delete_and_add_is_one_move(kit: &testkit::TestDb) {
    let a = &common::archive_on(kit);
    let m = seeded(a, "pairs@example.com").await;
    // How history looked before the sync paired EWS moves: the item vanished from the Inbox and
    // the same message appeared in Archive under a new id.
    a.delete_item(m, "S1", t(20)).await.unwrap();
    a.put_item(put(m, "arch", "S1-new", mail(1), t(20)))
        .await
        .unwrap();
    // A different message with the same subject deleted at the same time stays a delete.
    a.delete_item(m, "S2", t(20)).await.unwrap();

    let diff = a.difference(m, t(15), t(30)).await.unwrap();
    assert_eq!(diff.items.len(), 2, "{:?}", diff.items);
    let moved = diff
        .items
        .iter()
        .find(|c| c.kind == ItemChangeKind::Moved)
        .expect("one move");
    assert_eq!(moved.item_id, id_of(a, m, "S1-new").await);
    assert_eq!(moved.paired_with, Some(id_of(a, m, "S1").await));
    assert_eq!(moved.from_folder, a.folder_id(m, "inbox").await.unwrap());
    assert_eq!(moved.to_folder, a.folder_id(m, "arch").await.unwrap());
    let s2 = id_of(a, m, "S2").await;
    assert!(diff
        .items
        .iter()
        .any(|c| c.kind == ItemChangeKind::Deleted && c.item_id == s2));
}

testkit::each_backend!(snapshots_are_rows_and_held_ones_pin_their_items);
async fn snapshots_are_rows_and_held_ones_pin_their_items(kit: &testkit::TestDb) {
    let a = &common::archive_on(kit);
    let m = seeded(a, "snap@example.com").await;
    a.delete_item(m, "S1", t(20)).await.unwrap();
    a.put_item(put(m, "inbox", "S5", mail(5), t(30)))
        .await
        .unwrap();
    let new = |at, label: &str, hold| NewSnapshot {
        mailbox_id: m,
        taken_at: at,
        label: label.into(),
        task_id: 7,
        task_name: "Nightly".into(),
        created_by: "admin".into(),
        hold,
    };
    let early = a
        .create_snapshot(&new(t(15), " before ", true))
        .await
        .unwrap();
    let late = a
        .create_snapshot(&new(t(35), "after", false))
        .await
        .unwrap();
    assert_eq!(early.label, "before");
    assert!(early.hold);
    let listed = a.snapshots(m).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![late.id, early.id]
    );
    assert_eq!(a.snapshot(early.id).await.unwrap().unwrap(), early);

    // The held snapshot at t(15) shows S1-S4: those are pinned; S5 came later.
    let mut want = Vec::new();
    for s in ["S1", "S2", "S3", "S4"] {
        want.push(id_of(a, m, s).await);
    }
    want.sort();
    assert_eq!(a.held_items(m).await.unwrap(), want);
    a.set_snapshot_hold(early.id, false).await.unwrap();
    assert!(a.held_items(m).await.unwrap().is_empty());
    a.set_snapshot_hold(late.id, true).await.unwrap();
    assert_eq!(a.held_items(m).await.unwrap().len(), 4);

    a.delete_snapshot(late.id).await.unwrap();
    assert!(a.snapshot(late.id).await.unwrap().is_none());
    assert_eq!(
        a.count_items(Some(m)).await.unwrap(),
        5,
        "no data goes with it"
    );
}

testkit::each_backend!(a_selection_keeps_its_items_and_their_folders);
async fn a_selection_keeps_its_items_and_their_folders(kit: &testkit::TestDb) {
    let a = &common::archive_on(kit);
    let m = seeded(a, "sel@example.com").await;
    let other = seeded(a, "other@example.com").await;
    let inbox = a.folder_id(m, "inbox").await.unwrap();
    let items: Vec<SelectedItem> = vec![
        SelectedItem {
            item_id: id_of(a, m, "S1").await,
            folder_id: inbox,
        },
        SelectedItem {
            item_id: id_of(a, m, "S2").await,
            folder_id: inbox,
        },
    ];
    let sel = a
        .create_selection(m, "Deleted in May", "deleted between …", "admin", &items)
        .await
        .unwrap();
    assert_eq!(sel.item_count, 2);
    assert_eq!(a.selection_items(sel.id).await.unwrap(), items);
    assert_eq!(a.selections(m).await.unwrap(), vec![sel.clone()]);

    // Items of another mailbox cannot be slipped into a selection; nothing is stored then.
    let foreign = [SelectedItem {
        item_id: id_of(a, other, "S1").await,
        folder_id: None,
    }];
    assert!(a
        .create_selection(m, "Bad", "rule", "admin", &foreign)
        .await
        .is_err());
    assert_eq!(a.selections(m).await.unwrap().len(), 1);
}

testkit::each_backend!(items_of_a_kind_come_with_their_properties_as_of_an_instant);
async fn items_of_a_kind_come_with_their_properties_as_of_an_instant(kit: &testkit::TestDb) {
    let a = &common::archive_on(kit);
    let m = seeded(a, "pim@example.com").await;
    a.upsert_folder(m, &folder("cal", None, "Calendar"), t(10))
        .await
        .unwrap();
    a.upsert_folder(m, &folder("con", None, "Contacts"), t(10))
        .await
        .unwrap();
    let pim = |folder: &str, source: &str, kind: ItemKind, props: Option<&str>| PutItem {
        kind,
        properties: props.map(|p| p.as_bytes().to_vec()),
        ..put(
            m,
            folder,
            source,
            format!("BEGIN:{source}\r\n").into_bytes(),
            t(10),
        )
    };
    a.put_item(pim("cal", "E1", ItemKind::Calendar, Some(r#"{"e":1}"#)))
        .await
        .unwrap();
    a.put_item(pim("cal", "E2", ItemKind::Calendar, None))
        .await
        .unwrap();
    a.put_item(pim("con", "C1", ItemKind::Contact, Some(r#"{"c":1}"#)))
        .await
        .unwrap();
    a.delete_item(m, "E1", t(20)).await.unwrap();

    let now = a.items_of_kind(m, ItemKind::Calendar, None).await.unwrap();
    assert_eq!(now.len(), 1, "the deleted event is gone now");
    assert_eq!(now[0].summary.id, id_of(a, m, "E2").await);
    assert_eq!(now[0].properties, None, "archived without properties");

    let before = a
        .items_of_kind(m, ItemKind::Calendar, Some(t(15)))
        .await
        .unwrap();
    assert_eq!(before.len(), 2, "both events as of before the delete");
    let e1 = before
        .iter()
        .find(|i| i.summary.id != now[0].summary.id)
        .unwrap();
    assert_eq!(e1.properties.as_deref(), Some(&br#"{"e":1}"#[..]));
    assert_eq!(e1.summary.kind, ItemKind::Calendar);

    let contacts = a.items_of_kind(m, ItemKind::Contact, None).await.unwrap();
    assert_eq!(contacts.len(), 1, "messages and events are not contacts");
    assert_eq!(contacts[0].properties.as_deref(), Some(&br#"{"c":1}"#[..]));
    assert!(a
        .items_of_kind(m, ItemKind::Contact, Some(t(5)))
        .await
        .unwrap()
        .is_empty());
}
