//! The index split into shards, written by one node each and searched by others, on SQLite and
//! PostgreSQL:
//! - a shard's lease has one holder; a new holder gets a higher fencing token, and the old one
//!   can neither renew nor publish once it has passed on;
//! - four shards answer every question as one index does (same hits, same order by date);
//! - a follower fetches published shards, sees the writer's newer commits, and fetches a lost
//!   copy again;
//! - a writer that dies is replaced once its lease lapses: the new writer starts from the
//!   published copy (its own copy lost), catches up and publishes, and the followers agree;
//! - chunks that no publish names any more are deleted from the store once their grace ends,
//!   and so are those a writer uploaded and died before publishing.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use archive::*;
use search::{
    Follower, IndexFiles, Indexer, IndexerOptions, SearchIndex, SearchRequest, SearchSort,
    ShardLeases, ShardedSearch,
};
use testkit::{each_backend, TestDb};

const LEASE: Duration = Duration::from_secs(1);

fn archive_of(kit: &TestDb) -> Archive {
    Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), Some(BlobKey::from_bytes([5; 32]))).unwrap(),
    )
}

/// The index's object store: a folder of its own, sealed like the archive's blobs.
fn index_files(kit: &TestDb) -> IndexFiles {
    IndexFiles::new(
        Blobs::local(
            kit.dir().join("index-store"),
            Some(BlobKey::from_bytes([5; 32])),
        )
        .unwrap(),
    )
}

async fn mailboxes_with_mail(
    archive: &Archive,
    count: usize,
    per: usize,
    from: usize,
) -> Vec<MailboxId> {
    let mut ids = Vec::new();
    for m in 0..count {
        let mailbox = archive
            .ensure_mailbox(&NewMailbox {
                name: format!("box{from}-{m}@example.com"),
                owner_address: format!("box{from}-{m}@example.com"),
                display_name: format!("Box {m}"),
            })
            .await
            .unwrap();
        let spec = FolderSpec {
            source_id: "inbox".into(),
            parent_source_id: None,
            name: "Inbox".into(),
            kind: FolderKind::Inbox,
        };
        archive
            .upsert_folder(mailbox.id, &spec, Timestamp::now())
            .await
            .unwrap();
        let items = (from..from + per)
            .map(|i| {
                let topic = if i % 3 == 0 { "budget" } else { "holiday" };
                // Every message its own second, so that the order by date has no ties.
                let second = i * 20 + m;
                let raw = format!(
                    "From: sender{i}@example.com\r\nTo: box{m}@example.com\r\nSubject: {topic} plan {i}\r\n\
                     Date: Mon, 1 Jan 2024 {h:02}:{min:02}:{s:02} +0000\r\n\r\nThe {topic} for week {i} in box {m}.\r\n",
                    h = second / 3600,
                    min = second / 60 % 60,
                    s = second % 60,
                );
                PutItem {
                    mailbox_id: mailbox.id,
                    folder_source_id: "inbox".into(),
                    source_id: format!("m{m}-{i}"),
                    kind: ItemKind::Message,
                    raw: raw.into_bytes(),
                    is_read: false,
                    flags: vec![],
                    meta: None,
                    properties: None,
                    fallback_date: None,
                    at: Timestamp::now(),
                }
            })
            .collect();
        archive.put_items(items).await.unwrap();
        ids.push(mailbox.id);
    }
    ids
}

fn request(mailboxes: &[MailboxId], query: &str) -> SearchRequest {
    SearchRequest {
        mailbox_ids: mailboxes.to_vec(),
        query: query.to_owned(),
        sort: SearchSort::NewestFirst,
        limit: 1000,
        ..Default::default()
    }
}

async fn hits(search: &ShardedSearch, archive: &Archive, r: &SearchRequest) -> (usize, Vec<i64>) {
    let found = search.search(archive, r).await.unwrap();
    (found.total, found.hits.iter().map(|h| h.item_id).collect())
}

