//! The index split into shards by mailbox, written by one node each and searched by all.
//!
//! - [`Indexer`] runs on indexer nodes: it takes the write lease of every shard nobody holds,
//!   keeps each one caught up with the store, and (with an object store to share) publishes
//!   every new commit there, fenced by its lease.
//! - [`Follower`] runs on web nodes: it keeps a local read-only copy of each shard written
//!   elsewhere, fetching a shard's files whenever its writer publishes a new generation.
//! - [`ShardedSearch`] is what a request searches: one query fans out over the shards of the
//!   caller's mailboxes and the hits are merged.
//!
//! One shard on one node, without an object store, is the embedded portal: the indexer writes
//! the one index in the data folder and the portal searches it directly.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use archive::{Archive, BlobHash, MailboxId, Shard};

use crate::found::{with_records, FoundItems};
use crate::replica::{local_cursor, IndexFiles};
use crate::shards::{Lease, Manifest, Published, ShardLeases};
use crate::{
    Result, SearchError, SearchHit, SearchIndex, SearchReader, SearchRequest, SearchResults,
    SearchSort, MAX_OFFSET,
};

/// Where a shard's index lives under a base folder: the base itself when there is only one
/// shard (the embedded portal's `index/`, as it always was), `shard-2-of-4/` otherwise.
pub fn shard_dir(base: &Path, shard: Shard) -> PathBuf {
    if shard.of <= 1 {
        base.to_path_buf()
    } else {
        base.join(format!("shard-{}", shard.key()))
    }
}

#[derive(Default)]
struct Slot {
    reader: Option<SearchReader>,
    /// This node's indexer writes the shard: its own index is searched, not a replica.
    written_here: bool,
}

/// Every shard's searchable view on this node.
pub struct ShardedSearch {
    of: u32,
    slots: Vec<RwLock<Slot>>,
}

impl std::fmt::Debug for ShardedSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedSearch")
            .field("shards", &self.of)
            .finish_non_exhaustive()
    }
}

impl ShardedSearch {
    /// A split into `of` shards, none of them searchable yet.
    pub fn new(of: u32) -> Self {
        let of = of.max(1);
        ShardedSearch {
            of,
            slots: (0..of).map(|_| RwLock::new(Slot::default())).collect(),
        }
    }

    /// One index holding every mailbox, searched as it is written: the embedded case.
    pub fn whole(index: &SearchIndex) -> Self {
        let search = ShardedSearch::new(1);
        search.serve_written(Shard::WHOLE, index.reader().clone());
        search
    }

    pub fn shard_count(&self) -> u32 {
        self.of
    }

    fn slot(&self, shard: Shard) -> Option<&RwLock<Slot>> {
        (shard.of == self.of)
            .then(|| self.slots.get(shard.number as usize))
            .flatten()
    }

    /// This node's indexer took the shard: search its own index from now on.
    pub fn serve_written(&self, shard: Shard, reader: SearchReader) {
        if let Some(slot) = self.slot(shard) {
            if let Ok(mut slot) = slot.write() {
                slot.reader = Some(reader);
                slot.written_here = true;
            }
        }
    }

    /// This node's indexer lost the shard. Its last view is searched until a replica of the
    /// new writer's commits replaces it.
    pub fn stop_writing(&self, shard: Shard) {
        if let Some(slot) = self.slot(shard) {
            if let Ok(mut slot) = slot.write() {
                slot.written_here = false;
            }
        }
    }

    /// A replica of a shard written elsewhere; ignored while this node writes the shard.
    pub fn serve_replica(&self, shard: Shard, reader: SearchReader) {
        if let Some(slot) = self.slot(shard) {
            if let Ok(mut slot) = slot.write() {
                if !slot.written_here {
                    slot.reader = Some(reader);
                }
            }
        }
    }

    pub fn written_here(&self, shard: Shard) -> bool {
        self.slot(shard)
            .and_then(|s| s.read().ok().map(|s| s.written_here))
            .unwrap_or(false)
    }

    /// The view searched for a shard, if it has one yet.
    pub fn reader(&self, shard: Shard) -> Option<SearchReader> {
        self.slot(shard)
            .and_then(|s| s.read().ok().and_then(|s| s.reader.clone()))
    }

    /// Every shard's view; fails while a shard has none yet.
    pub fn readers(&self) -> Result<Vec<SearchReader>> {
        Shard::all(self.of)
            .into_iter()
            .map(|shard| self.reader(shard).ok_or_else(|| not_ready(shard)))
            .collect()
    }

