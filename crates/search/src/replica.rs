//! Shipping a shard's committed files through the object store, and bringing them back.
//!
//! tantivy's segment files are written once and never changed (a delete adds a new `.del` file
//! under a new name), so a publish uploads only the files the previous publish did not name.
//! Files go up in chunks of [`CHUNK_BYTES`], each a blob of the index's own blob store: sealed
//! (compressed, and encrypted when the archive is) like mail, and read back through the same
//! integrity check. No file is ever held in memory whole. Each chunk starts with a line naming
//! its shard, file and place, so no two chunks anywhere share an address: a chunk one shard
//! retires can be deleted without asking whether another shard's file holds the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use archive::{BlobHash, Blobs, ChangeCursor, Shard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::shards::{cursor_of_meta, Manifest, ShardLeases, StoredFile};
use crate::{Result, SearchError};

/// The size of one stored piece of an index file.
pub const CHUNK_BYTES: usize = 8 * 1024 * 1024;

const META: &str = "meta.json";
/// tantivy's list of the files it created in a directory; the ones a newer commit no longer
/// needs are deleted from it. Files brought in from the store are added, so that a writer
/// that opens a fetched copy also cleans up after its merges.
const MANAGED: &str = ".managed.json";

fn io(path: &Path, source: std::io::Error) -> SearchError {
    SearchError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// How far the index in `dir` has caught up, without opening it; `None` without an index.
pub fn local_cursor(dir: &Path) -> Result<Option<ChangeCursor>> {
    let path = dir.join(META);
    match std::fs::read_to_string(&path) {
        Ok(meta) => cursor_of_meta(&meta).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path, e)),
    }
}

