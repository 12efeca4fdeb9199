//! Full-text search over the archive.
//!
//! One [`SearchIndex`] per data folder holds the tantivy index and its single writer. The index
//! follows the store by change order: [`SearchIndex::catch_up`] reads the items changed after the
//! cursor kept in the index's own commit payload, so a crash between a store write and an index
//! commit only means that the next catch-up does that work again. Every query is confined to a
//! set of mailbox ids inside the tantivy query itself.
//!
//! Searching needs no writer: a [`SearchReader`] opens the committed index without taking the
//! writer lock, so the command line (or any other process) can search while the portal holds the
//! [`SearchIndex`]. It sees what the writer has committed, and
//! [`SearchReader::pending_changes`] tells how far that is behind the store.

mod cluster;
mod document;
mod found;
mod query;
mod replica;
mod shards;
mod tokenizer;

use std::borrow::Cow;
use std::path::Path;

use futures::StreamExt as _;

pub use archive::Shard;
use archive::{Archive, ChangeCursor, IndexRecord, ItemKind, MailboxId, Timestamp};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, TermSetQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, Order, ReloadPolicy,
    TantivyDocument, Term,
};

use document::MailDocument;

pub use cluster::{shard_dir, Follower, Indexer, IndexerOptions, ShardedSearch, RETIRED_GRACE};
pub use found::{FoundItem, FoundItems};
pub use query::{parse_query, Clause, QueryError};
pub use replica::{local_cursor, IndexFiles, CHUNK_BYTES};
pub use shards::{Lease, Manifest, Published, ShardLeases, ShardState, StoredFile};
pub use tokenizer::{MailTokenizer, PairsTokenizer, PAIRS_TOKENIZER, TOKENIZER};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("cannot open the index folder: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("index commit payload `{0}` is not a change cursor")]
    BadPayload(String),
    /// A published shard's manifest (or the `meta.json` in it) cannot be read.
    #[error("published search shard: {0}")]
    BadManifest(String),
    /// The blocking thread a commit ran on ended without an answer (it panicked).
    #[error("the index commit did not finish: {0}")]
    CommitLost(String),
    /// A shard's part of a search ended without an answer (it panicked).
    #[error("a search shard did not answer: {0}")]
    ShardLost(String),
    /// Only the writer creates an index; a reader finds none until it has.
    #[error("there is no search index in {0} yet")]
    Missing(String),
    /// Only the writer can rebuild an index of an older schema.
    #[error("the search index in {0} was built with an older schema and has to be rebuilt")]
    Outdated(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, SearchError>;

/// The deepest result a search pages to; an offset beyond it returns the last results there.
pub const MAX_OFFSET: usize = 10_000;

/// How many store changes go into one index commit.
const BATCH: u32 = 1000;

/// Contents read at the same time while indexing.
const READS_IN_FLIGHT: usize = 16;

/// At most this many threads search the segments of one query.
const SEARCH_THREADS: usize = 4;

/// How much of each body the index keeps as stored text, for snippets without reading the
/// content from the store. A body longer than this is cut (at a character boundary); a query
/// whose body terms match only beyond the cut reads the content as before.
const STORED_BODY_BYTES: usize = 16 * 1024;

/// What the indexer gets for an item: its body text handed over by the writer, or its stored
/// content to read the text from.
enum Content {
    Body(String),
    Raw(Vec<u8>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub item_id: Field,
    pub mailbox_id: Field,
    pub folder_id: Field,
    pub kind: Field,
    pub subject: Field,
    pub from: Field,
    pub to: Field,
    pub cc: Field,
    pub body: Field,
    /// The body's adjacent word pairs ([`PairsTokenizer`]), documents only: phrases in the body
    /// are looked up here first.
    pub body_pairs: Field,
    /// Stored only: the start of the body text (at most [`STORED_BODY_BYTES`]).
    pub excerpt: Field,
    /// Stored only: the full body text's length in bytes, to tell a cut excerpt.
    pub body_bytes: Field,
    pub attachments: Field,
    pub date: Field,
    pub size: Field,
    pub has_attachment: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let id = NumericOptions::default().set_indexed().set_fast();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        item_id: b.add_u64_field("item_id", id.clone()),
        mailbox_id: b.add_u64_field("mailbox_id", id.clone()),
        folder_id: b.add_u64_field("folder_id", NumericOptions::default().set_indexed()),
        kind: b.add_u64_field("kind", NumericOptions::default().set_indexed()),
        subject: b.add_text_field("subject", text.clone()),
        from: b.add_text_field("from", text.clone()),
        to: b.add_text_field("to", text.clone()),
        cc: b.add_text_field("cc", text.clone()),
        body: b.add_text_field("body", text.clone()),
        body_pairs: b.add_text_field(
            "body_pairs",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(PAIRS_TOKENIZER)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        excerpt: b.add_text_field("excerpt", TextOptions::default().set_stored()),
        body_bytes: b.add_u64_field("body_bytes", NumericOptions::default().set_stored()),
        attachments: b.add_text_field("attachment", text),
        date: b.add_i64_field("date", id.clone()),
        size: b.add_u64_field("size", id),
        has_attachment: b.add_u64_field("has_attachment", NumericOptions::default().set_indexed()),
    };
    (b.build(), fields)
}

fn kind_code(kind: ItemKind) -> u64 {
    match kind {
        ItemKind::Message => 0,
        ItemKind::Calendar => 1,
        ItemKind::Contact => 2,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchSort {
    #[default]
    Relevance,
    NewestFirst,
    OldestFirst,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The mailboxes the caller may see. Empty means no results, never "all".
    pub mailbox_ids: Vec<MailboxId>,
    pub query: String,
    /// Item kinds to return; empty means every kind.
    pub kinds: Vec<ItemKind>,
    pub sort: SearchSort,
    pub offset: usize,
    pub limit: usize,
    /// Snippets come from the body text stored in the index; a match deep in a very long body
    /// reads that item's content from the store.
    pub snippets: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            mailbox_ids: Vec::new(),
            query: String::new(),
            kinds: vec![ItemKind::Message],
            sort: SearchSort::Relevance,
            offset: 0,
            limit: 20,
            snippets: false,
        }
    }
}

/// A passage of the body around the matches. `highlights` are byte ranges into `text`; `html` is
/// `text` escaped for HTML with the matches in `<mark>`, safe to insert as markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
    pub html: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub item_id: i64,
    pub mailbox_id: MailboxId,
    pub date: Timestamp,
    /// Relevance score; None when sorted by date.
    pub score: Option<f32>,
    pub snippet: Option<Snippet>,
}

/// One index's hits before snippets, with the query and the searcher that found them.
pub(crate) struct Collected {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    addresses: Vec<DocAddress>,
    query: Box<dyn Query>,
    searcher: tantivy::Searcher,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
}

/// The committed index, for searching only. Opening it takes no lock: any number of readers,
/// in any process, can open it next to the one [`SearchIndex`] that writes.
#[derive(Clone)]
pub struct SearchReader {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// The mailboxes this index holds.
    shard: Shard,
}

/// The index with its single writer: keeps it caught up with the store, and searches it too.
pub struct SearchIndex {
    view: SearchReader,
    /// Shared so that a commit can take the writer to a blocking thread and bring it back.
    writer: std::sync::Arc<tokio::sync::Mutex<IndexWriter<MailDocument>>>,
}

impl std::fmt::Debug for SearchReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchReader").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

/// The largest index `<= at` that is a char boundary of `text`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

fn highlight_html(text: &str, highlights: &[(usize, usize)]) -> String {
    let mut html = String::with_capacity(text.len() + 32);
    let mut at = 0;
    for &(from, to) in highlights {
        if from < at
            || to > text.len()
            || !text.is_char_boundary(from)
            || !text.is_char_boundary(to)
        {
            continue;
        }
        escape_html(&text[at..from], &mut html);
        html.push_str("<mark>");
        escape_html(&text[from..to], &mut html);
        html.push_str("</mark>");
        at = to;
    }
    escape_html(&text[at..], &mut html);
    html
}

/// Removes an index built with another schema (an older version of this crate). The index only
/// mirrors the store, so the next catch-up rebuilds it from the start. The old index's writer
/// lock is held meanwhile, so an index still in use elsewhere is left alone (and open fails).
fn clear_outdated(dir: &Path, directory: MmapDirectory) -> Result<()> {
    tracing::warn!(dir = %dir.display(), "search index has an outdated schema; rebuilding it");
    let old = Index::open(directory)?;
    let lock: IndexWriter = old.writer(15_000_000)?;
    let io = |path: &Path, source| SearchError::Io {
        path: path.display().to_string(),
        source,
    };
    // Without meta.json there is no index, whatever else is left: remove it first.
    let meta = dir.join("meta.json");
    std::fs::remove_file(&meta).map_err(|e| io(&meta, e))?;
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        let lock_file = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".lock"));
        if path.is_file() && !lock_file {
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
        }
    }
    drop(lock);
    Ok(())
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when empty (or rebuilding it from the store's start
    /// when it was built with another schema). Takes the index's single writer lock.
    pub fn open(dir: &Path, writer_memory_bytes: usize) -> Result<Self> {
        Self::open_shard(dir, writer_memory_bytes, Shard::WHOLE)
    }

    /// [`SearchIndex::open`] for an index of one shard's mailboxes.
    pub fn open_shard(dir: &Path, writer_memory_bytes: usize, shard: Shard) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| SearchError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let (schema, fields) = schema();
        let directory = MmapDirectory::open(dir)?;
        if Index::exists(&directory).map_err(tantivy::TantivyError::from)?
            && Index::open(directory.clone())?.schema() != schema
        {
            clear_outdated(dir, directory.clone())?;
        }
        // Stored excerpts compress about twice as well with zstd as with the default lz4.
        let settings = IndexSettings {
            docstore_compression: Compressor::Zstd(ZstdCompressor::default()),
            ..IndexSettings::default()
        };
        let mut index = Index::builder()
            .schema(schema)
            .settings(settings)
            .open_or_create(directory)?;
        prepare_for_search(&mut index)?;
        let writer = index.writer(writer_memory_bytes.max(15_000_000))?;
        // The writer reloads after each of its own commits, so it needs no file watcher.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            view: SearchReader {
                index,
                reader,
                fields,
                shard,
            },
            writer: std::sync::Arc::new(tokio::sync::Mutex::new(writer)),
        })
    }

    /// The searching half of this index, as a [`SearchReader`] opened elsewhere would see it.
    pub fn reader(&self) -> &SearchReader {
        &self.view
    }

    /// How far the index has caught up with the store, as recorded in its last commit.
    pub fn indexed_up_to(&self) -> Result<ChangeCursor> {
        self.view.indexed_up_to()
    }

    /// Indexes every store change the index has not seen, committing every [`BATCH`] changes
    /// with the cursor as the commit payload. Returns how many items were (re)indexed.
    pub async fn catch_up(&self, archive: &Archive) -> Result<usize> {
        let mut total = 0;
        loop {
            let (count, more) = self.catch_up_some(archive, u32::MAX).await?;
            total += count;
            if !more {
                return Ok(total);
            }
        }
    }

    /// [`SearchIndex::catch_up`] with at most `batches` commits, so that a shard's writer can
    /// renew its lease between them. Returns how many items were (re)indexed and whether more
    /// changes are waiting.
    pub async fn catch_up_some(&self, archive: &Archive, batches: u32) -> Result<(usize, bool)> {
        let mut writer = std::sync::Arc::clone(&self.writer).lock_owned().await;
        let shard = self.view.shard;
        let mut more = false;
        let mut committed = 0;
        let mut cursor = self.indexed_up_to()?;
        let mut total = 0;
        // Items a purge removed go first. Ids are never reused, so the order against the
        // changes below does not matter; what matters is that the cursor passes them.
        let mut removed_up_to: Option<i64> = None;
        let mut removal = ChangeCursor {
            seq: cursor.seq,
            item_id: i64::MAX,
        };
        loop {
            let removals = archive.removals_since(removal, BATCH).await?;
            let Some(last) = removals.last() else { break };
            removal = *last;
            for gone in &removals {
                // Stored and purged before it was indexed: its text must not wait forever.
                drop(archive.take_fresh_body(gone.item_id));
                writer.delete_term(Term::from_field_u64(
                    self.view.fields.item_id,
                    gone.item_id as u64,
                ));
            }
            removed_up_to = Some(removal.seq);
            total += removals.len();
        }
        loop {
            if committed == batches {
                more = true;
                break;
            }
            let records = archive.shard_changes_since(shard, cursor, BATCH).await?;
            let Some(last) = records.last() else { break };
            let next = last.cursor;
            // Contents are read several at a time: from an object store each read is a round
            // trip, and one after another they would set the indexing rate.
            // Owned ids and archive handles: a stream of futures borrowing from this frame
            // would not be `Send` for every lifetime, and the indexer runs on a spawned task.
            let ids: Vec<i64> = records.iter().map(|r| r.item.id).collect();
            let reader = archive.clone();
            // A message stored by this process may have its body text waiting already, from
            // the parse that stored it (`Archive::keep_fresh_bodies`).
            let mut contents = futures::stream::iter(ids)
                .map(move |id| {
                    let archive = reader.clone();
                    async move {
                        match archive.take_fresh_body(id) {
                            Some(body) => Ok(Content::Body(body)),
                            None => archive.read_raw(id).await.map(Content::Raw),
                        }
                    }
                })
                .buffered(READS_IN_FLIGHT);
            for record in &records {
                let Some(content) = contents.next().await else {
                    return Err(SearchError::CommitLost(
                        "the batch's contents ended early".into(),
                    ));
                };
                let body = match content {
                    Ok(Content::Body(body)) => body,
                    Ok(Content::Raw(raw)) if record.item.kind == ItemKind::Message => {
                        archive::meta::body_text(&raw)
                    }
                    Ok(Content::Raw(raw)) => String::from_utf8_lossy(&raw).into_owned(),
                    // Unreadable content is still findable by its metadata; the error is logged
                    // rather than stopping the index for everyone.
                    Err(e) => {
                        tracing::warn!(item = record.item.id, error = %e, "indexing without body");
                        String::new()
                    }
                };
                self.add(&writer, record, &body)?;
            }
            let payload = format!("{}:{}", next.seq, next.item_id);
            writer = commit_off_thread(writer, payload).await?;
            total += records.len();
            cursor = next;
            committed += 1;
        }
        if let Some(seq) = removed_up_to.filter(|seq| !more && *seq > cursor.seq) {
            // Every change numbered below the removals has been read above (changes commit in
            // order), so the cursor may pass them.
            let payload = format!("{seq}:{}", i64::MAX);
            writer = commit_off_thread(writer, payload).await?;
        }
        drop(writer);
        let reader = self.view.reader.clone();
        tokio::task::spawn_blocking(move || reader.reload())
            .await
            .map_err(|e| SearchError::CommitLost(e.to_string()))??;
        Ok((total, more))
    }

    /// The shard this index holds.
    pub fn shard(&self) -> Shard {
        self.view.shard
    }

    fn add(
        &self,
        writer: &IndexWriter<MailDocument>,
        record: &IndexRecord,
        body: &str,
    ) -> Result<()> {
        let f = &self.view.fields;
        let item = &record.item;
        writer.delete_term(Term::from_field_u64(f.item_id, item.id as u64));
        let mut doc = MailDocument::default();
        doc.add_u64(f.item_id, item.id as u64);
        doc.add_u64(f.mailbox_id, item.mailbox_id as u64);
        if let Some(folder) = item.folder_id {
            doc.add_u64(f.folder_id, folder as u64);
        }
        doc.add_u64(f.kind, kind_code(item.kind));
        doc.add_text(f.subject, &item.subject);
        doc.add_text(f.from, format!("{} {}", item.sender, item.sender_address));
        for to in &item.to {
            doc.add_text(f.to, to);
        }
        for cc in &item.cc {
            doc.add_text(f.cc, cc);
        }
        // Analysed once for both fields: the pairs come from the body's own tokens.
        let words = tokenizer::analysed(body);
        let pairs = tokenizer::pair_tokens(&words);
        doc.add_tokens(f.body, words);
        doc.add_tokens(f.body_pairs, pairs);
        doc.add_text(
            f.excerpt,
            &body[..floor_char_boundary(body, STORED_BODY_BYTES)],
        );
        doc.add_u64(f.body_bytes, body.len() as u64);
        for a in &item.attachments {
            doc.add_text(f.attachments, &a.name);
        }
        doc.add_i64(f.date, item.date.unix_seconds());
        doc.add_u64(f.size, item.size.max(0) as u64);
        doc.add_u64(f.has_attachment, u64::from(item.has_attachments));
        writer.add_document(doc)?;
        Ok(())
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.view.num_docs()
    }

    /// Every item id in the index, for consistency checks.
    pub fn indexed_item_ids(&self) -> Result<Vec<i64>> {
        self.view.indexed_item_ids()
    }

    pub async fn search(
        &self,
        archive: &Archive,
        request: &SearchRequest,
    ) -> Result<SearchResults> {
        self.view.search(archive, request).await
    }

    /// [`SearchReader::find`]: hits with their records.
    pub async fn find(&self, archive: &Archive, request: &SearchRequest) -> Result<FoundItems> {
        self.view.find(archive, request).await
    }

    /// A reader's view of the document count by query, for tests and diagnostics.
    pub fn count_term(&self, field: &str, value: u64) -> Result<usize> {
        self.view.count_term(field, value)
    }
}