    /// Searches the shards of the request's mailboxes and merges their hits. With more than
    /// one shard, relevance scores are each shard's own (term statistics are per shard), so
    /// hits of equal relevance may interleave slightly differently than in one index.
    pub async fn search(
        &self,
        archive: &Archive,
        request: &SearchRequest,
    ) -> Result<SearchResults> {
        let mut groups: BTreeMap<Shard, Vec<MailboxId>> = BTreeMap::new();
        for &mailbox in &request.mailbox_ids {
            groups
                .entry(Shard::of_mailbox(mailbox, self.of))
                .or_default()
                .push(mailbox);
        }
        let mut parts = Vec::with_capacity(groups.len());
        for (shard, mailboxes) in groups {
            let reader = self.reader(shard).ok_or_else(|| not_ready(shard))?;
            let part = SearchRequest {
                mailbox_ids: mailboxes,
                ..request.clone()
            };
            parts.push((reader, part));
        }
        match parts.len() {
            0 => Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
            }),
            1 => {
                let (reader, part) = &parts[0];
                reader.search(archive, part).await
            }
            _ => {
                let offset = request.offset.min(MAX_OFFSET);
                let limit = request.limit.clamp(1, 1000);
                // Each shard on a task of its own, so the shards are searched side by side.
                let mut tasks = Vec::with_capacity(parts.len());
                for (reader, part) in parts {
                    let archive = archive.clone();
                    tasks.push(tokio::spawn(async move {
                        let collected = reader.collect(&archive, &part, 0, offset + limit).await;
                        (reader, collected)
                    }));
                }
                let mut shards = Vec::with_capacity(tasks.len());
                for task in tasks {
                    let (reader, collected) = task
                        .await
                        .map_err(|e| SearchError::ShardLost(e.to_string()))?;
                    shards.push((reader, collected?));
                }
                let total = shards.iter().map(|(_, c)| c.total).sum();
                // Which shard and which of its hits make the page, in the merged order.
                let mut order: Vec<(usize, usize)> = shards
                    .iter()
                    .enumerate()
                    .flat_map(|(s, (_, c))| (0..c.hits.len()).map(move |h| (s, h)))
                    .collect();
                order.sort_by(|&(sa, ha), &(sb, hb)| {
                    compare_hits(&shards[sa].1.hits[ha], &shards[sb].1.hits[hb], request.sort)
                });
                let page: Vec<(usize, usize)> =
                    order.into_iter().skip(offset).take(limit).collect();
                if request.snippets {
                    for (s, (reader, collected)) in shards.iter_mut().enumerate() {
                        let which: Vec<usize> = page
                            .iter()
                            .filter(|(ps, _)| *ps == s)
                            .map(|(_, h)| *h)
                            .collect();
                        reader.add_snippets(archive, collected, &which).await?;
                    }
                }
                let hits = page
                    .into_iter()
                    .map(|(s, h)| shards[s].1.hits[h].clone())
                    .collect();
                Ok(SearchResults { total, hits })
            }
        }
    }

    /// [`ShardedSearch::search`] with the hits' records.
    pub async fn find(&self, archive: &Archive, request: &SearchRequest) -> Result<FoundItems> {
        let results = self.search(archive, request).await?;
        with_records(archive, request, results).await
    }

    /// Every item id in every shard, for consistency checks.
    pub fn indexed_item_ids(&self) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        for reader in self.readers()? {
            ids.extend(reader.indexed_item_ids()?);
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// How many store changes the shards searched here have not seen yet.
    pub async fn pending_changes(&self, archive: &Archive) -> Result<u64> {
        let mut pending = 0;
        for reader in self.readers()? {
            pending += reader.pending_changes(archive).await?;
        }
        Ok(pending)
    }
}

fn not_ready(shard: Shard) -> SearchError {
    SearchError::Missing(format!(
        "search shard {} (not indexed or not fetched yet)",
        shard.key()
    ))
}

/// Hits from several shards in the request's order; ties by newest, then by item id, so the
/// merge is the same on every node.
fn compare_hits(a: &SearchHit, b: &SearchHit, sort: SearchSort) -> std::cmp::Ordering {
    let by_date = b.date.cmp(&a.date).then(b.item_id.cmp(&a.item_id));
    match sort {
        SearchSort::Relevance => b
            .score
            .unwrap_or(0.0)
            .total_cmp(&a.score.unwrap_or(0.0))
            .then(by_date),
        SearchSort::NewestFirst => by_date,
        SearchSort::OldestFirst => a.date.cmp(&b.date).then(a.item_id.cmp(&b.item_id)),
    }
}

