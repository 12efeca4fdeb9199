#![allow(clippy::unwrap_used)]
//! The store suite, run against SQLite and PostgreSQL.

mod common;

use archive::*;
use common::{message, t, TestArchive};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let ta = super::TestArchive::sqlite().await;
                super::$name(&ta).await;
                ta.finish().await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let Some(ta) = super::TestArchive::postgres().await else { return };
                super::$name(&ta).await;
                ta.finish().await;
            })*
        }
    };
}

on_both_backends!(
    mailboxes_by_owner,
    identical_bytes_are_stored_once_but_each_mailbox_keeps_its_record,
    interval_model_move_delete_readd_and_as_of,
    folder_paging_by_keyset_in_every_sort,
    item_metadata_and_raw_round_trip,
    calendar_and_contacts_are_stored_like_messages,
    unknown_folder_and_item_are_errors,
    one_batch_mixes_new_repeated_moved_and_readded_items,
    changes_are_counted_from_a_cursor_like_they_are_listed,
    every_date_says_where_it_came_from,
    kept_folder_counts_match_a_recount_after_every_kind_of_write,
);

async fn mailbox(a: &Archive, name: &str) -> Mailbox {
    a.ensure_mailbox(&NewMailbox {
        name: name.into(),
        owner_address: name.into(),
        display_name: name.into(),
    })
    .await
    .unwrap()
}

fn folder(source: &str, parent: Option<&str>, name: &str, kind: FolderKind) -> FolderSpec {
    FolderSpec {
        source_id: source.into(),
        parent_source_id: parent.map(str::to_owned),
        name: name.into(),
        kind,
    }
}

fn put(mailbox: MailboxId, folder: &str, source: &str, raw: Vec<u8>, at: Timestamp) -> PutItem {
    PutItem::message(mailbox, folder, source, raw, at)
}

async fn mailboxes_by_owner(ta: &TestArchive) {
    let a = &ta.archive;
    let m1 = a
        .ensure_mailbox(&NewMailbox {
            name: "ann@example.com".into(),
            owner_address: "Ann@Example.com".into(),
            display_name: "Ann".into(),
        })
        .await
        .unwrap();
    let again = a
        .ensure_mailbox(&NewMailbox {
            name: "ann@example.com".into(),
            owner_address: "ann@example.com".into(),
            display_name: "Ann again".into(),
        })
        .await
        .unwrap();
    assert_eq!(m1.id, again.id);
    assert_eq!(again.display_name, "Ann");
    let legacy = a
        .ensure_mailbox(&NewMailbox {
            name: "Ann's old PST".into(),
            owner_address: "ann@example.com".into(),
            display_name: "Legacy".into(),
        })
        .await
        .unwrap();
    mailbox(a, "bob@example.com").await;
    let owned = a.mailboxes_by_owner("ANN@example.com").await.unwrap();
    let ids: Vec<_> = owned.iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&m1.id) && ids.contains(&legacy.id));
    assert_eq!(a.list_mailboxes().await.unwrap().len(), 3);
    assert_eq!(
        a.mailbox_by_name("bob@example.com")
            .await
            .unwrap()
            .unwrap()
            .owner_address,
        "bob@example.com"
    );
    assert!(a.mailbox(9999).await.unwrap().is_none());
}

async fn identical_bytes_are_stored_once_but_each_mailbox_keeps_its_record(ta: &TestArchive) {
    let a = &ta.archive;
    let m1 = mailbox(a, "one@example.com").await;
    let m2 = mailbox(a, "two@example.com").await;
    for m in [&m1, &m2] {
        a.upsert_folder(
            m.id,
            &folder("inbox", None, "Inbox", FolderKind::Inbox),
            t(0),
        )
        .await
        .unwrap();
    }
    let raw = message(
        "Shared",
        "x@example.com",
        "Mon, 1 Jan 2024 10:00:00 +0000",
        "same bytes",
    );
    let o1 = a
        .put_item(put(m1.id, "inbox", "A1", raw.clone(), t(1)))
        .await
        .unwrap();
    let o2 = a
        .put_item(put(m2.id, "inbox", "B1", raw.clone(), t(1)))
        .await
        .unwrap();
    assert!(matches!(o1, PutOutcome::Created(_)));
    assert!(matches!(o2, PutOutcome::Created(_)));
    assert_ne!(o1.item_id(), o2.item_id());
    // The same source item again adds nothing.
    let o3 = a
        .put_item(put(m1.id, "inbox", "A1", raw.clone(), t(2)))
        .await
        .unwrap();
    assert_eq!(o3, PutOutcome::Existing(o1.item_id()));
    assert_eq!(a.count_items(None).await.unwrap(), 2);
    assert_eq!(a.count_items(Some(m1.id)).await.unwrap(), 1);
    let blobs = a.referenced_blobs().await.unwrap();
    assert_eq!(blobs, vec![BlobHash::of(&raw).to_string()]);
    let objects = walk_files(&ta.dir().join("blobs/objects"));
    assert_eq!(objects, 1, "one blob file for identical bytes");
    // Both records read back the same content.
    assert_eq!(a.read_raw(o1.item_id()).await.unwrap(), raw);
    assert_eq!(a.read_raw(o2.item_id()).await.unwrap(), raw);
    // And the re-put did not open a second interval.
    let state = a.state_at(m1.id, t(3)).await.unwrap();
    assert_eq!(state.items.len(), 1);
}