/// Searches run on many threads, and queries and snippets need the mail tokenizer: the same set-up
/// for the writer's index and a reader's.
fn prepare_for_search(index: &mut Index) -> Result<()> {
    // Segments of one query are searched in parallel: a phrase over common words has to
    // check positions in most documents, and that is what sets the tail latency.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(SEARCH_THREADS));
    if threads > 1 {
        index.set_multithread_executor(threads)?;
    }
    index
        .tokenizers()
        .register(TOKENIZER, tokenizer::analyzer());
    index
        .tokenizers()
        .register(PAIRS_TOKENIZER, PairsTokenizer::default());
    Ok(())
}

impl SearchReader {
    /// Opens the index in `dir` as its writer last committed it, without the writer lock. Fails
    /// when there is no index yet, or one of an older schema: creating and rebuilding are the
    /// writer's ([`SearchIndex::open`]). Follows the writer's later commits by itself.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_shard(dir, Shard::WHOLE)
    }

    /// [`SearchReader::open`] for an index of one shard's mailboxes.
    pub fn open_shard(dir: &Path, shard: Shard) -> Result<Self> {
        let missing = || SearchError::Missing(dir.display().to_string());
        if !dir.is_dir() {
            return Err(missing());
        }
        let directory = MmapDirectory::open(dir)?;
        if !Index::exists(&directory).map_err(tantivy::TantivyError::from)? {
            return Err(missing());
        }
        let (schema, fields) = schema();
        let mut index = Index::open(directory)?;
        if index.schema() != schema {
            return Err(SearchError::Outdated(dir.display().to_string()));
        }
        prepare_for_search(&mut index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()?;
        Ok(SearchReader {
            index,
            reader,
            fields,
            shard,
        })
    }

    /// The shard this index holds.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// How far the index has caught up with the store, as recorded in its last commit.
    pub fn indexed_up_to(&self) -> Result<ChangeCursor> {
        let payload = self.index.load_metas()?.payload;
        match payload {
            None => Ok(ChangeCursor::default()),
            Some(p) => parse_payload(&p),
        }
    }

    /// How many store changes the index has not seen yet: what the writer's next catch-up does.
    pub async fn pending_changes(&self, archive: &Archive) -> Result<u64> {
        let count = archive
            .count_shard_changes_since(self.shard, self.indexed_up_to()?)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Sees the writer's latest commit now, rather than when the file watcher notices it.
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Every item id in the index, for consistency checks.
    pub fn indexed_item_ids(&self) -> Result<Vec<i64>> {
        let searcher = self.reader.searcher();
        let mut ids = Vec::new();
        for segment in searcher.segment_readers() {
            let column = segment.fast_fields().u64("item_id")?;
            let alive = segment.alive_bitset();
            for doc in 0..segment.max_doc() {
                if alive.is_some_and(|a| a.is_deleted(doc)) {
                    continue;
                }
                if let Some(id) = column.first(doc) {
                    ids.push(id as i64);
                }
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    pub async fn search(
        &self,
        archive: &Archive,
        request: &SearchRequest,
    ) -> Result<SearchResults> {
        // tantivy reserves room for offset + limit hits up front: an unbounded offset from a
        // request would ask for any amount of memory and abort the process.
        let offset = request.offset.min(MAX_OFFSET);
        self.search_window(archive, request, offset, request.limit.clamp(1, 1000))
            .await
    }

    /// The hits from `offset` to `offset + limit`, whatever the request's own window.
    pub(crate) async fn search_window(
        &self,
        archive: &Archive,
        request: &SearchRequest,
        offset: usize,
        limit: usize,
    ) -> Result<SearchResults> {
        let mut collected = self.collect(archive, request, offset, limit).await?;
        if request.snippets {
            let all: Vec<usize> = (0..collected.hits.len()).collect();
            self.add_snippets(archive, &mut collected, &all).await?;
        }
        Ok(SearchResults {
            total: collected.total,
            hits: collected.hits,
        })
    }

    /// The hits from `offset` to `offset + limit`, without snippets, and what is needed to add
    /// them to some of the hits later: a query over several shards adds them only to the hits
    /// that make the merged page.
    pub(crate) async fn collect(
        &self,
        archive: &Archive,
        request: &SearchRequest,
        offset: usize,
        limit: usize,
    ) -> Result<Collected> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        if request.mailbox_ids.is_empty() {
            return Ok(Collected {
                total: 0,
                hits: Vec::new(),
                addresses: Vec::new(),
                query: Box::new(AllQuery),
                searcher,
            });
        }
        let parsed = parse_query(&request.query)?;
        let user_query = match &parsed {
            Some(clause) => query::build(clause, f, archive, &request.mailbox_ids).await?,
            None => Box::new(AllQuery),
        };
        let scope = TermSetQuery::new(
            request
                .mailbox_ids
                .iter()
                .map(|&m| Term::from_field_u64(f.mailbox_id, m as u64)),
        );
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(scope)), (Occur::Must, user_query)];
        if !request.kinds.is_empty() {
            let kinds = TermSetQuery::new(
                request
                    .kinds
                    .iter()
                    .map(|&k| Term::from_field_u64(f.kind, kind_code(k))),
            );
            clauses.push((Occur::Must, Box::new(kinds)));
        }
        let query = BooleanQuery::new(clauses);

        let top = TopDocs::with_limit(limit).and_offset(offset);
        let (total, docs): (usize, Vec<(Option<f32>, DocAddress)>) = match request.sort {
            SearchSort::Relevance => {
                let (n, d) = searcher.search(&query, &(Count, top))?;
                (n, d.into_iter().map(|(s, a)| (Some(s), a)).collect())
            }
            SearchSort::NewestFirst | SearchSort::OldestFirst => {
                let order = if request.sort == SearchSort::NewestFirst {
                    Order::Desc
                } else {
                    Order::Asc
                };
                let (n, d) = searcher.search(
                    &query,
                    &(Count, top.order_by_fast_field::<i64>("date", order)),
                )?;
                (n, d.into_iter().map(|(_, a)| (None, a)).collect())
            }
        };
        let mut hits = Vec::with_capacity(docs.len());
        let mut addresses = Vec::with_capacity(docs.len());
        for (score, address) in docs {
            let segment = searcher.segment_reader(address.segment_ord);
            let fast = segment.fast_fields();
            hits.push(SearchHit {
                item_id: fast.u64("item_id")?.first(address.doc_id).unwrap_or(0) as i64,
                mailbox_id: fast.u64("mailbox_id")?.first(address.doc_id).unwrap_or(0) as i64,
                date: Timestamp::from_unix_seconds(
                    fast.i64("date")?.first(address.doc_id).unwrap_or(0),
                ),
                score,
                snippet: None,
            });
            addresses.push(address);
        }
        Ok(Collected {
            total,
            hits,
            addresses,
            query: Box::new(query),
            searcher,
        })
    }

    /// Adds snippets to the collected hits at positions `which`.
    pub(crate) async fn add_snippets(
        &self,
        archive: &Archive,
        collected: &mut Collected,
        which: &[usize],
    ) -> Result<()> {
        let f = &self.fields;
        if which.is_empty() {
            return Ok(());
        }
        let mut generator =
            SnippetGenerator::create(&collected.searcher, &*collected.query, f.body)?;
        generator.set_max_num_chars(200);
        let mut body_terms = false;
        collected
            .query
            .query_terms(&mut |term, _| body_terms |= term.field() == f.body);
        for &at in which {
            let (Some(hit), Some(address)) = (collected.hits.get(at), collected.addresses.get(at))
            else {
                continue;
            };
            let stored: TantivyDocument = collected.searcher.doc(*address)?;
            let snippet = self
                .snippet(archive, &generator, body_terms, &stored, hit.item_id)
                .await;
            if let Some(hit) = collected.hits.get_mut(at) {
                hit.snippet = Some(snippet);
            }
        }
        Ok(())
    }

    /// The snippet comes from the excerpt stored in the index. Only when the query has body terms,
    /// none of them is in the excerpt and the excerpt is cut short does it read the content.
    async fn snippet(
        &self,
        archive: &Archive,
        generator: &SnippetGenerator,
        body_terms: bool,
        stored: &TantivyDocument,
        item_id: i64,
    ) -> Snippet {
        let f = &self.fields;
        let excerpt = stored
            .get_first(f.excerpt)
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let body_bytes = stored
            .get_first(f.body_bytes)
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let mut text = Cow::Borrowed(excerpt);
        let mut snippet = generator.snippet(&text);
        if snippet.fragment().is_empty() && body_terms && body_bytes > excerpt.len() as u64 {
            if let Ok(raw) = archive.read_raw(item_id).await {
                text = Cow::Owned(archive::meta::body_text(&raw));
                snippet = generator.snippet(&text);
            }
        }
        let (text, highlights) = if snippet.fragment().is_empty() {
            // The match was in a header: show the start of the body instead.
            let cut = text
                .char_indices()
                .nth(200)
                .map(|(i, _)| i)
                .unwrap_or(text.len());
            (text[..cut].to_owned(), Vec::new())
        } else {
            (
                snippet.fragment().to_owned(),
                snippet
                    .highlighted()
                    .iter()
                    .map(|r| (r.start, r.end))
                    .collect(),
            )
        };
        let html = highlight_html(&text, &highlights);
        Snippet {
            text,
            highlights,
            html,
        }
    }

    /// A reader's view of the document count by query, for tests and diagnostics.
    pub fn count_term(&self, field: &str, value: u64) -> Result<usize> {
        let schema = self.index.schema();
        let field = schema.get_field(field)?;
        let q = TermSetQuery::new([Term::from_field_u64(field, value)]);
        Ok(self.reader.searcher().search(&q, &Count)?)
    }
}

/// The change cursor a commit's payload names: `seq:item_id`.
pub(crate) fn parse_payload(p: &str) -> Result<ChangeCursor> {
    let parsed = p.split_once(':').and_then(|(s, i)| {
        Some(ChangeCursor {
            seq: s.parse().ok()?,
            item_id: i.parse().ok()?,
        })
    });
    parsed.ok_or_else(|| SearchError::BadPayload(p.to_owned()))
}

/// Commits with the cursor as payload. tantivy's commit waits for its indexing threads and
/// syncs files: it runs on a blocking thread, so the async thread (which may serve the portal)
/// keeps moving; the writer comes back for the next batch.
async fn commit_off_thread(
    mut writer: tokio::sync::OwnedMutexGuard<IndexWriter<MailDocument>>,
    payload: String,
) -> Result<tokio::sync::OwnedMutexGuard<IndexWriter<MailDocument>>> {
    tokio::task::spawn_blocking(move || -> Result<_> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        Ok(writer)
    })
    .await
    .map_err(|e| SearchError::CommitLost(e.to_string()))?
}