/// How an indexer node runs.
#[derive(Debug, Clone)]
pub struct IndexerOptions {
    /// This node's name in leases: unique per process.
    pub node: String,
    /// The folder its shards' indexes are written in.
    pub dir: PathBuf,
    pub shards: u32,
    /// The writers' memory, shared among the shards this node writes.
    pub writer_memory_bytes: usize,
    pub lease: Duration,
    /// The pause between rounds when there is nothing to do.
    pub interval: Duration,
    /// Where commits are published for the other nodes; `None` on a node that is alone.
    pub publish: Option<IndexFiles>,
    /// How long a chunk no publish names any more stays in the store, so that a node still
    /// fetching the generation before can finish.
    pub retired_grace: Duration,
}

/// How much stored mail's body text may wait for the indexer (`Archive::keep_fresh_bodies`):
/// some seconds of a fast sync; beyond it the indexer reads the store as before.
const FRESH_BODIES_BYTES: usize = 64 * 1024 * 1024;

/// The usual [`IndexerOptions::retired_grace`].
pub const RETIRED_GRACE: Duration = Duration::from_secs(600);

struct Held {
    index: SearchIndex,
    /// `None` on a node that publishes nothing: its index is its own (the data folder's lock
    /// keeps a second process out), so no other node's writer can be in the way.
    lease: Option<Lease>,
    published: Option<Manifest>,
    renewed: std::time::Instant,
}

/// Writes the shards this node holds the lease of.
pub struct Indexer {
    options: IndexerOptions,
    leases: ShardLeases,
    archive: Archive,
    search: Arc<ShardedSearch>,
    held: BTreeMap<Shard, Held>,
}

impl Indexer {
    pub fn new(
        options: IndexerOptions,
        leases: ShardLeases,
        archive: Archive,
        search: Arc<ShardedSearch>,
    ) -> Self {
        // A node that publishes nothing is alone and writes every shard, so it takes every
        // body text the writers of this process hand over. Where shards are spread over
        // nodes, the texts of the shards written elsewhere would only wait here for nobody.
        if options.publish.is_none() {
            archive.keep_fresh_bodies(FRESH_BODIES_BYTES);
        }
        Indexer {
            options,
            leases,
            archive,
            search,
            held: BTreeMap::new(),
        }
    }

    /// The shards this node writes now.
    pub fn held(&self) -> Vec<Shard> {
        self.held.keys().copied().collect()
    }

