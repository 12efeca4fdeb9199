#![allow(clippy::unwrap_used)]

use archive::*;
use search::*;

struct Fixture {
    archive: Archive,
    index: SearchIndex,
    /// The test's folder: blobs and index live below it.
    dir: std::path::PathBuf,
    m1: MailboxId,
    m2: MailboxId,
}

fn t(s: i64) -> Timestamp {
    Timestamp::from_unix_seconds(1_700_000_000 + s)
}

fn put(mailbox: MailboxId, folder: &str, source: &str, raw: &str) -> PutItem {
    PutItem {
        mailbox_id: mailbox,
        folder_source_id: folder.into(),
        source_id: source.into(),
        kind: ItemKind::Message,
        raw: raw.replace('\n', "\r\n").into_bytes(),
        is_read: false,
        flags: vec![],
        meta: None,
        properties: None,
        fallback_date: None,
        at: t(1),
    }
}

const REPORT: &str = "From: Ann Archer <ann@example.com>
To: Bob Baker <bob@example.com>
Cc: carl@example.com
Subject: Quarterly report
Date: Mon, 15 Jan 2024 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=B

--B
Content-Type: text/plain; charset=utf-8

Please find the figures attached.
--B
Content-Type: application/vnd.ms-excel
Content-Disposition: attachment; filename=q3-figures.xlsx
Content-Transfer-Encoding: base64

SGVsbG8=
--B--
";

const HTML: &str = "From: dora@example.com
To: ann@example.com
Subject: Plan
Date: Sat, 10 Feb 2024 12:00:00 +0000
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p>The <b>migration</b> plan &amp; timeline for &lt;everyone&gt;</p></body></html>
";

const ACCENTS: &str = "From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.de>
To: ann@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=
Date: Fri, 1 Mar 2024 08:00:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Caf=E9 cr=E8me et g=E2teau.
";

const CJK: &str = "From: yuki@example.jp
To: ann@example.com
Subject: =?utf-8?b?5Lya6K2w44Gu6K2w5LqL6Yyy?=
Date: Mon, 1 Apr 2024 08:00:00 +0900
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

東京で会議があります。
";

const HOSTILE: &str = "From: mallory@example.com
To: ann@example.com
Subject: Hello
Date: Wed, 1 May 2024 08:00:00 +0000
Content-Type: text/plain

Look <script>alert('x')</script> at the quarterly numbers & smile.
";

const OTHER: &str = "From: ann@example.com
To: zed@example.com
Subject: Quarterly report
Date: Mon, 15 Jan 2024 09:00:00 +0000

Other mailbox, same words: quarterly figures attached.
";

/// Two mailboxes with six messages, indexed, on the kit's database (each backend in turn).
async fn fixture(kit: &testkit::TestDb) -> Fixture {
    let dir = kit.dir().to_path_buf();
    let archive = Archive::new(
        kit.db.clone(),
        Blobs::local(dir.join("blobs"), None).unwrap(),
    );
    let mut ids = Vec::new();
    for name in ["ann@example.com", "zed@example.com"] {
        let m = archive
            .ensure_mailbox(&NewMailbox {
                name: name.into(),
                owner_address: name.into(),
                display_name: name.into(),
            })
            .await
            .unwrap();
        for (src, parent, fname) in [
            ("inbox", None, "Inbox"),
            ("proj", Some("inbox"), "Projects"),
        ] {
            let spec = FolderSpec {
                source_id: src.into(),
                parent_source_id: parent.map(str::to_owned),
                name: fname.into(),
                kind: FolderKind::Other,
            };
            archive.upsert_folder(m.id, &spec, t(0)).await.unwrap();
        }
        ids.push(m.id);
    }
    let (m1, m2) = (ids[0], ids[1]);
    archive
        .put_items(vec![
            put(m1, "inbox", "report", REPORT),
            put(m1, "proj", "html", HTML),
            put(m1, "inbox", "accents", ACCENTS),
            put(m1, "inbox", "cjk", CJK),
            put(m1, "inbox", "hostile", HOSTILE),
            put(m2, "inbox", "other", OTHER),
        ])
        .await
        .unwrap();
    let index = SearchIndex::open(&dir.join("index"), 20_000_000).unwrap();
    assert_eq!(index.catch_up(&archive).await.unwrap(), 6);
    Fixture {
        archive,
        index,
        dir,
        m1,
        m2,
    }
}

