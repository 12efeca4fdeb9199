//! Browsing other people's mail: only with `browse_mail`, only inside the grant's scope (outside
//! it a mailbox is "not found"), and every open and search shows in the owner's access log.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use access::{Access, AccessError, MailQuery, Scope, HELP_DESK};
use accounts::Accounts;
use archive::{Archive, Blobs, FolderKind, FolderSpec, ItemKind, NewMailbox, PutItem, Timestamp};

struct World {
    access: Access,
    accounts: Accounts,
    archive: Archive,
    _dir: tempfile::TempDir,
}

async fn world(kit: &testkit::TestDb) -> World {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::new(
        kit.db.clone(),
        Blobs::local(dir.path().join("blobs"), None).unwrap(),
    );
    let accounts = Accounts::new(kit.db.clone());
    let index = search::SearchIndex::open(&dir.path().join("index"), 16 * 1024 * 1024).unwrap();
    let search = Arc::new(search::ShardedSearch::whole(&index));
    let store = syncer::SyncStore::new(kit.db.clone(), [7; 32]);
    let sync = syncer::SyncService::new(
        store.clone(),
        archive.clone(),
        syncer::ServiceOptions::default(),
    );
    let exporter = recovery::Exporter::new(
        archive.clone(),
        jobs::Jobs::new(kit.db.clone()),
        dir.path().join("exports"),
        64 * 1024 * 1024,
    );
    let restorer = recovery::Restorer::new(archive.clone(), jobs::Jobs::new(kit.db.clone()), store);
    let importer = recovery::Importer::new(
        archive.clone(),
        jobs::Jobs::new(kit.db.clone()),
        dir.path().join("imports"),
    );
    let access = Access::new(
        kit.db.clone(),
        accounts.clone(),
        archive.clone(),
        search,
        sync,
        access::JobDesks {
            exporter,
            restorer,
            importer,
        },
    );
    World {
        access,
        accounts,
        archive,
        _dir: dir,
    }
}

/// A mailbox with one message (and one calendar item) in its Inbox; returns the item ids.
async fn mailbox(w: &World, owner: &str) -> (i64, i64, i64) {
    let mb = w
        .archive
        .ensure_mailbox(&NewMailbox {
            name: owner.into(),
            owner_address: owner.into(),
            display_name: owner.into(),
        })
        .await
        .unwrap();
    w.archive
        .upsert_folder(
            mb.id,
            &FolderSpec {
                source_id: "inbox".into(),
                parent_source_id: None,
                name: "Inbox".into(),
                kind: FolderKind::Inbox,
            },
            Timestamp::now(),
        )
        .await
        .unwrap();
    let put = |kind, raw: Vec<u8>, id: &str| PutItem {
        kind,
        ..PutItem::message(mb.id, "inbox", id, raw, Timestamp::now())
    };
    let message = testkit::mime::Mail::new(&format!("Payroll for {owner}")).build();
    let outcomes = w
        .archive
        .put_items(vec![
            put(ItemKind::Message, message, "m1"),
            put(
                ItemKind::Calendar,
                b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_vec(),
                "c1",
            ),
        ])
        .await
        .unwrap();
    let ids: Vec<i64> = outcomes.into_iter().map(|o| o.item_id()).collect();
    (mb.id, ids[0], ids[1])
}

testkit::each_backend!(a_scoped_help_desk_sees_its_domain_and_the_owner_sees_who_looked);
async fn a_scoped_help_desk_sees_its_domain_and_the_owner_sees_who_looked(kit: &testkit::TestDb) {
    let w = world(kit).await;
    let (ann_box, ann_mail, ann_event) = mailbox(&w, "ann@branch.example.com").await;
    let (ceo_box, ceo_mail, _) = mailbox(&w, "ceo@example.com").await;

    let desk = w
        .accounts
        .create_user("desk", "Dana Desk", None)
        .await
        .unwrap();
    let role = w.access.roles().by_name(HELP_DESK).await.unwrap().unwrap();
    w.access
        .roles()
        .assign(
            desk.id,
            role.id,
            &Scope::parse("branch.example.com").unwrap(),
        )
        .await
        .unwrap();
    let session = w
        .accounts
        .create_session(desk.id, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let desk_session = w.access.session(&session.token).await.unwrap();
    let caller = w
        .access
        .caller(desk_session, "192.0.2.10".parse().ok())
        .await
        .unwrap();
    let browse = caller.browse_mail().unwrap();

    let visible: Vec<i64> = browse
        .mailboxes()
        .await
        .unwrap()
        .iter()
        .map(|m| m.id())
        .collect();
    assert_eq!(visible, [ann_box]);
    assert!(matches!(
        browse.mailbox(ceo_box).await,
        Err(AccessError::NotFound)
    ));
    assert!(matches!(
        browse.item(ceo_mail).await,
        Err(AccessError::NotFound)
    ));
    // Help desk has no calendars and contacts: the event is "not found" too.
    assert!(matches!(
        browse.item(ann_event).await,
        Err(AccessError::NotFound)
    ));
    let opened = browse.item(ann_mail).await.unwrap();
    assert!(opened.detail().subject.contains("Payroll"));
    let ann_mailbox = browse.mailbox(ann_box).await.unwrap();
    let query = MailQuery {
        query: "payroll".into(),
        sort: search::SearchSort::Relevance,
        offset: 0,
        limit: 10,
    };
    browse.search(&ann_mailbox, &query).await.unwrap();
    // Browsing is not for everyone: no grant, no handle.
    let ann = w.accounts.create_user("ann", "Ann", None).await.unwrap();
    w.accounts
        .add_address(ann.id, "ann@branch.example.com")
        .await
        .unwrap();
    let ann_session = w
        .accounts
        .create_session(ann.id, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let ann_caller = w
        .access
        .caller(w.access.session(&ann_session.token).await.unwrap(), None)
        .await
        .unwrap();
    assert!(matches!(
        ann_caller.browse_mail(),
        Err(AccessError::Forbidden)
    ));

    // Ann's access log: who opened and searched her mail, by name and role.
    let log = ann_caller.own_mail().access_log(10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["mail_searched", "item_opened"]);
    assert!(log
        .iter()
        .all(|e| e.actor == "desk" && e.actor_role == HELP_DESK));
    assert!(log[0].detail.contains("payroll"), "{:?}", log[0]);
    assert_eq!(log[1].client_address, "192.0.2.10");
}
