//! Real mail as people meant it, found by search: every charset, broken dates, broken MIME and
//! HTML whose words must stay apart.
#![allow(clippy::unwrap_used)]

use archive::*;
use search::*;

fn put(mailbox: MailboxId, source: &str, raw: Vec<u8>) -> PutItem {
    PutItem::message(
        mailbox,
        "inbox",
        source,
        raw,
        Timestamp::from_unix_seconds(1_800_000_000),
    )
}

/// Stores one message that has no record yet and returns its id.
async fn put_new(archive: &Archive, mailbox: MailboxId, source: &str, raw: &[u8]) -> ItemId {
    match archive
        .put_items(vec![put(mailbox, source, raw.to_vec())])
        .await
        .unwrap()[0]
    {
        PutOutcome::Created(id) => id,
        other => panic!("not a new record: {other:?}"),
    }
}

const BROKEN: &[(&str, &str)] = &[
    (
        "zoneless-date",
        "Date: Fri, 23 Aug 2002 19:27:52\nFrom: Zoe <zoe@example.com>\nSubject: zoneless\n\nzebra crossing\n",
    ),
    (
        "ampm-date",
        "Date: 03 Jul 01 12:47:50 AM\nFrom: amy@example.com\nSubject: meridiem\n\nantelope\n",
    ),
    (
        "unclosed-base64",
        "From: b@example.com\nSubject: unclosed\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nYmFkZ2VyIGluIHRoZSBzZXR0\n",
    ),
    (
        "wrong-boundary",
        "From: w@example.com\nSubject: boundary\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"DECLARED\"\n\n--USED\nContent-Type: text/plain\n\nwombat burrow\n--USED--\n",
    ),
    (
        "glued-html",
        "From: h@example.com\nSubject: html\nContent-Type: text/html\n\n<html><head><title>offer</title><body><b>Refinance</b>\nto get <i>lower</i> <span>rates</span><table><tr><td>cell</td><td>mate</td></tr></table>\n",
    ),
];

/// An archive in the kit's folder with one mailbox and its Inbox.
async fn archive_with_inbox(kit: &testkit::TestDb) -> (Archive, MailboxId) {
    let archive = Archive::new(
        kit.db.clone(),
        Blobs::local(kit.dir().join("blobs"), None).unwrap(),
    );
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: "ann@example.com".into(),
            owner_address: "ann@example.com".into(),
            display_name: "Ann".into(),
        })
        .await
        .unwrap()
        .id;
    let spec = FolderSpec {
        source_id: "inbox".into(),
        parent_source_id: None,
        name: "Inbox".into(),
        kind: FolderKind::Inbox,
    };
    archive
        .upsert_folder(mailbox, &spec, Timestamp::from_unix_seconds(1))
        .await
        .unwrap();
    (archive, mailbox)
}

