//! The sync engine into a real archive (temporary SQLite), every scenario for EWS and Graph.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::AtomicU64;

use archive::{ItemKind, MailboxId, Timestamp};
use common::*;
use mailsync::source::{ContentFormat, FolderKind, WellKnown};
use mailsync::{sync_mailbox, ItemContent, MailboxStatus, SyncTarget};
use syncer::ArchiveTarget;

/// Folder by folder, the archive holds what the simulator holds now.
async fn assert_mirrors(
    env: &Env,
    sim: &exchange_sim::RunningSim,
    mailbox: MailboxId,
    address: &str,
    paths: &[&str],
) {
    let h = sim.handle();
    let (messages, events, contacts) = h.item_counts(address).unwrap();
    assert_eq!(
        env.live_count(mailbox, ItemKind::Message).await,
        messages,
        "messages"
    );
    assert_eq!(
        env.live_count(mailbox, ItemKind::Calendar).await,
        events,
        "calendar items"
    );
    assert_eq!(
        env.live_count(mailbox, ItemKind::Contact).await,
        contacts,
        "contacts"
    );
    for path in paths {
        assert_eq!(
            env.items_in_path(mailbox, path).await,
            Some(h.list_items(address, path).unwrap().len() as i64),
            "items in {path}"
        );
    }
}

async fn first_sync(proto: Proto) {
    let sim = sim().await;
    let env = Env::sqlite().await;
    let source = source(proto, &sim);
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!((r.counts.calendar_items, r.counts.contacts), (3, 3));
    // The owner's name as Exchange has it (ResolveNames / the Graph user), not the address.
    let archived = env.archive.mailbox(mb).await.unwrap().unwrap();
    assert_eq!(archived.display_name, "Alice Martin");
    assert_mirrors(
        &env,
        &sim,
        mb,
        ALICE,
        &[
            "Inbox",
            "Inbox/Projects",
            "Inbox/Projects/Harbour",
            "Sent Items",
            "Newsletters",
        ],
    )
    .await;

    // The tree: well-known kinds, nesting, unread counts as in the source.
    let tree = env.archive.folder_tree(mb, None).await.unwrap();
    let inbox = tree.iter().find(|f| f.path == ["Inbox"]).unwrap();
    assert_eq!(inbox.kind, archive::FolderKind::Inbox);
    let sim_inbox = sim.handle().list_items(ALICE, "Inbox").unwrap();
    assert_eq!(inbox.total as usize, sim_inbox.len());
    assert!(inbox.unread > 0 && inbox.unread < inbox.total, "{inbox:?}");
    let harbour = tree.iter().find(|f| f.name == "Harbour").unwrap();
    assert_eq!(harbour.path, ["Inbox", "Projects", "Harbour"]);
    assert!(tree.iter().any(|f| f.kind == archive::FolderKind::Calendar));
    assert!(tree.iter().any(|f| f.kind == archive::FolderKind::Sent));

    // Raw MIME byte for byte.
    let seed = std::fs::read(
        exchange_sim::default_seed_dir()
            .join(ALICE)
            .join("Inbox/01-quarterly-figures-for-review.read.eml"),
    )
    .unwrap();
    let state = env.archive.state_at(mb, Timestamp::now()).await.unwrap();
    let mut found = false;
    for i in &state.items {
        if env.archive.read_raw(i.item_id).await.unwrap() == seed {
            found = true;
            assert!(i.is_read);
        }
    }
    assert!(found, "the seed message is archived byte-exact");

    // Calendar items carry a title and a date from their content.
    for i in &state.items {
        let d = env.archive.item(i.item_id).await.unwrap().unwrap();
        if d.kind == ItemKind::Calendar {
            assert!(!d.subject.is_empty(), "{d:?}");
            assert!(d.date.0 < d.archived_at.0 + 3_600_000_000 * 24 * 365 * 5);
        }
        if d.kind == ItemKind::Contact {
            assert!(!d.subject.is_empty(), "{d:?}");
        }
    }

    // Nothing changed: nothing written, nothing downloaded.
    let items_before = env.archive.count_items(Some(mb)).await.unwrap();
    let again = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(again.status, MailboxStatus::Healthy);
    assert_eq!(
        (
            again.counts.new_items,
            again.counts.moved_items,
            again.counts.deleted_items
        ),
        (0, 0, 0)
    );
    assert_eq!(
        env.archive.count_items(Some(mb)).await.unwrap(),
        items_before
    );

    // A fresh target over the same store resumes from the states in SQL.
    let fresh = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let third = sync_mailbox(source.as_ref(), &fresh, ALICE, &options()).await;
    assert_eq!(
        (
            third.counts.new_items,
            third.counts.full_resyncs,
            third.counts.folders_added
        ),
        (0, 0, 0),
        "{third:?}"
    );
    assert!(fresh
        .load_sync_state(&format!("{}/folders", source.protocol()))
        .await
        .unwrap()
        .is_some());
    env.finish().await;
}
both!(first_sync);