fn walk_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            n += walk_files(&entry.path());
        } else {
            n += 1;
        }
    }
    n
}

fn where_is(state: &MailboxState, source: &str) -> Option<(String, bool)> {
    let item = state.items.iter().find(|i| i.source_id == source)?;
    let folder = state.folders.iter().find(|f| f.id == item.folder_id)?;
    Some((folder.path.join("/"), item.is_read))
}

fn paths(state: &MailboxState) -> Vec<String> {
    state.folders.iter().map(|f| f.path.join("/")).collect()
}

async fn interval_model_move_delete_readd_and_as_of(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "time@example.com").await.id;
    a.upsert_folder(m, &folder("inbox", None, "Inbox", FolderKind::Inbox), t(10))
        .await
        .unwrap();
    a.upsert_folder(
        m,
        &folder("arch", None, "Archive", FolderKind::Archive),
        t(10),
    )
    .await
    .unwrap();
    a.upsert_folder(
        m,
        &folder("proj", Some("inbox"), "Projects", FolderKind::Other),
        t(10),
    )
    .await
    .unwrap();
    // Unchanged upsert writes no new version.
    a.upsert_folder(
        m,
        &folder("proj", Some("inbox"), "Projects", FolderKind::Other),
        t(15),
    )
    .await
    .unwrap();

    let ra = message(
        "Alpha",
        "a@example.com",
        "Mon, 1 Jan 2024 10:00:00 +0000",
        "alpha",
    );
    let rb = message(
        "Beta",
        "b@example.com",
        "Tue, 2 Jan 2024 10:00:00 +0000",
        "beta",
    );
    let rc = message(
        "Gamma",
        "c@example.com",
        "Wed, 3 Jan 2024 10:00:00 +0000",
        "gamma",
    );
    a.put_item(put(m, "inbox", "A", ra, t(20))).await.unwrap();
    a.put_item(put(m, "inbox", "B", rb, t(20))).await.unwrap();
    a.put_item(put(m, "proj", "C", rc, t(20))).await.unwrap();

    a.move_item(m, "A", "arch", Some("A2"), t(30))
        .await
        .unwrap();
    a.delete_item(m, "B", t(40)).await.unwrap();
    a.upsert_folder(
        m,
        &folder("proj", Some("arch"), "Projects 2024", FolderKind::Other),
        t(50),
    )
    .await
    .unwrap();
    a.move_item(m, "B", "inbox", None, t(60)).await.unwrap();
    a.set_read(m, "A2", true, t(70)).await.unwrap();
    a.set_read(m, "A2", true, t(75)).await.unwrap();
    a.close_folder(m, "proj", t(80)).await.unwrap();

    // Before anything existed.
    let s = a.state_at(m, t(5)).await.unwrap();
    assert!(s.folders.is_empty() && s.items.is_empty());
    // Folders, no items yet.
    let s = a.state_at(m, t(15)).await.unwrap();
    assert_eq!(paths(&s), vec!["Archive", "Inbox", "Inbox/Projects"]);
    assert!(s.items.is_empty());
    // Everything in its first place.
    let s = a.state_at(m, t(25)).await.unwrap();
    // Item records carry their latest source id (Exchange gave A a new id on the move).
    assert_eq!(where_is(&s, "A2"), Some(("Inbox".into(), false)));
    assert_eq!(where_is(&s, "B"), Some(("Inbox".into(), false)));
    assert_eq!(where_is(&s, "C"), Some(("Inbox/Projects".into(), false)));
    // The instant of a change belongs to the new interval.
    let s = a.state_at(m, t(30)).await.unwrap();
    assert_eq!(where_is(&s, "A2"), Some(("Archive".into(), false)));
    assert_eq!(s.items.len(), 3);
    // B deleted: gone from the view, not from the archive.
    let s = a.state_at(m, t(45)).await.unwrap();
    assert_eq!(where_is(&s, "B"), None);
    assert_eq!(s.items.len(), 2);
    let b = a.item_by_source_id(m, "B").await.unwrap().unwrap();
    assert!(!a.read_raw(b.id).await.unwrap().is_empty());
    // The rename and re-parent.
    let s = a.state_at(m, t(55)).await.unwrap();
    assert_eq!(paths(&s), vec!["Archive", "Archive/Projects 2024", "Inbox"]);
    assert_eq!(
        where_is(&s, "C"),
        Some(("Archive/Projects 2024".into(), false))
    );
    // B re-added.
    let s = a.state_at(m, t(65)).await.unwrap();
    assert_eq!(where_is(&s, "B"), Some(("Inbox".into(), false)));
    // A read from t70.
    let s = a.state_at(m, t(72)).await.unwrap();
    assert_eq!(where_is(&s, "A2"), Some(("Archive".into(), true)));
    let tree = a.folder_tree(m, Some(t(72))).await.unwrap();
    let archive = tree.iter().find(|f| f.name == "Archive").unwrap();
    assert_eq!((archive.total, archive.unread), (1, 0));
    let inbox = tree.iter().find(|f| f.name == "Inbox").unwrap();
    assert_eq!((inbox.total, inbox.unread), (1, 1));
    // Projects closed at t80, with its item.
    let now = a.folder_tree(m, None).await.unwrap();
    assert_eq!(
        now.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        vec!["Archive", "Inbox"]
    );
    let s = a.state_at(m, t(90)).await.unwrap();
    assert_eq!(s.items.len(), 2);
    assert_eq!(where_is(&s, "C"), None);
    // As of earlier instants, the past is unchanged by later events.
    let tree = a.folder_tree(m, Some(t(25))).await.unwrap();
    let inbox = tree.iter().find(|f| f.name == "Inbox").unwrap();
    assert_eq!((inbox.total, inbox.unread), (2, 2));
    assert_eq!(a.count_items(Some(m)).await.unwrap(), 3);
    let c = a.item_by_source_id(m, "C").await.unwrap().unwrap();
    assert!(c.deleted_in_source, "its folder was closed");
    assert!(
        !a.item_by_source_id(m, "B")
            .await
            .unwrap()
            .unwrap()
            .deleted_in_source
    );
    // Folder lookup by any name it had.
    let named = a.folders_named(&[m], "projects").await.unwrap();
    assert_eq!(named, vec![a.folder_id(m, "proj").await.unwrap().unwrap()]);
}