impl Fixture {
    async fn find(&self, mailboxes: &[MailboxId], query: &str) -> Vec<String> {
        let r = self
            .index
            .search(
                &self.archive,
                &SearchRequest {
                    mailbox_ids: mailboxes.to_vec(),
                    query: query.into(),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut out = Vec::new();
        for h in r.hits {
            out.push(
                self.archive
                    .item(h.item_id)
                    .await
                    .unwrap()
                    .unwrap()
                    .source_id,
            );
        }
        out.sort();
        out
    }
}

testkit::each_backend!(fields_phrases_operators_and_dates);
async fn fields_phrases_operators_and_dates(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let m = [fx.m1];
    assert_eq!(fx.find(&m, "from:ann").await, vec!["report"]);
    assert_eq!(fx.find(&m, "from:ann@example.com").await, vec!["report"]);
    assert_eq!(fx.find(&m, "to:bob").await, vec!["report"]);
    assert_eq!(fx.find(&m, "cc:carl").await, vec!["report"]);
    assert_eq!(
        fx.find(&m, "subject:\"quarterly report\"").await,
        vec!["report"]
    );
    assert_eq!(fx.find(&m, "attachment:q3").await, vec!["report"]);
    assert_eq!(fx.find(&m, "has:attachment").await, vec!["report"]);
    assert_eq!(fx.find(&m, "\"figures attached\"").await, vec!["report"]);
    assert!(fx.find(&m, "\"attached figures\"").await.is_empty());
    assert_eq!(fx.find(&m, "quarterly").await, vec!["hostile", "report"]);
    assert_eq!(fx.find(&m, "quarterly -figures").await, vec!["hostile"]);
    assert_eq!(
        fx.find(&m, "quarterly AND NOT has:attachment").await,
        vec!["hostile"]
    );
    assert_eq!(
        fx.find(&m, "migration OR smile").await,
        vec!["hostile", "html"]
    );
    assert_eq!(
        fx.find(&m, "after:2024-02-10 before:2024-03-02").await,
        vec!["accents", "html"]
    );
    assert_eq!(fx.find(&m, "before:2024-02-10").await, vec!["report"]);
    assert_eq!(fx.find(&m, "after:2024-05-02").await, Vec::<String>::new());
    assert_eq!(fx.find(&m, "folder:projects").await, vec!["html"]);
    assert_eq!(fx.find(&m, "folder:Inbox/Projects").await, vec!["html"]);
    assert_eq!(fx.find(&m, "NOT folder:inbox").await, vec!["html"]);
    assert_eq!(fx.find(&m, "").await.len(), 5);
}

fn note(subject: &str, body: &str) -> String {
    format!(
        "From: ann@example.com\nTo: zed@example.com\nSubject: {subject}\n\
         Date: Mon, 15 Jan 2024 09:00:00 +0000\n\n{body}\n"
    )
}

testkit::each_backend!(body_phrases_match_exactly_through_word_pairs);
/// Phrases in the body are found through the index of adjacent word pairs: exactly the messages
/// where the words stand next to each other in that order, as a phrase over positions finds.
async fn body_phrases_match_exactly_through_word_pairs(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let long = "x".repeat(80);
    let notes = [
        (
            "adjacent",
            "Please schedule the deadline review for Friday.".to_owned(),
        ),
        (
            "apart",
            "The deadline is near; the review comes later.".to_owned(),
        ),
        ("reversed", "We review deadline changes weekly.".to_owned()),
        ("three", "The quarterly deadline review is due.".to_owned()),
        // Both pairs of "quarterly deadline review", but not one after the other.
        (
            "split",
            "Quarterly deadline moved. Deadline review tomorrow.".to_owned(),
        ),
        ("long", format!("The deadline {long} review.")),
        ("punct", "Deadline-review checklist attached.".to_owned()),
    ];
    let items = notes
        .iter()
        .map(|(source, body)| put(fx.m2, "inbox", source, &note("Note", body)))
        .collect();
    fx.archive.put_items(items).await.unwrap();
    fx.index.catch_up(&fx.archive).await.unwrap();
    let m = [fx.m2];
    for (query, expected) in [
        (
            "\"deadline review\"",
            vec!["adjacent", "punct", "split", "three"],
        ),
        (
            "body:\"deadline review\"",
            vec!["adjacent", "punct", "split", "three"],
        ),
        (
            "\"DEADLINE Review\"",
            vec!["adjacent", "punct", "split", "three"],
        ),
        ("\"quarterly deadline review\"", vec!["three"]),
        ("\"review deadline\"", vec!["reversed"]),
        ("\"deadline review\" -quarterly", vec!["adjacent", "punct"]),
        ("\"deadline review for friday\"", vec!["adjacent"]),
        (
            "\"review for\" OR \"the review\"",
            vec!["adjacent", "apart"],
        ),
        (
            "deadline review",
            vec![
                "adjacent", "apart", "long", "punct", "reversed", "split", "three",
            ],
        ),
    ] {
        assert_eq!(fx.find(&m, query).await, expected, "{query}");
    }

    // The snippet marks the phrase's words, not its pairs.
    let r = fx
        .index
        .search(
            &fx.archive,
            &SearchRequest {
                mailbox_ids: m.to_vec(),
                query: "\"quarterly deadline review\"".into(),
                snippets: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.total, 1);
    let snippet = r.hits[0].snippet.as_ref().unwrap();
    for word in ["quarterly", "deadline", "review"] {
        assert!(
            snippet.html.contains(&format!("<mark>{word}</mark>")),
            "{}",
            snippet.html
        );
    }
}

testkit::each_backend!(html_non_ascii_and_cjk);
async fn html_non_ascii_and_cjk(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let m = [fx.m1];
    // HTML reduced to text: words found, markup not.
    assert_eq!(fx.find(&m, "migration timeline").await, vec!["html"]);
    assert!(fx.find(&m, "body:html").await.is_empty());
    assert_eq!(fx.find(&m, "everyone").await, vec!["html"]);
    // Accents folded both ways, charsets decoded.
    for q in [
        "grüße",
        "GRUSSE",
        "subject:munchen",
        "café",
        "creme",
        "gateau",
        "from:jürgen",
    ] {
        assert_eq!(fx.find(&m, q).await, vec!["accents"], "{q}");
    }
    for q in ["会議", "東京", "議事録", "subject:会議"] {
        assert_eq!(fx.find(&m, q).await, vec!["cjk"], "{q}");
    }
    assert!(fx.find(&m, "京東").await.is_empty());
}

testkit::each_backend!(every_query_is_confined_to_the_given_mailboxes);
async fn every_query_is_confined_to_the_given_mailboxes(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    assert_eq!(fx.find(&[fx.m2], "quarterly").await, vec!["other"]);
    assert_eq!(fx.find(&[fx.m2], "").await, vec!["other"]);
    assert_eq!(fx.find(&[fx.m2], "NOT zzz").await, vec!["other"]);
    assert_eq!(
        fx.find(&[fx.m2], "migration OR quarterly").await,
        vec!["other"]
    );
    assert_eq!(
        fx.find(&[fx.m1, fx.m2], "\"quarterly report\"").await,
        vec!["other", "report"]
    );
    assert!(fx.find(&[], "quarterly").await.is_empty());
    assert!(fx.find(&[999], "").await.is_empty());
}

testkit::each_backend!(snippets_are_escaped_and_highlighted_and_results_page_by_date);
async fn snippets_are_escaped_and_highlighted_and_results_page_by_date(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let r = fx
        .index
        .search(
            &fx.archive,
            &SearchRequest {
                mailbox_ids: vec![fx.m1],
                query: "quarterly".into(),
                snippets: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.total, 2);
    let hostile = r
        .hits
        .iter()
        .find_map(|h| h.snippet.as_ref().filter(|s| s.text.contains("script")))
        .unwrap();
    assert!(hostile.html.contains("&lt;script&gt;"), "{}", hostile.html);
    assert!(!hostile.html.contains("<script>"));
    assert!(
        hostile.html.contains("<mark>quarterly</mark>"),
        "{}",
        hostile.html
    );
    assert!(hostile.html.contains("&amp; smile"));
    let (from, to) = hostile.highlights[0];
    assert_eq!(&hostile.text[from..to], "quarterly");

    let mut dates = Vec::new();
    for offset in [0, 2, 4] {
        let page = fx
            .index
            .search(
                &fx.archive,
                &SearchRequest {
                    mailbox_ids: vec![fx.m1],
                    sort: SearchSort::NewestFirst,
                    offset,
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, 5);
        assert!(page.hits.iter().all(|h| h.score.is_none()));
        dates.extend(page.hits.iter().map(|h| h.date));
    }
    assert_eq!(dates.len(), 5);
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    let oldest = fx
        .index
        .search(
            &fx.archive,
            &SearchRequest {
                mailbox_ids: vec![fx.m1],
                sort: SearchSort::OldestFirst,
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        oldest.hits[0].date,
        Timestamp::from_unix_seconds(1_705_309_200)
    );
    assert!(matches!(
        fx.index
            .search(
                &fx.archive,
                &SearchRequest {
                    mailbox_ids: vec![fx.m1],
                    query: "before:never".into(),
                    ..Default::default()
                }
            )
            .await,
        Err(SearchError::Query(QueryError::Date(_)))
    ));
}

testkit::each_backend!(index_follows_moves_and_catches_up_after_reopen);
async fn index_follows_moves_and_catches_up_after_reopen(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let m = [fx.m1];
    let before = fx.index.indexed_up_to().unwrap();
    assert!(before.seq > 0);
    fx.archive
        .move_item(fx.m1, "report", "proj", None, t(5))
        .await
        .unwrap();
    // Not visible until the index catches up.
    assert_eq!(fx.find(&m, "folder:projects").await, vec!["html"]);
    assert_eq!(fx.index.catch_up(&fx.archive).await.unwrap(), 1);
    assert_eq!(fx.find(&m, "folder:projects").await, vec!["html", "report"]);
    assert_eq!(
        fx.index.num_docs(),
        6,
        "a re-indexed item replaces its document"
    );

    // New mail written while the index is closed is picked up on the next start.
    let Fixture {
        archive,
        index,
        dir,
        m1,
        m2,
    } = fx;
    let cursor = index.indexed_up_to().unwrap();
    drop(index);
    archive
        .put_item(put(
            m1,
            "inbox",
            "late",
            &OTHER.replace("Other mailbox", "Latecomer"),
        ))
        .await
        .unwrap();
    let index = SearchIndex::open(&dir.join("index"), 20_000_000).unwrap();
    assert_eq!(index.indexed_up_to().unwrap(), cursor);
    assert_eq!(index.catch_up(&archive).await.unwrap(), 1);
    assert_eq!(index.catch_up(&archive).await.unwrap(), 0);
    let fx = Fixture {
        archive,
        index,
        dir,
        m1,
        m2,
    };
    assert_eq!(fx.find(&m, "latecomer").await, vec!["late"]);
    let mut ids = fx.index.indexed_item_ids().unwrap();
    ids.dedup();
    assert_eq!(
        ids.len() as i64,
        fx.archive.count_items(None).await.unwrap()
    );
}

testkit::each_backend!(snippets_come_from_the_index_and_reach_past_its_excerpt);
async fn snippets_come_from_the_index_and_reach_past_its_excerpt(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let snippet = |query: &str| {
        let query = query.to_owned();
        let fx = &fx;
        async move {
            let r = fx
                .index
                .search(
                    &fx.archive,
                    &SearchRequest {
                        mailbox_ids: vec![fx.m1],
                        query,
                        snippets: true,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(r.hits.len(), 1);
            r.hits[0].snippet.clone().unwrap()
        }
    };

    // A short body is in the index whole: its snippet needs no content read, so it survives the
    // blob going missing.
    let hostile = fx
        .archive
        .item_by_source_id(fx.m1, "hostile")
        .await
        .unwrap()
        .unwrap();
    let blob = fx
        .dir
        .join("blobs/objects")
        .join(&hostile.blob_hash[..2])
        .join(&hostile.blob_hash);
    std::fs::remove_file(&blob).unwrap();
    let s = snippet("smile").await;
    assert!(s.html.contains("<mark>smile</mark>"), "{}", s.html);
    assert!(s.html.contains("&lt;script&gt;"), "{}", s.html);

    // A long body: a match far past the stored excerpt is still shown, from the content; a match
    // in a header shows the start of the body.
    let long = format!(
        "From: lena@example.com\nTo: ann@example.com\nSubject: Long one\nDate: Mon, 1 Jul 2024 08:00:00 +0000\n\n{}the zanzibar clause at the very end.\n",
        "filler words about nothing in particular. ".repeat(2000)
    );
    fx.archive
        .put_item(put(fx.m1, "inbox", "long", &long))
        .await
        .unwrap();
    fx.index.catch_up(&fx.archive).await.unwrap();
    let s = snippet("zanzibar").await;
    assert!(s.html.contains("<mark>zanzibar</mark>"), "{}", s.html);
    let (from, to) = s.highlights[0];
    assert_eq!(&s.text[from..to], "zanzibar");
    let s = snippet("from:lena").await;
    assert!(
        s.text.starts_with("filler words about nothing"),
        "{}",
        s.text
    );
    assert!(s.highlights.is_empty());
}

testkit::each_backend!(an_index_built_with_another_schema_is_rebuilt_from_the_store);
async fn an_index_built_with_another_schema_is_rebuilt_from_the_store(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let Fixture {
        archive,
        index,
        dir,
        m1,
        m2,
    } = fx;
    drop(index);
    let path = dir.join("index");
    std::fs::remove_dir_all(&path).unwrap();
    std::fs::create_dir_all(&path).unwrap();
    {
        // What an older version left behind: another schema, a commit with a cursor.
        let mut b = tantivy::schema::Schema::builder();
        let body = b.add_text_field("body", tantivy::schema::TEXT);
        let old = tantivy::Index::create_in_dir(&path, b.build()).unwrap();
        let mut writer: tantivy::IndexWriter = old.writer(15_000_000).unwrap();
        writer.add_document(tantivy::doc!(body => "stale")).unwrap();
        let mut prepared = writer.prepare_commit().unwrap();
        prepared.set_payload("99999:99999");
        prepared.commit().unwrap();
    }
    let index = SearchIndex::open(&path, 20_000_000).unwrap();
    assert_eq!(index.indexed_up_to().unwrap(), ChangeCursor::default());
    assert_eq!(index.catch_up(&archive).await.unwrap(), 6);
    let fx = Fixture {
        archive,
        index,
        dir,
        m1,
        m2,
    };
    assert_eq!(
        fx.find(&[fx.m1], "quarterly").await,
        vec!["hostile", "report"]
    );
    assert_eq!(fx.index.num_docs(), 6);
    // And it opens as it is from then on.
    drop(fx.index);
    let index = SearchIndex::open(&path, 20_000_000).unwrap();
    assert_eq!(index.num_docs(), 6);
}

async fn source_ids(archive: &Archive, results: SearchResults) -> Vec<String> {
    let mut out = Vec::new();
    for h in results.hits {
        out.push(archive.item(h.item_id).await.unwrap().unwrap().source_id);
    }
    out.sort();
    out
}

testkit::each_backend!(a_reader_opens_and_searches_while_the_writer_is_held);
/// The portal holds the writer for as long as it runs; the command line must still search.
async fn a_reader_opens_and_searches_while_the_writer_is_held(kit: &testkit::TestDb) {
    let fx = fixture(kit).await;
    let path = fx.dir.join("index");
    assert!(
        SearchIndex::open(&path, 20_000_000).is_err(),
        "one writer per index"
    );
    let reader = SearchReader::open(&path).unwrap();
    assert_eq!(reader.num_docs(), 6);
    assert_eq!(reader.pending_changes(&fx.archive).await.unwrap(), 0);
    let request = |query: &str| SearchRequest {
        mailbox_ids: vec![fx.m1],
        query: query.into(),
        limit: 100,
        snippets: true,
        ..Default::default()
    };
    let found = reader
        .search(&fx.archive, &request("quarterly"))
        .await
        .unwrap();
    assert!(found.hits.iter().all(|h| h.snippet.is_some()));
    assert_eq!(
        source_ids(&fx.archive, found).await,
        vec!["hostile", "report"]
    );

    // Archived but not yet indexed: the reader answers from the last commit and says how far
    // behind that is, until the writer catches up.
    fx.archive
        .put_item(put(
            fx.m1,
            "inbox",
            "late",
            &OTHER.replace("Other mailbox", "Quarterly latecomer"),
        ))
        .await
        .unwrap();
    assert_eq!(reader.pending_changes(&fx.archive).await.unwrap(), 1);
    let before = reader
        .search(&fx.archive, &request("latecomer"))
        .await
        .unwrap();
    assert_eq!(before.total, 0);
    assert_eq!(fx.index.catch_up(&fx.archive).await.unwrap(), 1);
    reader.reload().unwrap();
    assert_eq!(reader.pending_changes(&fx.archive).await.unwrap(), 0);
    assert_eq!(
        reader.indexed_up_to().unwrap(),
        fx.index.indexed_up_to().unwrap()
    );
    let after = reader
        .search(&fx.archive, &request("latecomer"))
        .await
        .unwrap();
    assert_eq!(source_ids(&fx.archive, after).await, vec!["late"]);
}

#[tokio::test]
async fn a_reader_neither_creates_nor_rebuilds_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index");
    assert!(matches!(
        SearchReader::open(&path),
        Err(SearchError::Missing(_))
    ));
    std::fs::create_dir_all(&path).unwrap();
    assert!(matches!(
        SearchReader::open(&path),
        Err(SearchError::Missing(_))
    ));
    assert!(!path.join("meta.json").exists(), "nothing was created");

    let mut b = tantivy::schema::Schema::builder();
    b.add_text_field("body", tantivy::schema::TEXT);
    let old = tantivy::Index::create_in_dir(&path, b.build()).unwrap();
    drop(old);
    assert!(matches!(
        SearchReader::open(&path),
        Err(SearchError::Outdated(_))
    ));
    assert!(
        tantivy::Index::open_in_dir(&path)
            .unwrap()
            .schema()
            .get_field("body")
            .is_ok(),
        "the old index is left as it was"
    );
}