/// New mail of one page is one archive transaction: one change number, however many messages,
/// and the sync state is saved after it.
async fn a_page_of_new_mail_is_one_write(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let env = Env::sqlite().await;
    let source = source(proto, &sim);
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    let first = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(first.status, MailboxStatus::Healthy, "{first:?}");
    for n in 0..7 {
        h.add_message(ALICE, "Inbox", &mime(&format!("Batch {n}")), n % 2 == 0)
            .unwrap();
    }
    let before = env.archive.change_seq().await.unwrap();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(r.counts.new_items, 7, "{r:?}");
    assert_eq!(
        env.archive.change_seq().await.unwrap() - before,
        1,
        "seven new messages, one transaction"
    );
    assert_mirrors(&env, &sim, mb, ALICE, &["Inbox"]).await;
    env.finish().await;
}
both!(a_page_of_new_mail_is_one_write);

async fn incremental(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let env = Env::sqlite().await;
    let source = source(proto, &sim);
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    assert_eq!(
        sync_mailbox(source.as_ref(), &target, ALICE, &options())
            .await
            .status,
        MailboxStatus::Healthy
    );
    let records_before = env.archive.count_items(Some(mb)).await.unwrap();
    let t_before = Timestamp::now();

    let inbox = h.list_items(ALICE, "Inbox").unwrap();
    let sent = h.list_items(ALICE, "Sent Items").unwrap();
    let moved_id_before = match proto {
        Proto::Ews => h.item_ids(ALICE, inbox[0]).unwrap().ews,
        Proto::Graph => h.item_ids(ALICE, inbox[0]).unwrap().graph_immutable,
    };
    let deleted_id = match proto {
        Proto::Ews => h.item_ids(ALICE, sent[0]).unwrap().ews,
        Proto::Graph => h.item_ids(ALICE, sent[0]).unwrap().graph_immutable,
    };
    h.add_message(ALICE, "Inbox", &mime("Brand new"), false)
        .unwrap();
    h.move_item(ALICE, inbox[0], "Inbox/Projects").unwrap();
    h.delete_item(ALICE, sent[0]).unwrap();
    h.set_read(ALICE, inbox[1], true).unwrap();
    h.add_folder(ALICE, "msgfolderroot", "Receipts").unwrap();
    h.add_message(ALICE, "Receipts", &mime("Receipt 42"), true)
        .unwrap();
    h.remove_folder(ALICE, "Newsletters").unwrap();

    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(r.counts.read_changes, 1, "{r:?}");
    assert_eq!((r.counts.folders_added, r.counts.folders_removed), (1, 1));
    assert_mirrors(
        &env,
        &sim,
        mb,
        ALICE,
        &["Inbox", "Inbox/Projects", "Sent Items", "Receipts"],
    )
    .await;

    // The moved message is one record that changed folders (EWS: paired delete + create).
    let moved_now = match proto {
        Proto::Ews => h.item_ids(ALICE, inbox[0]).unwrap().ews,
        Proto::Graph => h.item_ids(ALICE, inbox[0]).unwrap().graph_immutable,
    };
    let moved = env
        .archive
        .item_by_source_id(mb, &moved_now)
        .await
        .unwrap()
        .unwrap();
    assert!(!moved.deleted_in_source);
    let projects = env
        .archive
        .folder_tree(mb, None)
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.path == ["Inbox", "Projects"])
        .unwrap();
    assert_eq!(moved.folder_id, Some(projects.id));
    if proto == Proto::Graph {
        assert_eq!(moved_now, moved_id_before);
    }
    // Two new messages; the move made no new record.
    assert_eq!(
        env.archive.count_items(Some(mb)).await.unwrap(),
        records_before + 2
    );
    // Before the sync the moved item was in the Inbox: the interval model remembers.
    let past = env.archive.state_at(mb, t_before).await.unwrap();
    let was = past.items.iter().find(|i| i.item_id == moved.id).unwrap();
    let inbox_folder = past.folders.iter().find(|f| f.path == ["Inbox"]).unwrap();
    assert_eq!(was.folder_id, inbox_folder.id);

    // Deleted in the source: interval closed, content still there.
    let gone = env
        .archive
        .item_by_source_id(mb, &deleted_id)
        .await
        .unwrap()
        .unwrap();
    assert!(gone.deleted_in_source);
    assert!(!env.archive.read_raw(gone.id).await.unwrap().is_empty());
    let loc = target.item_location(&deleted_id).await.unwrap();
    assert_eq!(
        loc.map(|l| l.folder_id),
        Some(None),
        "a deleted item is found, with no folder"
    );

    // The read flag change and the removed folder.
    let now_read = env
        .archive
        .item_by_source_id(
            mb,
            &match proto {
                Proto::Ews => h.item_ids(ALICE, inbox[1]).unwrap().ews,
                Proto::Graph => h.item_ids(ALICE, inbox[1]).unwrap().graph_immutable,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(now_read.is_read);
    assert!(env.items_in_path(mb, "Newsletters").await.is_none());
    assert!(past.folders.iter().any(|f| f.path == ["Newsletters"]));
    env.finish().await;
}
both!(incremental);

async fn calendar_and_contacts(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let env = Env::sqlite().await;
    let source = source(proto, &sim);
    let target = ArchiveTarget::open(
        env.archive.clone(),
        env.db().clone(),
        BRUNO,
        Some("Bruno Keller"),
    )
    .await
    .unwrap();
    let mb = target.mailbox().id;
    assert_eq!(target.mailbox().display_name, "Bruno Keller");
    sync_mailbox(source.as_ref(), &target, BRUNO, &options()).await;
    let ics = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:new-event@example.com\r\n\
DTSTART:20251120T100000Z\r\nDTEND:20251120T110000Z\r\nSUMMARY:Budget workshop\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    h.add_calendar_item(BRUNO, ics).unwrap();
    h.add_contact(BRUNO, b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hana Sato\r\nN:Sato;Hana;;;\r\nEMAIL:hana.sato@example.org\r\nEND:VCARD\r\n").unwrap();
    let old_event = h.list_items(BRUNO, "calendar").unwrap()[0];
    h.delete_item(BRUNO, old_event).unwrap();

    let r = sync_mailbox(source.as_ref(), &target, BRUNO, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(
        (
            r.counts.calendar_items,
            r.counts.contacts,
            r.counts.deleted_items
        ),
        (1, 1, 1)
    );
    assert_mirrors(&env, &sim, mb, BRUNO, &[]).await;

    let state = env.archive.state_at(mb, Timestamp::now()).await.unwrap();
    let mut event = None;
    let mut contact = None;
    for i in &state.items {
        let d = env.archive.item(i.item_id).await.unwrap().unwrap();
        if d.kind == ItemKind::Calendar && d.subject == "Budget workshop" {
            event = Some(d);
        } else if d.kind == ItemKind::Contact && d.subject == "Hana Sato" {
            contact = Some(d);
        }
    }
    let event = event.expect("the new event, titled from its content");
    assert_eq!(
        event.date,
        Timestamp::from_unix_seconds(1_763_632_800),
        "DTSTART 2025-11-20 10:00Z"
    );
    let raw = env.archive.read_raw(event.id).await.unwrap();
    let needle: &[u8] = match proto {
        Proto::Ews => b"SUMMARY:Budget workshop",
        Proto::Graph => b"\"subject\":\"Budget workshop\"",
    };
    assert!(raw.windows(needle.len()).any(|w| w == needle));
    let contact = contact.expect("the new contact, named from its content");
    assert_eq!(contact.sender_address, "hana.sato@example.org");
    env.finish().await;
}
both!(calendar_and_contacts);

async fn invalid_sync_state_full_resync(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let env = Env::sqlite().await;
    let source = paged_source(proto, &sim, 4);
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    let records = env.archive.count_items(Some(mb)).await.unwrap();

    h.invalidate_sync_states(Some(ALICE));
    h.add_message(ALICE, "Inbox/Projects", &mime("After the reset"), false)
        .unwrap();
    let gone = h.list_items(ALICE, "Inbox").unwrap()[2];
    h.delete_item(ALICE, gone).unwrap();

    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), ALICE, None)
        .await
        .unwrap();
    let r = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert!(r.counts.full_resyncs >= 2, "{r:?}");
    assert_eq!(
        (r.counts.new_items, r.counts.deleted_items),
        (1, 1),
        "{r:?}"
    );
    // No duplicate records: exactly the one new message was added.
    assert_eq!(
        env.archive.count_items(Some(mb)).await.unwrap(),
        records + 1
    );
    assert_mirrors(&env, &sim, mb, ALICE, &["Inbox", "Inbox/Projects"]).await;
    let quiet = sync_mailbox(source.as_ref(), &target, ALICE, &options()).await;
    assert_eq!((quiet.counts.full_resyncs, quiet.counts.new_items), (0, 0));
    env.finish().await;
}
both!(invalid_sync_state_full_resync);

async fn crash_then_resume(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    let big = "bulk.user@example.com";
    h.add_synthetic_mailbox(big, 120).unwrap();
    let env = Env::sqlite().await;
    let source = paged_source(proto, &sim, 10);
    let crashing = Crashing {
        inner: ArchiveTarget::open(env.archive.clone(), env.db().clone(), big, None)
            .await
            .unwrap(),
        saves_left: AtomicU64::new(4),
    };
    let mb = crashing.inner.mailbox().id;
    let first = sync_mailbox(source.as_ref(), &crashing, big, &options()).await;
    assert_eq!(first.status, MailboxStatus::Failed, "{first:?}");
    let written = env.archive.count_items(Some(mb)).await.unwrap();
    assert!(written > 0 && written < 120, "{written}");

    // A new process: a fresh target over the same database.
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), big, None)
        .await
        .unwrap();
    let second = sync_mailbox(source.as_ref(), &target, big, &options()).await;
    assert_eq!(second.status, MailboxStatus::Healthy, "{second:?}");
    assert_eq!(
        env.archive.count_items(Some(mb)).await.unwrap(),
        120,
        "nothing lost, nothing twice"
    );
    assert_eq!(env.live_count(mb, ItemKind::Message).await, 120);
    assert_mirrors(
        &env,
        &sim,
        mb,
        big,
        &["Inbox", "Sent Items", "Archive/2025"],
    )
    .await;
    env.finish().await;
}
both!(crash_then_resume);

