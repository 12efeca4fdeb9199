//! The blob store suite, run on each backend: the local folder and S3 (a real S3 server, PyPI
//! `moto`, on loopback). What the archive relies on: content in is content out (sealed and
//! encrypted on the way), a second write of an address never replaces the first, writers racing
//! on the same content all succeed, large blobs go up in parts and stream back, and a store that cannot be
//! reached is a clear error after bounded retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use archive::{
    BlobError, BlobHash, BlobKey, BlobStore, Blobs, LocalBlobStore, S3BlobStore, S3Settings,
};

struct Backend {
    name: &'static str,
    store: Arc<dyn BlobStore>,
    _dir: Option<tempfile::TempDir>,
}

fn s3_settings(endpoint: &str, bucket: &str) -> S3Settings {
    S3Settings {
        bucket: bucket.to_owned(),
        endpoint: Some(endpoint.to_owned()),
        region: Some(testkit::s3::REGION.to_owned()),
        path_style: true,
        access_key_id: Some(testkit::s3::ACCESS_KEY_ID.to_owned()),
        secret_access_key: Some(testkit::s3::SECRET_ACCESS_KEY.to_owned()),
        prefix: "archive".to_owned(),
        max_retries: 3,
        retry_timeout: Duration::from_secs(10),
    }
}

async fn backends(test: &str) -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = LocalBlobStore::open(dir.path().join("blobs")).expect("local store");
    let moto = testkit::s3::moto();
    let bucket = moto.bucket(&test.replace('_', "-")).await;
    let s3 = S3BlobStore::open(&s3_settings(&moto.endpoint, &bucket)).expect("s3 store");
    s3.check().await.expect("the bucket answers");
    vec![
        Backend {
            name: "local",
            store: Arc::new(local),
            _dir: Some(dir),
        },
        Backend {
            name: "s3",
            store: Arc::new(s3),
            _dir: None,
        },
    ]
}

fn key() -> Option<BlobKey> {
    Some(BlobKey::from_bytes([7; 32]))
}

#[tokio::test]
async fn content_round_trips_sealed_and_encrypted() {
    for backend in backends("round-trip").await {
        let blobs = Blobs::new(backend.store.clone(), key());
        let raws: Vec<Vec<u8>> = (0..20)
            .map(|n| {
                format!("Subject: {n}\r\n\r\nbody {n}\r\n")
                    .repeat(n + 1)
                    .into_bytes()
            })
            .collect();
        let refs: Vec<&[u8]> = raws.iter().map(Vec::as_slice).collect();
        let hashes = blobs.put_many(&refs).await.expect("put");
        for (hash, raw) in hashes.iter().zip(&raws) {
            assert_eq!(
                &blobs.get(hash).await.expect("get"),
                raw,
                "{}",
                backend.name
            );
        }
        // What the store holds is sealed: the plain text is nowhere in it.
        let sealed = backend.store.get(&hashes[3]).await.expect("sealed");
        assert!(
            !sealed.windows(7).any(|w| w == b"body 3\r"),
            "{}: stored in the clear",
            backend.name
        );
        let unknown = BlobHash::of(b"never stored");
        let found = backend
            .store
            .contains_many(&[hashes[0].clone(), unknown.clone(), hashes[1].clone()])
            .await
            .expect("contains");
        assert_eq!(found, vec![true, false, true], "{}", backend.name);
        assert!(matches!(
            blobs.get(&unknown).await,
            Err(BlobError::Missing(_))
        ));
        backend.store.delete(&hashes[0]).await.expect("delete");
        backend
            .store
            .delete(&hashes[0])
            .await
            .expect("a second delete is no error");
        assert!(!backend.store.contains(&hashes[0]).await.expect("contains"));
    }
}