async fn folder_paging_by_keyset_in_every_sort(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "pages@example.com").await.id;
    let inbox = a
        .upsert_folder(m, &folder("inbox", None, "Inbox", FolderKind::Inbox), t(0))
        .await
        .unwrap();
    let mut batch = Vec::new();
    for i in 0..120 {
        // Senders and dates repeat so that ties must be broken by id.
        let raw = message(
            &format!("Re: subject {:03}", i % 40),
            &format!("user{}@example.com", i % 7),
            &format!("Mon, {} Jan 2024 10:00:00 +0000", 1 + i % 28),
            &"x".repeat(i),
        );
        batch.push(put(m, "inbox", &format!("S{i}"), raw, t(1)));
    }
    a.put_items(batch).await.unwrap();
    a.delete_item(m, "S0", t(5)).await.unwrap();

    for sort in [
        SortKey::Date,
        SortKey::Sender,
        SortKey::Subject,
        SortKey::Size,
    ] {
        for descending in [true, false] {
            let mut seen = Vec::new();
            let mut after = None;
            let mut pages = 0;
            loop {
                let page = a
                    .list_folder_items(
                        inbox,
                        &ListQuery {
                            sort,
                            descending,
                            limit: 50,
                            after,
                            as_of: None,
                        },
                    )
                    .await
                    .unwrap();
                pages += 1;
                seen.extend(page.items);
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            assert_eq!(pages, 3, "{sort:?}");
            assert_eq!(seen.len(), 119, "{sort:?} {descending}");
            let mut ids: Vec<_> = seen.iter().map(|s| s.id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), 119);
            for w in seen.windows(2) {
                let ord = match sort {
                    SortKey::Date => w[0].date.cmp(&w[1].date),
                    SortKey::Size => w[0].size.cmp(&w[1].size),
                    SortKey::Sender => w[0].sender.to_lowercase().cmp(&w[1].sender.to_lowercase()),
                    SortKey::Subject => std::cmp::Ordering::Equal,
                };
                let ord = ord.then(w[0].id.cmp(&w[1].id));
                let expected = if descending {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Less
                };
                assert!(
                    sort == SortKey::Subject || ord == expected,
                    "{sort:?} {descending}: {:?} {:?}",
                    w[0],
                    w[1]
                );
            }
        }
    }
    // As of before the delete, S0 is listed.
    let page = a
        .list_folder_items(
            inbox,
            &ListQuery {
                limit: 500,
                as_of: Some(t(2)),
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 120);
    assert!(page.next.is_none());
    assert!(matches!(
        a.list_folder_items(
            inbox,
            &ListQuery {
                after: Some("garbage".into()),
                ..ListQuery::default()
            }
        )
        .await,
        Err(ArchiveError::BadCursor(_))
    ));
}