const HANS: &str = "hans.mueller@example.com";

/// (path joined with "/", kind) of every live folder, sorted.
async fn folder_kinds(env: &Env, mb: MailboxId) -> Vec<(String, archive::FolderKind)> {
    let mut v: Vec<(String, archive::FolderKind)> = env
        .archive
        .folder_tree(mb, None)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.path.join("/"), f.kind))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

async fn localised_mailbox_keeps_folder_kinds(proto: Proto) {
    use archive::FolderKind as K;
    let sim = sim().await;
    let h = sim.handle();
    h.add_mailbox_localised(
        HANS,
        "Hans Müller",
        &[
            ("inbox", "Posteingang"),
            ("sentitems", "Gesendete Elemente"),
            ("drafts", "Entwürfe"),
            ("deleteditems", "Gelöschte Elemente"),
            ("junkemail", "Junk-E-Mail"),
            ("outbox", "Postausgang"),
            ("archive", "Archiv"),
            ("calendar", "Kalender"),
            ("contacts", "Kontakte"),
        ],
    )
    .unwrap();
    // A user's own folders named like English standard folders are just folders.
    h.add_folder(HANS, "msgfolderroot", "Inbox").unwrap();
    h.add_folder(HANS, "inbox", "Sent Items").unwrap();
    h.add_message(HANS, "inbox", &mime("Guten Tag"), false)
        .unwrap();
    let env = Env::sqlite().await;
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), HANS, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    let r = sync_mailbox(source(proto, &sim).as_ref(), &target, HANS, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");

    // EWS has no distinguished id for the One-Click Archive folder; Graph has "archive".
    let archiv = match proto {
        Proto::Ews => K::Other,
        Proto::Graph => K::Archive,
    };
    // Graph shows the default calendar and contacts under fixed names.
    let (calendar, contacts) = match proto {
        Proto::Ews => ("Kalender", "Kontakte"),
        Proto::Graph => ("Calendar", "Contacts"),
    };
    let mut want = vec![
        ("Archiv".to_string(), archiv),
        (calendar.to_string(), K::Calendar),
        ("Entwürfe".to_string(), K::Drafts),
        ("Gelöschte Elemente".to_string(), K::Deleted),
        ("Gesendete Elemente".to_string(), K::Sent),
        ("Inbox".to_string(), K::Other),
        ("Junk-E-Mail".to_string(), K::Junk),
        (contacts.to_string(), K::Contacts),
        ("Postausgang".to_string(), K::Outbox),
        ("Posteingang".to_string(), K::Inbox),
        ("Posteingang/Sent Items".to_string(), K::Other),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(folder_kinds(&env, mb).await, want);
    assert_eq!(env.items_in_path(mb, "Posteingang").await, Some(1));

    // A renamed standard folder keeps its role.
    h.rename_folder(HANS, "inbox", "Eingang").unwrap();
    let r = sync_mailbox(source(proto, &sim).as_ref(), &target, HANS, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    let kinds = folder_kinds(&env, mb).await;
    assert!(
        kinds.contains(&("Eingang".to_string(), K::Inbox)),
        "{kinds:?}"
    );
    env.finish().await;
}
both!(localised_mailbox_keeps_folder_kinds);

async fn folder_names_keep_their_spaces(proto: Proto) {
    let sim = sim().await;
    let h = sim.handle();
    h.add_mailbox(HANS, "Hans Müller");
    h.add_folder(HANS, "msgfolderroot", "  Spaced  ").unwrap();
    let inner = h.add_folder(HANS, "  Spaced  ", " lead").unwrap();
    h.add_message(HANS, &inner, &mime("Spaced out"), true)
        .unwrap();
    let env = Env::sqlite().await;
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), HANS, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    let r = sync_mailbox(source(proto, &sim).as_ref(), &target, HANS, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    let tree = env.archive.folder_tree(mb, None).await.unwrap();
    let spaced = tree.iter().find(|f| f.name.contains("Spaced")).unwrap();
    assert_eq!(spaced.name, "  Spaced  ");
    let lead = tree.iter().find(|f| f.name.contains("lead")).unwrap();
    assert_eq!(lead.path, ["  Spaced  ", " lead"]);
    assert_eq!(env.items_in_path(mb, "  Spaced  / lead").await, Some(1));

    // Nothing changed, so nothing is renamed on the next run.
    let again = sync_mailbox(source(proto, &sim).as_ref(), &target, HANS, &options()).await;
    assert_eq!(again.counts.folders_added, 0, "{again:?}");
    let tree = env.archive.folder_tree(mb, None).await.unwrap();
    assert!(tree.iter().any(|f| f.name == "  Spaced  "), "{tree:?}");
    env.finish().await;
}
both!(folder_names_keep_their_spaces);

async fn hidden_and_system_folders_are_not_archived(proto: Proto) {
    use exchange_sim::FolderKind as S;
    let sim = sim().await;
    let h = sim.handle();
    h.add_mailbox(HANS, "Hans Müller");
    h.add_system_folder(
        HANS,
        "contacts",
        "Recipient Cache",
        S::Contacts,
        "IPF.Contact",
        true,
    )
    .unwrap();
    h.add_system_folder(
        HANS,
        "contacts",
        "{06967759-274D-40B2-A3EB-D7F9E73727D7}",
        S::Contacts,
        "IPF.Contact.MOC.QuickContacts",
        false,
    )
    .unwrap();
    h.add_system_folder(
        HANS,
        "contacts",
        "{A9E2BC46-B3A0-4243-B315-60D991004455}",
        S::Contacts,
        "IPF.Contact.MOC.ImContactList",
        false,
    )
    .unwrap();
    h.add_system_folder(
        HANS,
        "calendar",
        "Birthdays",
        S::Calendar,
        "IPF.Appointment.Birthday",
        false,
    )
    .unwrap();
    h.add_system_folder(
        HANS,
        "msgfolderroot",
        "Conversation Action Settings",
        S::Mail,
        "IPF.Configuration",
        false,
    )
    .unwrap();
    // A hidden mail folder with ordinary subfolders, as Exchange Online creates it.
    h.add_system_folder(
        HANS,
        "msgfolderroot",
        "Yammer Root",
        S::Mail,
        "IPF.Note",
        true,
    )
    .unwrap();
    let feeds = h.add_folder(HANS, "Yammer Root", "Feeds").unwrap();
    h.add_folder(HANS, "Yammer Root", "Inbound").unwrap();
    h.add_message(HANS, &feeds, &mime("Yammer digest"), false)
        .unwrap();
    let projects = h.add_folder(HANS, "msgfolderroot", "Projects").unwrap();
    h.add_message(HANS, &projects, &mime("Plan"), false)
        .unwrap();

    let env = Env::sqlite().await;
    let target = ArchiveTarget::open(env.archive.clone(), env.db().clone(), HANS, None)
        .await
        .unwrap();
    let mb = target.mailbox().id;
    let r = sync_mailbox(source(proto, &sim).as_ref(), &target, HANS, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    let paths = |v: Vec<(String, archive::FolderKind)>| -> Vec<String> {
        v.into_iter().map(|(p, _)| p).collect()
    };
    let normal = [
        "Calendar",
        "Contacts",
        "Deleted Items",
        "Drafts",
        "Inbox",
        "Projects",
        "Sent Items",
    ];
    assert_eq!(paths(folder_kinds(&env, mb).await), normal);
    assert_eq!(r.counts.folders_added, 7, "{r:?}");
    assert_eq!(env.live_count(mb, ItemKind::Message).await, 1);
    assert_eq!(env.items_in_path(mb, "Projects").await, Some(1));

    // Later, in a new run with a fresh target: a subfolder appears below the hidden folder, and
    // an ordinary folder next to it. Only the latter is archived.
    h.add_folder(HANS, "Yammer Root", "Outbound").unwrap();
    h.add_folder(HANS, "Yammer Root/Feeds", "Archive").unwrap();
    h.add_folder(HANS, "msgfolderroot", "Later").unwrap();
    let fresh = ArchiveTarget::open(env.archive.clone(), env.db().clone(), HANS, None)
        .await
        .unwrap();
    let r = sync_mailbox(source(proto, &sim).as_ref(), &fresh, HANS, &options()).await;
    assert_eq!(r.status, MailboxStatus::Healthy, "{r:?}");
    assert_eq!(
        (r.counts.folders_added, r.counts.folders_removed),
        (1, 0),
        "{r:?}"
    );
    let mut want: Vec<&str> = normal.to_vec();
    want.push("Later");
    want.sort_unstable();
    assert_eq!(paths(folder_kinds(&env, mb).await), want);
    env.finish().await;
}
both!(hidden_and_system_folders_are_not_archived);

#[tokio::test]
async fn changed_calendar_item_keeps_its_old_version() {
    let env = Env::sqlite().await;
    let target = ArchiveTarget::open(
        env.archive.clone(),
        env.db().clone(),
        "carol@example.com",
        None,
    )
    .await
    .unwrap();
    let mb = target.mailbox().id;
    target
        .upsert_folder(
            "cal",
            None,
            "Calendar",
            FolderKind::Calendar,
            Some(WellKnown::Calendar),
        )
        .await
        .unwrap();
    let v1 = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Plan\r\nDTSTART:20250101T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let v2 = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Plan (moved)\r\nDTSTART:20250102T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    target
        .put_calendar_item(
            "cal",
            "ev1",
            ContentFormat::Ics,
            &ItemContent::raw(v1.to_vec()),
        )
        .await
        .unwrap();
    let t1 = Timestamp::now();
    // The same content again is a no-op.
    target
        .put_calendar_item(
            "cal",
            "ev1",
            ContentFormat::Ics,
            &ItemContent::raw(v1.to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(env.archive.count_items(Some(mb)).await.unwrap(), 1);
    target
        .put_calendar_item(
            "cal",
            "ev1",
            ContentFormat::Ics,
            &ItemContent::raw(v2.to_vec()),
        )
        .await
        .unwrap();
    let now = env
        .archive
        .item_by_source_id(mb, "ev1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.subject, "Plan (moved)");
    assert_eq!(env.archive.read_raw(now.id).await.unwrap(), v2);
    let then = env.archive.state_at(mb, t1).await.unwrap();
    assert_eq!(then.items.len(), 1);
    assert_eq!(
        env.archive.read_raw(then.items[0].item_id).await.unwrap(),
        v1
    );
    assert_eq!(
        env.archive
            .state_at(mb, Timestamp::now())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // EWS MIME leaves out the attendees: an answer changes only the properties, and is a new
    // version all the same; the record is kept next to the content and read back whole.
    let mut event = pim::Event {
        subject: "Plan (moved)".into(),
        start: "2025-01-02T09:00:00".parse().unwrap(),
        end: "2025-01-02T10:00:00".parse().unwrap(),
        time_zone: "UTC".into(),
        attendees: vec![pim::Attendee {
            person: pim::Person {
                name: "Daniel Okafor".into(),
                address: "daniel.okafor@example.com".into(),
            },
            kind: pim::AttendeeKind::Required,
            response: pim::Response::NotResponded,
        }],
        ..pim::Event::default()
    };
    let with = |e: &pim::Event| ItemContent {
        data: v2.to_vec(),
        record: Some(Box::new(pim::Record::Event(e.clone()))),
    };
    target
        .put_calendar_item("cal", "ev1", ContentFormat::Ics, &with(&event))
        .await
        .unwrap();
    let t2 = Timestamp::now();
    event.attendees[0].response = pim::Response::Accepted;
    target
        .put_calendar_item("cal", "ev1", ContentFormat::Ics, &with(&event))
        .await
        .unwrap();
    target
        .put_calendar_item("cal", "ev1", ContentFormat::Ics, &with(&event))
        .await
        .unwrap();
    let now = env
        .archive
        .item_by_source_id(mb, "ev1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        now.to,
        ["daniel.okafor@example.com"],
        "listed from the record"
    );
    let stored = env.archive.read_properties(now.id).await.unwrap().unwrap();
    assert_eq!(
        pim::Record::from_json(&stored).unwrap(),
        pim::Record::Event(event.clone())
    );
    let then = env.archive.state_at(mb, t2).await.unwrap();
    let old = env
        .archive
        .read_properties(then.items[0].item_id)
        .await
        .unwrap()
        .unwrap();
    let pim::Record::Event(old) = pim::Record::from_json(&old).unwrap() else {
        panic!("an event was stored");
    };
    assert_eq!(old.attendees[0].response, pim::Response::NotResponded);
    assert_eq!(
        env.archive.count_items(Some(mb)).await.unwrap(),
        4,
        "v1, v2, two records"
    );
    env.finish().await;
}

#[tokio::test]
async fn sync_states_and_writes_are_idempotent() {
    let env = Env::sqlite().await;
    let t = ArchiveTarget::open(
        env.archive.clone(),
        env.db().clone(),
        "Dave@Example.com",
        None,
    )
    .await
    .unwrap();
    assert_eq!(t.mailbox().name, "dave@example.com");
    assert_eq!(t.load_sync_state("ews/folders").await.unwrap(), None);
    t.save_sync_state("ews/folders", "A").await.unwrap();
    t.save_sync_state("ews/folders", "B").await.unwrap();
    assert_eq!(
        t.load_sync_state("ews/folders").await.unwrap().as_deref(),
        Some("B")
    );
    t.delete_sync_state("ews/folders").await.unwrap();
    assert_eq!(t.load_sync_state("ews/folders").await.unwrap(), None);

    assert!(t
        .upsert_folder(
            "f1",
            None,
            "Inbox",
            FolderKind::Mail,
            Some(WellKnown::Inbox)
        )
        .await
        .unwrap());
    assert!(!t
        .upsert_folder(
            "f1",
            None,
            "Inbox",
            FolderKind::Mail,
            Some(WellKnown::Inbox)
        )
        .await
        .unwrap());
    let raw = mime("Twice");
    t.put_message("f1", "m1", &raw, false, None).await.unwrap();
    t.put_message("f1", "m1", &raw, false, None).await.unwrap();
    assert_eq!(
        env.archive.count_items(Some(t.mailbox().id)).await.unwrap(),
        1
    );
    assert_eq!(
        t.folder_item_ids("f1").await.unwrap(),
        vec!["m1".to_string()]
    );
    // Unknown ids are not an error: the engine may replay a page after a crash.
    t.delete_item("nope").await.unwrap();
    t.set_read("nope", true).await.unwrap();
    t.close_folder("nope").await.unwrap();
    t.close_folder("f1").await.unwrap();
    assert!(t.live_folders().await.unwrap().is_empty());
    assert_eq!(
        t.item_location("m1").await.unwrap().map(|l| l.folder_id),
        Some(None)
    );
    assert!(
        t.upsert_folder(
            "f1",
            None,
            "Inbox",
            FolderKind::Mail,
            Some(WellKnown::Inbox)
        )
        .await
        .unwrap(),
        "reopened"
    );
    env.finish().await;
}