/// The files of `dir` that the commit in `meta` needs: every component of each of its segments,
/// and the one delete file of the commit's opstamp.
fn files_of(dir: &Path, meta: &str) -> Result<BTreeSet<String>> {
    let value: serde_json::Value =
        serde_json::from_str(meta).map_err(|e| SearchError::BadManifest(e.to_string()))?;
    let segments = value
        .get("segments")
        .and_then(|s| s.as_array())
        .ok_or_else(|| SearchError::BadManifest("meta.json has no segments".into()))?;
    let mut wanted_del = BTreeSet::new();
    let mut prefixes = BTreeSet::new();
    for segment in segments {
        let id = segment
            .get("segment_id")
            .and_then(|s| s.as_str())
            .ok_or_else(|| SearchError::BadManifest("a segment without an id".into()))?
            .replace('-', "");
        if let Some(opstamp) = segment
            .get("deletes")
            .and_then(|d| d.get("opstamp"))
            .and_then(|o| o.as_u64())
        {
            wanted_del.insert(format!("{id}.{opstamp}.del"));
        }
        prefixes.insert(format!("{id}."));
    }
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let entry = entry.map_err(|e| io(dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(prefix) = name.get(..33) else {
            continue;
        };
        if !prefixes.contains(prefix) {
            continue;
        }
        if name.ends_with(".del") {
            if wanted_del.contains(&name) {
                files.insert(name);
            }
        } else {
            files.insert(name);
        }
    }
    Ok(files)
}

/// The object store of the index's files.
#[derive(Debug, Clone)]
pub struct IndexFiles {
    blobs: Blobs,
}

/// A file named in `meta.json` vanished before it was read: a merge finished meanwhile and
/// tantivy removed the segments it replaced. The newer `meta.json` is read again.
struct Vanished;

impl IndexFiles {
    pub fn new(blobs: Blobs) -> Self {
        IndexFiles { blobs }
    }

    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    /// Uploads the commit in `dir` (files already named by `previous` are not read again) and
    /// returns its manifest. Each chunk is noted in `leases` before it goes up, so that a
    /// writer dying before its publish leaves nothing that no one would delete.
    pub async fn upload(
        &self,
        shard: Shard,
        dir: &Path,
        previous: Option<&Manifest>,
        leases: &ShardLeases,
    ) -> Result<Manifest> {
        let mut attempts = 0;
        'attempt: loop {
            attempts += 1;
            let meta_path = dir.join(META);
            let meta = tokio::fs::read_to_string(&meta_path)
                .await
                .map_err(|e| io(&meta_path, e))?;
            let names = files_of(dir, &meta)?;
            let mut files = BTreeMap::new();
            for name in names {
                if let Some(known) = previous.and_then(|p| p.files.get(&name)) {
                    files.insert(name, known.clone());
                    continue;
                }
                match self
                    .put_file(shard, &name, &dir.join(&name), leases)
                    .await?
                {
                    Ok(stored) => {
                        files.insert(name, stored);
                    }
                    Err(Vanished) if attempts < 10 => continue 'attempt,
                    Err(Vanished) => {
                        return Err(SearchError::BadManifest(format!(
                            "{name} kept vanishing while the shard was published"
                        )))
                    }
                }
            }
            return Ok(Manifest { meta, files });
        }
    }

    async fn put_file(
        &self,
        shard: Shard,
        name: &str,
        path: &Path,
        leases: &ShardLeases,
    ) -> Result<std::result::Result<StoredFile, Vanished>> {
        let mut file = match tokio::fs::File::open(path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Err(Vanished)),
            Err(e) => return Err(io(path, e)),
        };
        let mut chunks = Vec::new();
        let mut len = 0u64;
        let mut buffer = vec![0u8; CHUNK_BYTES];
        loop {
            let mut filled = 0;
            while filled < CHUNK_BYTES {
                let n = file
                    .read(&mut buffer[filled..])
                    .await
                    .map_err(|e| io(path, e))?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 && !chunks.is_empty() {
                break;
            }
            let label = chunk_label(shard, name, chunks.len());
            let mut piece = Vec::with_capacity(label.len() + filled);
            piece.extend_from_slice(label.as_bytes());
            piece.extend_from_slice(&buffer[..filled]);
            leases
                .note_unpublished(shard, BlobHash::of(&piece).as_str())
                .await?;
            let hash = self
                .blobs
                .put(&piece)
                .await
                .map_err(archive::ArchiveError::from)?;
            chunks.push(hash.as_str().to_owned());
            len += filled as u64;
            if filled < CHUNK_BYTES {
                break;
            }
        }
        Ok(Ok(StoredFile { len, chunks }))
    }

    /// Makes `dir` hold the commit of `manifest`: fetches the files it lacks, then replaces
    /// `meta.json` (so a reader never sees a meta naming a file not there yet), then removes
    /// the files no longer named.
    pub async fn download(&self, shard: Shard, manifest: &Manifest, dir: &Path) -> Result<()> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io(dir, e))?;
        for (name, stored) in &manifest.files {
            let path = dir.join(name);
            if tokio::fs::metadata(&path)
                .await
                .is_ok_and(|m| m.len() == stored.len)
            {
                continue;
            }
            self.fetch_file(shard, name, stored, &path).await?;
        }
        let mut managed: Vec<&str> = manifest.files.keys().map(String::as_str).collect();
        managed.push(META);
        let managed_json =
            serde_json::to_string(&managed).map_err(|e| SearchError::BadManifest(e.to_string()))?;
        write_atomically(&dir.join(MANAGED), managed_json.as_bytes()).await?;
        write_atomically(&dir.join(META), manifest.meta.as_bytes()).await?;
        let mut entries = tokio::fs::read_dir(dir).await.map_err(|e| io(dir, e))?;
        while let Some(entry) = entries.next_entry().await.map_err(|e| io(dir, e))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = name == META
                || name == MANAGED
                || name.ends_with(".lock")
                || manifest.files.contains_key(&name);
            if !keep && entry.file_type().await.is_ok_and(|t| t.is_file()) {
                // A searcher may still have the old file mapped; Unix keeps it readable.
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        Ok(())
    }

    async fn fetch_file(
        &self,
        shard: Shard,
        name: &str,
        stored: &StoredFile,
        path: &Path,
    ) -> Result<()> {
        let partial = PathBuf::from(format!("{}.part", path.display()));
        let mut out = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| io(&partial, e))?;
        let mut len = 0u64;
        for (place, chunk) in stored.chunks.iter().enumerate() {
            let hash = BlobHash::parse(chunk).map_err(archive::ArchiveError::from)?;
            let piece = self
                .blobs
                .get(&hash)
                .await
                .map_err(archive::ArchiveError::from)?;
            let label = chunk_label(shard, name, place);
            let Some(bytes) = piece.strip_prefix(label.as_bytes()) else {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(SearchError::BadManifest(format!(
                    "chunk {chunk} is not part {place} of {name} in shard {}",
                    shard.key()
                )));
            };
            len += bytes.len() as u64;
            out.write_all(bytes).await.map_err(|e| io(&partial, e))?;
        }
        if len != stored.len {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(SearchError::BadManifest(format!(
                "{} came back with {len} bytes instead of {}",
                path.display(),
                stored.len
            )));
        }
        out.sync_all().await.map_err(|e| io(&partial, e))?;
        drop(out);
        tokio::fs::rename(&partial, path)
            .await
            .map_err(|e| io(path, e))
    }
}

/// The line a stored chunk starts with.
fn chunk_label(shard: Shard, name: &str, place: usize) -> String {
    format!("{}/{name}/{place}\n", shard.key())
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let partial = PathBuf::from(format!("{}.part", path.display()));
    let mut out = tokio::fs::File::create(&partial)
        .await
        .map_err(|e| io(&partial, e))?;
    out.write_all(bytes).await.map_err(|e| io(&partial, e))?;
    out.sync_all().await.map_err(|e| io(&partial, e))?;
    drop(out);
    tokio::fs::rename(&partial, path)
        .await
        .map_err(|e| io(path, e))
}