    /// One round: takes the shards nobody holds, then catches each held one up and publishes
    /// what changed. Returns how many items were indexed and whether work is left.
    pub async fn step(&mut self) -> Result<(usize, bool)> {
        for shard in Shard::all(self.options.shards) {
            if !self.held.contains_key(&shard) {
                if let Err(e) = self.take(shard).await {
                    tracing::warn!(shard = %shard.key(), error = %e, "cannot take the search shard");
                }
            }
        }
        let mut total = 0;
        let mut more = false;
        let mut first_error = None;
        for shard in self.held() {
            let started = std::time::Instant::now();
            let worked = self.work(shard).await;
            tracing::debug!(
                shard = %shard.key(),
                ms = started.elapsed().as_millis() as u64,
                "search shard round"
            );
            match worked {
                Ok((count, left)) => {
                    total += count;
                    more |= left;
                }
                Err(e) => {
                    tracing::error!(shard = %shard.key(), error = %e, "indexing failed; retrying");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if total == 0 => Err(e),
            _ => Ok((total, more)),
        }
    }

    /// Runs rounds until `stop` turns true, then gives the leases up.
    pub async fn run(mut self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let busy = match self.step().await {
                Ok((0, false)) => false,
                Ok((count, more)) => {
                    if count > 0 {
                        tracing::info!(count, "indexed new archive items");
                    }
                    more
                }
                Err(_) => false,
            };
            if *stop.borrow() {
                break;
            }
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.options.interval) => {}
                    _ = stop.changed() => {}
                }
            }
            if *stop.borrow() {
                break;
            }
        }
        self.release_all().await;
    }

    /// Gives every lease up, so another node takes the shards at once.
    pub async fn release_all(&mut self) {
        for (shard, held) in std::mem::take(&mut self.held) {
            self.search.stop_writing(shard);
            let Some(lease) = &held.lease else { continue };
            if let Err(e) = self.leases.release(lease).await {
                tracing::warn!(shard = %shard.key(), error = %e, "search shard lease not released");
            }
        }
    }

    async fn take(&mut self, shard: Shard) -> Result<()> {
        let o = &self.options;
        // Without an object store nothing is shared: this node indexes every shard for itself,
        // and a restart after a crash goes on at once instead of waiting out its own lease.
        let (lease, published) = match &o.publish {
            None => (None, Published::default()),
            Some(_) => match self.leases.acquire(shard, &o.node, o.lease).await? {
                Some((lease, published)) => (Some(lease), published),
                None => return Ok(()),
            },
        };
        let index = match self.open_for_writing(shard, &published).await {
            Ok(index) => index,
            Err(e) => {
                // Let the next round (here or on another node) try again at once.
                if let Some(lease) = &lease {
                    let _ = self.leases.release(lease).await;
                }
                return Err(e);
            }
        };
        self.search.serve_written(shard, index.reader().clone());
        tracing::info!(
            shard = %shard.key(),
            token = lease.as_ref().map_or(0, |l| l.token),
            "writing the search shard"
        );
        self.held.insert(
            shard,
            Held {
                index,
                lease,
                published: published.manifest,
                renewed: std::time::Instant::now(),
            },
        );
        Ok(())
    }

    /// The shard's index in this node's folder, brought up to the published commit first when
    /// that is further on.
    async fn open_for_writing(&self, shard: Shard, published: &Published) -> Result<SearchIndex> {
        let o = &self.options;
        let dir = shard_dir(&o.dir, shard);
        if let (Some(files), Some(manifest)) = (&o.publish, &published.manifest) {
            // Any committed local copy is a valid start (the catch-up goes on from its own
            // cursor); a published one further ahead saves work, and a lost one is refetched.
            let local = local_cursor(&dir).unwrap_or(None);
            if local.is_none_or(|c| manifest.cursor().is_ok_and(|p| c < p)) {
                files.download(shard, manifest, &dir).await?;
            }
        }
        let memory = o.writer_memory_bytes / o.shards.max(1) as usize;
        SearchIndex::open_shard(&dir, memory, shard)
    }

    fn lost(&mut self, shard: Shard) {
        self.held.remove(&shard);
        self.search.stop_writing(shard);
        tracing::warn!(shard = %shard.key(), "the search shard's lease passed to another node");
    }

    /// Renews every held lease a third of its period old: every shard stays this node's
    /// however long one shard's round takes.
    async fn renew_due(&mut self) {
        let period = self.options.lease;
        let due: Vec<(Shard, Lease)> = self
            .held
            .iter()
            .filter(|(_, h)| h.renewed.elapsed() >= period / 3)
            .filter_map(|(s, h)| Some((*s, h.lease.clone()?)))
            .collect();
        for (shard, lease) in due {
            let renewed_at = std::time::Instant::now();
            match self.leases.renew(&lease, period).await {
                Ok(true) => {
                    if let Some(held) = self.held.get_mut(&shard) {
                        held.renewed = renewed_at;
                    }
                }
                Ok(false) => self.lost(shard),
                // The database is away: nothing can be published either; the next round tries
                // again, and the lease may lapse meanwhile (then another node takes over).
                Err(e) => {
                    tracing::warn!(shard = %shard.key(), error = %e, "search shard lease not renewed")
                }
            }
        }
    }

    async fn work(&mut self, shard: Shard) -> Result<(usize, bool)> {
        let period = self.options.lease;
        let Some(lease) = self.held.get(&shard).map(|h| h.lease.clone()) else {
            return Ok((0, false));
        };
        // One commit at a time, the leases renewed in between, for at most a third of the
        // lease period: then this shard is published and the others get their turn.
        let started = std::time::Instant::now();
        let (mut count, mut more) = (0, true);
        while more && started.elapsed() < period / 3 {
            self.renew_due().await;
            let Some(held) = self.held.get(&shard) else {
                return Ok((count, false));
            };
            let (indexed, left) = held.index.catch_up_some(&self.archive, 1).await?;
            count += indexed;
            more = left;
        }
        let (Some(files), Some(lease)) = (self.options.publish.clone(), lease) else {
            return Ok((count, more));
        };
        let previous = self.held.get(&shard).and_then(|h| h.published.clone());
        let dir = shard_dir(&self.options.dir, shard);
        let meta_path = dir.join("meta.json");
        let meta = tokio::fs::read_to_string(&meta_path)
            .await
            .map_err(|source| SearchError::Io {
                path: meta_path.display().to_string(),
                source,
            })?;
        if previous.as_ref().is_some_and(|m| m.meta == meta) {
            return Ok((count, more));
        }
        let manifest = files
            .upload(shard, &dir, previous.as_ref(), &self.leases)
            .await?;
        let Some(generation) = self.leases.publish(&lease, &manifest, period).await? else {
            self.lost(shard);
            return Ok((count, more));
        };
        tracing::debug!(shard = %shard.key(), generation, "published the search shard");
        // Published: whatever happens to the clean-up below, the next round starts from here.
        let kept: HashSet<String> = manifest.chunks().map(str::to_owned).collect();
        if let Some(held) = self.held.get_mut(&shard) {
            held.published = Some(manifest);
        }
        if let Some(previous) = &previous {
            let gone: Vec<String> = previous
                .chunks()
                .filter(|c| !kept.contains(*c))
                .map(str::to_owned)
                .collect();
            self.leases.retire(shard, &gone).await?;
        }
        let grace = self.options.retired_grace;
        for chunk in self.leases.retired_before(shard, grace).await? {
            if !kept.contains(&chunk) {
                if let Ok(hash) = BlobHash::parse(&chunk) {
                    files
                        .blobs()
                        .backend()
                        .delete(&hash)
                        .await
                        .map_err(archive::ArchiveError::from)?;
                }
            }
            self.leases.forget_retired(shard, &chunk).await?;
        }
        Ok((count, more))
    }
}