#[tokio::test]
async fn a_stored_address_is_never_replaced() {
    for backend in backends("first-wins").await {
        let hash = BlobHash::of(b"the content");
        backend
            .store
            .put_many(vec![(hash.clone(), b"first".to_vec())])
            .await
            .expect("first");
        backend
            .store
            .put_many(vec![(hash.clone(), b"second".to_vec())])
            .await
            .expect("a second write of the same address succeeds");
        assert_eq!(
            backend.store.get(&hash).await.expect("get"),
            b"first",
            "{}: the first write stays",
            backend.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_racing_on_the_same_content_all_succeed() {
    for backend in backends("race").await {
        let raw = b"Subject: the same message\r\n\r\nseen by eight nodes at once\r\n".to_vec();
        let mut writers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            // Each writer seals on its own (its own nonce), as separate nodes would.
            let blobs = Blobs::new(backend.store.clone(), key());
            let raw = raw.clone();
            writers.spawn(async move { blobs.put(&raw).await });
        }
        let mut hashes = Vec::new();
        while let Some(done) = writers.join_next().await {
            hashes.push(done.expect("task").expect("every writer succeeds"));
        }
        hashes.dedup();
        assert_eq!(hashes.len(), 1, "{}", backend.name);
        let blobs = Blobs::new(backend.store.clone(), key());
        assert_eq!(
            blobs.get(&hashes[0]).await.expect("get"),
            raw,
            "{}",
            backend.name
        );
    }
    let moto = testkit::s3::moto();
    let objects = moto.keys("race").await;
    assert_eq!(
        objects.len(),
        1,
        "one object for the one content: {objects:?}"
    );
}

#[tokio::test]
async fn a_large_blob_goes_up_in_parts_and_reads_back() {
    // Random bytes do not compress: the sealed blob stays above the multipart threshold.
    let mut raw = vec![0u8; archive::MULTIPART_ABOVE + 3 * 1024 * 1024];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for byte in raw.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x as u8;
    }
    for backend in backends("large").await {
        let blobs = Blobs::new(backend.store.clone(), key());
        let hash = blobs.put(&raw).await.expect("put");
        assert!(
            blobs.get(&hash).await.expect("get") == raw,
            "{}",
            backend.name
        );
        // Read as a stream, it arrives in small checked pieces, never whole.
        let mut stream = blobs.get_stream(&hash).await.expect("stream");
        let (mut read, mut pieces, mut largest) = (Vec::with_capacity(raw.len()), 0, 0);
        while let Some(piece) = futures_util::StreamExt::next(&mut stream).await {
            let piece = piece.expect("piece");
            largest = largest.max(piece.len());
            pieces += 1;
            read.extend_from_slice(&piece);
        }
        assert!(read == raw, "{}: streamed content differs", backend.name);
        assert!(pieces > 100, "{}: {pieces} pieces", backend.name);
        assert!(
            largest <= 128 * 1024,
            "{}: a piece of {largest}",
            backend.name
        );
        // Stored already: a second put does not upload it again, and succeeds.
        assert_eq!(blobs.put(&raw).await.expect("again"), hash);
    }
}

#[tokio::test]
async fn an_unreachable_store_is_a_clear_error_after_bounded_retries() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut settings = s3_settings(&format!("http://127.0.0.1:{port}"), "nowhere");
    settings.max_retries = 2;
    settings.retry_timeout = Duration::from_secs(3);
    let store = S3BlobStore::open(&settings).expect("settings are valid");
    let started = Instant::now();
    let checked = store.check().await;
    let blobs = Blobs::new(Arc::new(store), key());
    let put = blobs.put(b"Subject: lost?\r\n\r\nnot lost\r\n").await;
    assert!(started.elapsed() < Duration::from_secs(30), "bounded");
    for outcome in [checked.map(|_| ()), put.map(|_| ())] {
        let error = outcome.expect_err("nothing answers").to_string();
        assert!(error.contains("S3 bucket `nowhere`"), "{error}");
    }
}

#[tokio::test]
async fn throttling_is_retried_and_an_outage_fails_cleanly_and_loses_nothing() {
    use archive::{Archive, FolderKind, FolderSpec, ItemKind, NewMailbox, PutItem, Timestamp};
    use testkit::s3::FailingFront;
    let moto = testkit::s3::moto();
    let bucket = moto.bucket("strained").await;

    // Two answers of 503 Slow Down, then the store answers: the write gets through its retries.
    let front = FailingFront::start(&moto.endpoint, 2);
    let store = S3BlobStore::open(&s3_settings(&front.endpoint, &bucket)).expect("store");
    let blobs = Blobs::new(Arc::new(store), key());
    let raw = b"Subject: through\r\n\r\nafter two refusals\r\n".to_vec();
    let hash = blobs.put(&raw).await.expect("retried through the 503s");
    assert_eq!(front.refused(), 2);
    assert_eq!(blobs.get(&hash).await.expect("get"), raw);

    // An outage that outlasts the retries: the archive's write fails with S3's answer and records
    // nothing; once the store is back, the same write goes through, once.
    let front = FailingFront::start(&moto.endpoint, usize::MAX);
    let mut settings = s3_settings(&front.endpoint, &bucket);
    settings.max_retries = 2;
    settings.retry_timeout = Duration::from_secs(5);
    let store = S3BlobStore::open(&settings).expect("store");
    let kit = testkit::TestDb::sqlite().await;
    let archive = Archive::new(kit.db.clone(), Blobs::new(Arc::new(store), key()));
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: "ann@example.com".into(),
            owner_address: "ann@example.com".into(),
            display_name: "Ann".into(),
        })
        .await
        .expect("mailbox")
        .id;
    archive
        .upsert_folder(
            mailbox,
            &FolderSpec {
                source_id: "inbox".into(),
                parent_source_id: None,
                name: "Inbox".into(),
                kind: FolderKind::Inbox,
            },
            Timestamp::now(),
        )
        .await
        .expect("folder");
    let item = || PutItem {
        mailbox_id: mailbox,
        folder_source_id: "inbox".into(),
        source_id: "m1".into(),
        kind: ItemKind::Message,
        raw: b"Subject: kept\r\n\r\nwaiting for S3\r\n".to_vec(),
        is_read: false,
        flags: Vec::new(),
        meta: None,
        properties: None,
        fallback_date: None,
        at: Timestamp::now(),
    };
    let refused = archive.put_item(item()).await.expect_err("S3 is down");
    assert!(
        refused.to_string().contains("S3 bucket `strained`"),
        "{refused}"
    );
    assert!(front.refused() >= 3, "the first try and two retries");
    assert_eq!(archive.count_items(Some(mailbox)).await.expect("count"), 0);
    front.recover();
    let stored = archive
        .put_item(item())
        .await
        .expect("S3 is back")
        .item_id();
    assert_eq!(archive.count_items(Some(mailbox)).await.expect("count"), 1);
    assert_eq!(
        archive.read_raw(stored).await.expect("read"),
        b"Subject: kept\r\n\r\nwaiting for S3\r\n"
    );
    kit.finish().await;
}