async fn item_metadata_and_raw_round_trip(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "meta@example.com").await.id;
    a.upsert_folder(m, &folder("inbox", None, "Inbox", FolderKind::Inbox), t(0))
        .await
        .unwrap();
    let raw = b"From: Ann <ann@example.com>\r\nTo: b@example.com\r\nCc: c@example.com\r\nSubject: Report\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nbody\r\n--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=q3.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8=\r\n--XX--\r\n".to_vec();
    let mut p = put(m, "inbox", "M", raw.clone(), t(1));
    p.is_read = true;
    p.flags = vec!["flagged".into()];
    let id = a.put_item(p).await.unwrap().item_id();
    let d = a.item(id).await.unwrap().unwrap();
    assert_eq!(d.subject, "Report");
    assert_eq!(d.sender, "Ann");
    assert_eq!(d.sender_address, "ann@example.com");
    assert_eq!(d.to, vec!["b@example.com"]);
    assert_eq!(d.cc, vec!["c@example.com"]);
    assert_eq!(d.date, Timestamp::from_unix_seconds(1057049557));
    assert_eq!(d.size, raw.len() as i64);
    assert!(d.has_attachments && d.parsed && d.is_read && !d.deleted_in_source);
    assert_eq!(d.attachments[0].name, "q3.pdf");
    assert_eq!(d.flags, vec!["flagged"]);
    let mut reader = a.open_raw(id).await.unwrap();
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut back).unwrap();
    assert_eq!(back, raw);
    // Bytes that are not a message are kept raw and marked unparsed.
    let junk = put(m, "inbox", "J", vec![0xff, 0xfe, 0x00, 0x01], t(2));
    let jid = a.put_item(junk).await.unwrap().item_id();
    let j = a.item(jid).await.unwrap().unwrap();
    assert!(!j.parsed);
    assert_eq!(j.date, t(2));
    assert_eq!(a.read_raw(jid).await.unwrap(), vec![0xff, 0xfe, 0x00, 0x01]);
}