#[tokio::test]
async fn every_charset_and_broken_mail_is_found_by_its_words() {
    let kit = testkit::TestDb::sqlite().await;
    let dir = kit.dir().to_path_buf();
    let (archive, mailbox) = archive_with_inbox(&kit).await;
    let mut items = Vec::new();
    for (n, (charset, bytes, _)) in testkit::mime::CHARSET_SAMPLES.iter().enumerate() {
        items.push(put(
            mailbox,
            charset,
            testkit::mime::charset_message(charset, bytes, &format!("tag{n}")),
        ));
    }
    for (source, raw) in BROKEN {
        items.push(put(mailbox, source, raw.replace('\n', "\r\n").into_bytes()));
    }
    archive.put_items(items).await.unwrap();
    let index = SearchIndex::open(&dir.join("index"), 20_000_000).unwrap();
    index.catch_up(&archive).await.unwrap();

    let find = |query: String| {
        let (archive, index) = (&archive, &index);
        async move {
            let found = index
                .search(
                    archive,
                    &SearchRequest {
                        mailbox_ids: vec![mailbox],
                        query: query.clone(),
                        limit: 100,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let mut sources = Vec::new();
            for hit in found.hits {
                sources.push(archive.item(hit.item_id).await.unwrap().unwrap().source_id);
            }
            sources.sort();
            sources
        }
    };

    // A subject word and a body word in each charset. Several charsets carry the same phrase
    // (GB2312 and GBK, KOI8-R and windows-1251), so each is told apart by its tag.
    for (n, (charset, _, text)) in testkit::mime::CHARSET_SAMPLES.iter().enumerate() {
        let word: String = text
            .split([' ', '\u{ff0c}', '\u{30fb}'])
            .next()
            .unwrap()
            .to_owned();
        let subject = find(format!("subject:\"{word}\" subject:subjecttag{n}")).await;
        assert_eq!(
            subject,
            vec![charset.to_string()],
            "subject in {charset}: {word}"
        );
        let body = find(format!("\"{word}\" bodytag{n}")).await;
        assert_eq!(body, vec![charset.to_string()], "body in {charset}: {word}");
    }

    // Broken mail: its words are found, its broken parts are no attachments, its date is the
    // one it was written with.
    for (word, source) in [
        ("zebra", "zoneless-date"),
        ("from:zoe", "zoneless-date"),
        ("antelope", "ampm-date"),
        ("from:amy", "ampm-date"),
        ("badger", "unclosed-base64"),
        ("wombat", "wrong-boundary"),
        ("\"refinance to get lower\"", "glued-html"),
        ("rates", "glued-html"),
        ("\"cell mate\"", "glued-html"),
    ] {
        assert_eq!(
            find(word.to_owned()).await,
            vec![source.to_owned()],
            "{word}"
        );
    }
    assert!(find("refinanceto".into()).await.is_empty());
    assert!(
        find("offer".into()).await.is_empty(),
        "the title is not body text"
    );
    assert!(find("has:attachment".into()).await.is_empty());
    assert_eq!(
        find("after:2002-08-22 before:2002-08-25".into()).await,
        vec!["zoneless-date".to_owned()]
    );
    assert_eq!(
        find("after:2001-07-02 before:2001-07-04".into()).await,
        vec!["ampm-date".to_owned()]
    );
    kit.finish().await;
}

/// The body texts stored mail hands the indexer (`Archive::keep_fresh_bodies`) are exactly what
/// the indexer reads from the stored copy otherwise, for real, broken and every charset's mail;
/// each is handed out once, only for new records, and only while an indexer asks for them.
#[tokio::test]
async fn bodies_handed_over_when_stored_are_the_bodies_read_back() {
    let kit = testkit::TestDb::sqlite().await;
    let (archive, mailbox) = archive_with_inbox(&kit).await;
    let mut raws: Vec<Vec<u8>> = testkit::corpus::seeds("../mailread/tests/corpus/mime");
    raws.extend(
        testkit::mime::CHARSET_SAMPLES
            .iter()
            .map(|(charset, bytes, _)| testkit::mime::charset_message(charset, bytes, "tag")),
    );
    raws.extend(
        BROKEN
            .iter()
            .map(|(_, raw)| raw.replace('\n', "\r\n").into_bytes()),
    );
    raws.push(b"not a message at all".to_vec());
    let items = |raws: &[Vec<u8>]| {
        raws.iter()
            .enumerate()
            .map(|(n, raw)| put(mailbox, &format!("m{n}"), raw.clone()))
            .collect::<Vec<_>>()
    };

    archive.keep_fresh_bodies(64 * 1024 * 1024);
    let outcomes = archive.put_items(items(&raws)).await.unwrap();
    let mut handed = 0;
    for (outcome, raw) in outcomes.iter().zip(&raws) {
        let PutOutcome::Created(id) = *outcome else {
            panic!("a new record: {outcome:?}")
        };
        let stored = archive.read_raw(id).await.unwrap();
        match archive.take_fresh_body(id) {
            Some(body) => {
                assert_eq!(body, archive::meta::body_text(&stored), "item {id}");
                handed += 1;
            }
            None => assert!(
                archive::meta::parse_message(raw).is_none(),
                "a message's body is handed over: item {id}"
            ),
        }
        assert_eq!(archive.take_fresh_body(id), None, "handed out once");
    }
    assert_eq!(handed, raws.len() - 1, "every message but the non-message");

    // Stored again: the records exist, nothing new to index from them.
    archive.put_items(items(&raws)).await.unwrap();
    for outcome in &outcomes {
        let PutOutcome::Created(id) = *outcome else {
            unreachable!()
        };
        assert_eq!(archive.take_fresh_body(id), None);
    }

    // The indexer takes what waits, and finds the words by it.
    let id = put_new(
        &archive,
        mailbox,
        "fresh",
        b"From: f@example.com\r\nSubject: fresh\r\n\r\nquokka sighting\r\n",
    )
    .await;
    let index = SearchIndex::open(&kit.dir().join("index"), 20_000_000).unwrap();
    index.catch_up(&archive).await.unwrap();
    assert_eq!(archive.take_fresh_body(id), None, "taken by the indexer");
    let found = index
        .search(
            &archive,
            &SearchRequest {
                mailbox_ids: vec![mailbox],
                query: "\"quokka sighting\"".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        found.hits.iter().map(|h| h.item_id).collect::<Vec<_>>(),
        vec![id]
    );

    // Nobody asks any more: nothing is kept.
    archive.keep_fresh_bodies(0);
    let id = put_new(
        &archive,
        mailbox,
        "later",
        b"From: l@example.com\r\nSubject: later\r\n\r\nwombat\r\n",
    )
    .await;
    assert_eq!(archive.take_fresh_body(id), None);
    kit.finish().await;
}