/// Keeps this node's read-only copies of the shards written elsewhere.
pub struct Follower {
    leases: ShardLeases,
    files: IndexFiles,
    dir: PathBuf,
    search: Arc<ShardedSearch>,
    copies: BTreeMap<Shard, (i64, SearchReader)>,
}

impl Follower {
    /// Copies go under `dir` (one folder per shard).
    pub fn new(
        leases: ShardLeases,
        files: IndexFiles,
        dir: PathBuf,
        search: Arc<ShardedSearch>,
    ) -> Self {
        Follower {
            leases,
            files,
            dir,
            search,
            copies: BTreeMap::new(),
        }
    }

    /// Fetches every shard that has a newer publish than this node's copy. Returns how many
    /// shards were refreshed.
    pub async fn step(&mut self) -> Result<usize> {
        let mut refreshed = 0;
        let mut first_error = None;
        for shard in Shard::all(self.search.shard_count()) {
            if self.search.written_here(shard) {
                continue;
            }
            match self.refresh(shard).await {
                Ok(true) => refreshed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(shard = %shard.key(), error = %e, "cannot fetch the search shard");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(refreshed),
        }
    }

    async fn refresh(&mut self, shard: Shard) -> Result<bool> {
        let generation = self.leases.generation(shard).await?;
        let dir = shard_dir(&self.dir, shard);
        // A copy whose folder was lost is fetched again.
        if !dir.join("meta.json").exists() {
            self.copies.remove(&shard);
        }
        let current = self.copies.get(&shard).map(|(g, _)| *g);
        if generation == 0 || current == Some(generation) {
            // Serve the copy (again): this node's writer may have had the slot meanwhile and
            // lost the shard, and the published commit is the one that counts now.
            if let Some((_, reader)) = self.copies.get(&shard) {
                self.search.serve_replica(shard, reader.clone());
            }
            return Ok(false);
        }
        let published = self.leases.published(shard).await?;
        let Some(manifest) = published.manifest else {
            return Ok(false);
        };
        self.files.download(shard, &manifest, &dir).await?;
        let reader = match self.copies.remove(&shard) {
            Some((_, reader)) => {
                reader.reload()?;
                reader
            }
            None => SearchReader::open_shard(&dir, shard)?,
        };
        self.search.serve_replica(shard, reader.clone());
        self.copies.insert(shard, (published.generation, reader));
        Ok(true)
    }

    /// Runs rounds every `interval` until `stop` turns true.
    pub async fn run(mut self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let _ = self.step().await;
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    }
}