async fn calendar_and_contacts_are_stored_like_messages(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "cal@example.com").await.id;
    a.upsert_folder(
        m,
        &folder("cal", None, "Calendar", FolderKind::Calendar),
        t(0),
    )
    .await
    .unwrap();
    a.upsert_folder(
        m,
        &folder("con", None, "Contacts", FolderKind::Contacts),
        t(0),
    )
    .await
    .unwrap();
    let ics =
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            .to_vec();
    let mut p = put(m, "cal", "E1", ics.clone(), t(1));
    p.kind = ItemKind::Calendar;
    p.meta = Some(ItemMeta {
        subject: "Standup".into(),
        date: Some(t(100)),
        ..ItemMeta::default()
    });
    let e = a.put_item(p).await.unwrap().item_id();
    let vcf = b"BEGIN:VCARD\r\nFN:Ann\r\nEND:VCARD\r\n".to_vec();
    let mut p = put(m, "con", "C1", vcf.clone(), t(1));
    p.kind = ItemKind::Contact;
    let c = a.put_item(p).await.unwrap().item_id();
    let ed = a.item(e).await.unwrap().unwrap();
    assert_eq!(
        (ed.kind, ed.subject.as_str(), ed.date),
        (ItemKind::Calendar, "Standup", t(100))
    );
    assert_eq!(a.read_raw(e).await.unwrap(), ics);
    assert_eq!(a.item(c).await.unwrap().unwrap().kind, ItemKind::Contact);
    assert_eq!(a.read_raw(c).await.unwrap(), vcf);
    let tree = a.folder_tree(m, None).await.unwrap();
    assert_eq!(
        tree.iter().map(|f| (f.kind, f.total)).collect::<Vec<_>>(),
        vec![(FolderKind::Calendar, 1), (FolderKind::Contacts, 1)]
    );
}

async fn unknown_folder_and_item_are_errors(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "err@example.com").await.id;
    let r = a
        .put_item(put(m, "nope", "X", b"Subject: x\r\n\r\n".to_vec(), t(1)))
        .await;
    assert!(matches!(r, Err(ArchiveError::UnknownFolder(f)) if f == "nope"));
    assert!(matches!(
        a.delete_item(m, "X", t(2)).await,
        Err(ArchiveError::UnknownItem(_))
    ));
    assert_eq!(a.count_items(Some(m)).await.unwrap(), 0);
}

/// A batch is written with a few multi-row statements; the outcome must be what putting the items
/// one by one, in order, would give.
async fn one_batch_mixes_new_repeated_moved_and_readded_items(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "batch@example.com").await.id;
    let other = mailbox(a, "other@example.com").await.id;
    for mb in [m, other] {
        a.upsert_folder(mb, &folder("inbox", None, "Inbox", FolderKind::Inbox), t(0))
            .await
            .unwrap();
    }
    a.upsert_folder(
        m,
        &folder("arch", None, "Archive", FolderKind::Archive),
        t(0),
    )
    .await
    .unwrap();
    let raw = |n: usize| {
        message(
            &format!("Batch {n}"),
            "b@example.com",
            "Mon, 1 Jan 2024 10:00:00 +0000",
            &format!("body {n}"),
        )
    };
    let first = a
        .put_items(vec![
            put(m, "inbox", "OLD-STAYS", raw(1), t(1)),
            put(m, "inbox", "OLD-MOVES", raw(2), t(1)),
            put(m, "inbox", "OLD-DELETED", raw(3), t(1)),
        ])
        .await
        .unwrap();
    a.delete_item(m, "OLD-DELETED", t(2)).await.unwrap();

    let many: Vec<PutItem> = (0..120)
        .map(|n| put(m, "inbox", &format!("MANY-{n}"), raw(100 + n), t(3)))
        .collect();
    let mut batch = vec![
        put(m, "inbox", "NEW", raw(4), t(3)),
        put(m, "inbox", "OLD-STAYS", raw(1), t(3)),
        put(m, "arch", "OLD-MOVES", raw(2), t(3)),
        put(m, "arch", "NEW", raw(4), t(3)),
        put(m, "inbox", "OLD-DELETED", raw(3), t(3)),
        // Same source id in another mailbox, same bytes as an existing item: its own record.
        put(other, "inbox", "NEW", raw(1), t(3)),
        put(m, "inbox", "NEW-TWICE-SAME", raw(5), t(3)),
        put(m, "inbox", "NEW-TWICE-SAME", raw(5), t(3)),
    ];
    batch.extend(many);
    let out = a.put_items(batch).await.unwrap();
    assert_eq!(out.len(), 128);
    assert!(matches!(out[0], PutOutcome::Created(_)));
    assert_eq!(out[1], PutOutcome::Existing(first[0].item_id()));
    assert_eq!(out[2], PutOutcome::Existing(first[1].item_id()));
    assert_eq!(out[3], PutOutcome::Existing(out[0].item_id()));
    assert_eq!(out[4], PutOutcome::Existing(first[2].item_id()));
    assert!(matches!(out[5], PutOutcome::Created(_)));
    assert_ne!(out[5].item_id(), out[0].item_id());
    assert!(matches!(out[6], PutOutcome::Created(_)));
    assert_eq!(out[7], PutOutcome::Existing(out[6].item_id()));
    let mut ids: Vec<ItemId> = out.iter().map(|o| o.item_id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 128 - 2, "every distinct key has one record");
    for (n, o) in out[8..].iter().enumerate() {
        assert!(matches!(o, PutOutcome::Created(_)));
        let item = a.item(o.item_id()).await.unwrap().unwrap();
        assert_eq!(item.source_id, format!("MANY-{n}"));
        assert_eq!(item.subject, format!("Batch {}", 100 + n));
        assert_eq!(a.read_raw(o.item_id()).await.unwrap(), raw(100 + n));
    }
    assert_eq!(a.count_items(Some(m)).await.unwrap(), 3 + 2 + 120);
    assert_eq!(a.count_items(Some(other)).await.unwrap(), 1);
    assert_eq!(
        a.read_raw(out[5].item_id()).await.unwrap(),
        a.read_raw(first[0].item_id()).await.unwrap()
    );

    let state = a.state_at(m, t(4)).await.unwrap();
    assert_eq!(where_is(&state, "OLD-STAYS"), Some(("Inbox".into(), false)));
    assert_eq!(
        where_is(&state, "OLD-MOVES"),
        Some(("Archive".into(), false))
    );
    assert_eq!(where_is(&state, "NEW"), Some(("Archive".into(), false)));
    assert_eq!(
        where_is(&state, "OLD-DELETED"),
        Some(("Inbox".into(), false))
    );
    assert_eq!(
        where_is(&state, "NEW-TWICE-SAME"),
        Some(("Inbox".into(), false))
    );
    // Unchanged or repeated items did not open a second interval; the moved one did.
    let before = a.state_at(m, t(1)).await.unwrap();
    assert_eq!(
        where_is(&before, "OLD-MOVES"),
        Some(("Inbox".into(), false))
    );
    assert_eq!(where_is(&before, "NEW"), None);
    assert_eq!(state.items.len(), 3 + 2 + 120);
}