fn options(kit: &TestDb, node: &str, publish: Option<IndexFiles>) -> IndexerOptions {
    IndexerOptions {
        node: node.to_owned(),
        dir: kit.dir().join(node).join("index"),
        shards: 4,
        writer_memory_bytes: 64 * 1024 * 1024,
        lease: LEASE,
        interval: Duration::from_millis(100),
        publish,
        // Chunks no publish names are deleted at the next publish: what is left is checked.
        retired_grace: Duration::ZERO,
    }
}

async fn settle(indexer: &mut Indexer) {
    while indexer.step().await.unwrap().1 {}
}

async fn lease_has_one_holder_and_fences_the_old_one(kit: &TestDb) {
    let leases = ShardLeases::new(kit.db.clone());
    let shard = Shard { number: 1, of: 4 };
    let (a, published) = leases
        .acquire(shard, "node-a", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(published.generation, 0);
    assert!(published.manifest.is_none());
    assert!(
        leases
            .acquire(shard, "node-b", LEASE)
            .await
            .unwrap()
            .is_none(),
        "a live lease has one holder"
    );
    assert!(leases.renew(&a, LEASE).await.unwrap());
    let manifest = search::Manifest {
        meta: r#"{"segments":[],"payload":"3:7"}"#.into(),
        files: Default::default(),
    };
    assert_eq!(leases.publish(&a, &manifest, LEASE).await.unwrap(), Some(1));

    // A pauses past its lease; B takes the shard with a higher token.
    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    let (b, published) = leases
        .acquire(shard, "node-b", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert!(b.token > a.token);
    assert_eq!(published.generation, 1);
    assert_eq!(published.manifest.as_ref(), Some(&manifest));
    assert_eq!(
        published.manifest.unwrap().cursor().unwrap(),
        ChangeCursor { seq: 3, item_id: 7 }
    );
    // A wakes up: its renewal and its publish change nothing.
    assert!(!leases.renew(&a, LEASE).await.unwrap());
    let stale = search::Manifest {
        meta: r#"{"segments":[],"payload":"1:1"}"#.into(),
        files: Default::default(),
    };
    assert_eq!(leases.publish(&a, &stale, LEASE).await.unwrap(), None);
    assert_eq!(
        leases.published(shard).await.unwrap().manifest,
        Some(manifest)
    );
    leases.release(&a).await.unwrap();
    let states = leases.states().await.unwrap();
    assert_eq!(
        states[0].writer.as_deref(),
        Some("node-b"),
        "a stale release is a no-op"
    );
    // A clean release lets the next node in at once.
    leases.release(&b).await.unwrap();
    assert!(leases
        .acquire(shard, "node-c", LEASE)
        .await
        .unwrap()
        .is_some());
}
each_backend!(lease_has_one_holder_and_fences_the_old_one);

async fn four_shards_answer_as_one_index(kit: &TestDb) {
    let archive = archive_of(kit);
    let mailboxes = mailboxes_with_mail(&archive, 6, 40, 0).await;
    let whole = SearchIndex::open(&kit.dir().join("whole"), 20_000_000).unwrap();
    whole.catch_up(&archive).await.unwrap();
    let whole = ShardedSearch::whole(&whole);

    let sharded = Arc::new(ShardedSearch::new(4));
    let mut indexer = Indexer::new(
        options(kit, "solo", None),
        ShardLeases::new(kit.db.clone()),
        archive.clone(),
        Arc::clone(&sharded),
    );
    settle(&mut indexer).await;
    assert_eq!(indexer.held().len(), 4, "a node alone writes every shard");
    assert_eq!(
        sharded.indexed_item_ids().unwrap(),
        whole.indexed_item_ids().unwrap()
    );

    for query in [
        "budget",
        "holiday plan",
        "\"week 12\"",
        "from:sender3@example.com",
        "",
    ] {
        for scope in [&mailboxes[..], &mailboxes[1..2], &mailboxes[2..5]] {
            let r = request(scope, query);
            let expected = hits(&whole, &archive, &r).await;
            assert!(
                query.is_empty() || expected.0 > 0 || scope.len() == 1,
                "{query}"
            );
            assert_eq!(
                hits(&sharded, &archive, &r).await,
                expected,
                "{query} in {scope:?}"
            );
        }
    }
    // Pages across shards: the second page of 7 is the whole list's items 7 to 13.
    let all = hits(&whole, &archive, &request(&mailboxes, "holiday"))
        .await
        .1;
    let page = sharded
        .search(
            &archive,
            &SearchRequest {
                offset: 7,
                limit: 7,
                ..request(&mailboxes, "holiday")
            },
        )
        .await
        .unwrap();
    let page: Vec<i64> = page.hits.iter().map(|h| h.item_id).collect();
    assert_eq!(page, all[7..14]);

    // Snippets of a merged page: the same as one index gives, on exactly the page's hits.
    let with_snippets = SearchRequest {
        snippets: true,
        offset: 3,
        limit: 10,
        ..request(&mailboxes, "budget")
    };
    let snippets = |r: &search::SearchResults| -> Vec<(i64, Option<String>)> {
        r.hits
            .iter()
            .map(|h| (h.item_id, h.snippet.as_ref().map(|s| s.html.clone())))
            .collect()
    };
    let one = whole.search(&archive, &with_snippets).await.unwrap();
    let merged = sharded.search(&archive, &with_snippets).await.unwrap();
    assert_eq!(merged.total, one.total);
    assert_eq!(snippets(&merged), snippets(&one));
    assert_eq!(merged.hits.len(), 10);
    assert!(merged.hits.iter().all(|h| h
        .snippet
        .as_ref()
        .is_some_and(|s| s.html.contains("<mark>budget</mark>"))));
    indexer.release_all().await;
}
each_backend!(four_shards_answer_as_one_index);

async fn followers_fetch_and_writers_take_over(kit: &TestDb) {
    let archive = archive_of(kit);
    let files = index_files(kit);
    let mut mailboxes = mailboxes_with_mail(&archive, 5, 30, 0).await;
    let leases = ShardLeases::new(kit.db.clone());

    let writer_view = Arc::new(ShardedSearch::new(4));
    let mut writer = Indexer::new(
        options(kit, "writer-a", Some(files.clone())),
        leases.clone(),
        archive.clone(),
        Arc::clone(&writer_view),
    );
    settle(&mut writer).await;

    let web_view = Arc::new(ShardedSearch::new(4));
    let mut follower = Follower::new(
        leases.clone(),
        files.clone(),
        kit.dir().join("web").join("index-copies"),
        Arc::clone(&web_view),
    );
    assert_eq!(follower.step().await.unwrap(), 4, "every shard fetched");
    assert_eq!(
        follower.step().await.unwrap(),
        0,
        "nothing new: nothing fetched"
    );
    let r = request(&mailboxes, "budget");
    let expected = hits(&writer_view, &archive, &r).await;
    assert_eq!(expected.0, 5 * 10);
    assert_eq!(hits(&web_view, &archive, &r).await, expected);

    // The web node's copies are lost (a new disk): fetched again, whole.
    std::fs::remove_dir_all(kit.dir().join("web").join("index-copies")).unwrap();
    assert_eq!(
        follower.step().await.unwrap(),
        4,
        "lost copies are fetched again"
    );
    assert_eq!(hits(&web_view, &archive, &r).await, expected);

    // New mail: the writer publishes it, the follower fetches only what changed.
    mailboxes.extend(mailboxes_with_mail(&archive, 1, 30, 100).await);
    mailboxes_with_mail(&archive, 2, 6, 200).await;
    settle(&mut writer).await;
    assert!(follower.step().await.unwrap() >= 1);
    let r = request(&mailboxes, "budget");
    let expected = hits(&writer_view, &archive, &r).await;
    assert_eq!(hits(&web_view, &archive, &r).await, expected);

    // Writer A dies (no release) and its folder is lost with its machine. Its last step renews
    // what is due, so B asks while A's leases are surely live: on a loaded machine A's last round
    // below can outlast a lease.
    writer.step().await.unwrap();
    let held_by_a = leases.states().await.unwrap();
    assert!(held_by_a
        .iter()
        .all(|s| s.writer.as_deref() == Some("writer-a")));
    drop(writer);

    // Writer B gets nothing while A's leases are live, everything once they lapse.
    let b_view = Arc::new(ShardedSearch::new(4));
    let mut b = Indexer::new(
        options(kit, "writer-b", Some(files.clone())),
        leases.clone(),
        archive.clone(),
        Arc::clone(&b_view),
    );
    b.step().await.unwrap();
    assert!(b.held().is_empty(), "A's leases are still live");

    // A's last round: it indexed new mail and uploaded the new files, and died before the
    // publish that would have named them.
    mailboxes_with_mail(&archive, 2, 9, 300).await;
    let mut unpublished = 0;
    for shard in Shard::all(4) {
        let dir = search::shard_dir(&kit.dir().join("writer-a").join("index"), shard);
        let index = SearchIndex::open_shard(&dir, 64 * 1024 * 1024, shard).unwrap();
        index.catch_up(&archive).await.unwrap();
        drop(index);
        let published = leases.published(shard).await.unwrap().manifest.unwrap();
        let uploaded = files
            .upload(shard, &dir, Some(&published), &leases)
            .await
            .unwrap();
        unpublished += uploaded
            .chunks()
            .filter(|c| !published.chunks().any(|p| p == *c))
            .count();
    }
    assert!(unpublished > 0, "A's last files went up");
    std::fs::remove_dir_all(kit.dir().join("writer-a")).unwrap();

    tokio::time::sleep(LEASE + Duration::from_millis(200)).await;
    settle(&mut b).await;
    assert_eq!(b.held().len(), 4);
    for state in leases.states().await.unwrap() {
        assert_eq!(state.writer.as_deref(), Some("writer-b"));
        assert!(state.fencing_token >= 2, "a new holder, a new token");
    }
    let all: Vec<MailboxId> = archive
        .list_mailboxes()
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(all.len(), 10);
    assert_eq!(
        b_view.indexed_item_ids().unwrap().len() as i64,
        archive.count_items(None).await.unwrap(),
        "B caught up from the published copy with what A never saw"
    );
    follower.step().await.unwrap();
    let r = request(&all, "holiday");
    let expected = hits(&b_view, &archive, &r).await;
    // Holidays are the messages whose number is not a multiple of 3: 5 × 20 + 20 + 2 × 4 + 2 × 6.
    assert_eq!(expected.0, 140);
    assert_eq!(hits(&web_view, &archive, &r).await, expected);
    assert_eq!(
        web_view.indexed_item_ids().unwrap(),
        b_view.indexed_item_ids().unwrap()
    );

    // The store holds the chunks the current publishes name and no others: what A and B
    // published before and replaced is gone, and so is what A uploaded and never published.
    let mut named = std::collections::BTreeSet::new();
    for shard in Shard::all(4) {
        let manifest = leases.published(shard).await.unwrap().manifest.unwrap();
        named.extend(manifest.chunks().map(str::to_owned));
    }
    let mut stored = std::collections::BTreeSet::new();
    for prefix in std::fs::read_dir(kit.dir().join("index-store").join("objects")).unwrap() {
        for object in std::fs::read_dir(prefix.unwrap().path()).unwrap() {
            stored.insert(object.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    assert!(!named.is_empty());
    assert_eq!(stored, named, "the store holds exactly the chunks in use");
    b.release_all().await;
}
each_backend!(followers_fetch_and_writers_take_over);