/// A search index reports how far behind it is by this count: it must agree with what
/// `changes_since` would hand it, at every cursor.
async fn changes_are_counted_from_a_cursor_like_they_are_listed(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "feed@example.com").await.id;
    a.upsert_folder(m, &folder("inbox", None, "Inbox", FolderKind::Inbox), t(0))
        .await
        .unwrap();
    a.upsert_folder(m, &folder("old", None, "Old", FolderKind::Other), t(0))
        .await
        .unwrap();
    assert_eq!(
        a.count_changes_since(ChangeCursor::default())
            .await
            .unwrap(),
        0
    );
    let raw = |n: usize| format!("Subject: feed {n}\r\n\r\nbody {n}\r\n").into_bytes();
    a.put_items(
        (0..5)
            .map(|n| put(m, "inbox", &format!("f{n}"), raw(n), t(1)))
            .collect(),
    )
    .await
    .unwrap();
    a.move_item(m, "f1", "old", None, t(2)).await.unwrap();
    let all = a.changes_since(ChangeCursor::default(), 100).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        a.count_changes_since(ChangeCursor::default())
            .await
            .unwrap(),
        5
    );
    for (n, record) in all.iter().enumerate() {
        let listed = a.changes_since(record.cursor, 100).await.unwrap().len();
        assert_eq!(listed, 4 - n);
        assert_eq!(
            a.count_changes_since(record.cursor).await.unwrap(),
            listed as i64
        );
    }
}

/// The date of an item and where it came from, kept on both backends: the content's own date,
/// else the caller's fallback (an mbox From line here), else the time it was archived.
async fn every_date_says_where_it_came_from(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "dates@example.com").await.id;
    a.upsert_folder(m, &folder("inbox", None, "Inbox", FolderKind::Inbox), t(0))
        .await
        .unwrap();
    let zoneless = b"Date: Fri, 23 Aug 2002 19:27:52\r\nSubject: a\r\n\r\nx\r\n".to_vec();
    let undated = b"Subject: b\r\n\r\nx\r\n".to_vec();
    let mut from_line = put(m, "inbox", "B", undated.clone(), t(1));
    from_line.fallback_date = Some(FallbackDate {
        at: Timestamp::from_unix_seconds(994_121_270),
        source: DateSource::MboxFromLine,
    });
    let ids: Vec<ItemId> = a
        .put_items(vec![
            put(m, "inbox", "A", zoneless, t(1)),
            from_line,
            put(m, "inbox", "C", undated, t(5)),
        ])
        .await
        .unwrap()
        .into_iter()
        .map(PutOutcome::item_id)
        .collect();
    let mut seen = Vec::new();
    for id in ids {
        let d = a.item(id).await.unwrap().unwrap();
        seen.push((d.date.unix_seconds(), d.date_source));
    }
    assert_eq!(
        seen,
        vec![
            (1_030_130_872, Some(DateSource::HeaderWithoutZone)),
            (994_121_270, Some(DateSource::MboxFromLine)),
            (t(5).unix_seconds(), Some(DateSource::Archived)),
        ]
    );
}

/// The counts the database keeps per folder (the tree "now") against a count of the memberships
/// open at the end (the tree as of an instant after the last write), after a run of every kind
/// of write in a mixed order: batches of new and repeated items, moves, read changes, deletes,
/// re-adds and a folder removed with what it held.
async fn kept_folder_counts_match_a_recount_after_every_kind_of_write(ta: &TestArchive) {
    let a = &ta.archive;
    let m = mailbox(a, "counts@example.com").await.id;
    let other = mailbox(a, "neighbour@example.com").await.id;
    let folders = ["inbox", "work", "old", "gone"];
    for (mb, name) in [(m, "counts"), (other, "neighbour")] {
        for f in folders {
            a.upsert_folder(
                mb,
                &folder(f, None, &format!("{name} {f}"), FolderKind::Other),
                t(0),
            )
            .await
            .unwrap();
        }
    }
    // A fixed pseudo-random walk, the same on both backends.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    let mut live: Vec<String> = Vec::new();
    let mut gone: Vec<String> = Vec::new();
    for step in 1..=40_i64 {
        let at = t(step * 60);
        let mut batch = Vec::new();
        for k in 0..5 {
            let source = format!("s{step}-{k}");
            let mut item = put(
                m,
                folders[next(3)],
                &source,
                message(
                    &source,
                    "a@example.com",
                    "Mon, 1 Jan 2024 10:00:00 +0000",
                    "x",
                ),
                at,
            );
            item.is_read = next(2) == 0;
            batch.push(item);
            live.push(source);
        }
        // The same content in the neighbour's mailbox: its counts must stay its own.
        let mut theirs = put(
            other,
            "inbox",
            &format!("n{step}"),
            message(
                "shared",
                "a@example.com",
                "Mon, 1 Jan 2024 10:00:00 +0000",
                "x",
            ),
            at,
        );
        theirs.is_read = step % 2 == 0;
        batch.push(theirs);
        a.put_items(batch).await.unwrap();
        for _ in 0..3 {
            let source = live[next(live.len())].clone();
            match next(4) {
                0 => a
                    .move_item(m, &source, folders[next(3)], None, at)
                    .await
                    .unwrap(),
                1 => a.set_read(m, &source, next(2) == 0, at).await.unwrap(),
                2 => {
                    a.delete_item(m, &source, at).await.unwrap();
                    live.retain(|s| *s != source);
                    gone.push(source);
                }
                _ => {
                    // A deleted item that reappears (moved back) is re-added.
                    if let Some(back) = gone.pop() {
                        a.move_item(m, &back, "work", None, at).await.unwrap();
                        live.push(back);
                    }
                }
            }
        }
        if step == 30 {
            // Items moved into the folder about to go, then the folder removed with them.
            for source in live.iter().take(4) {
                a.move_item(m, source, "gone", None, at).await.unwrap();
            }
            a.close_folder(m, "gone", t(step * 60 + 1)).await.unwrap();
            live.drain(..4.min(live.len()));
        }
    }
    for mb in [m, other] {
        let kept = a.folder_tree(mb, None).await.unwrap();
        let counted = a.folder_tree(mb, Some(t(100_000))).await.unwrap();
        let shape = |tree: &[FolderNode]| {
            tree.iter()
                .map(|n| (n.name.clone(), n.total, n.unread))
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(&kept), shape(&counted), "mailbox {mb}");
        assert!(kept.iter().any(|n| n.total > 0 && n.unread > 0), "{kept:?}");
    }
    let total: i64 = a
        .folder_tree(m, None)
        .await
        .unwrap()
        .iter()
        .map(|n| n.total)
        .sum();
    assert_eq!(total as usize, live.len(), "one count per live item");
}
