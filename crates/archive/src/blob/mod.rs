//! Content-addressed raw content. The address is the BLAKE3 of the raw bytes; what is stored is
//! `SRB1` + mode byte + (nonce) + zstd(raw), AES-256-GCM sealed when a key is configured, or,
//! when the compressed content is larger than one segment, the same in sealed segments (`SRB2`,
//! [`segments`]) so that it can be read as a stream. Backends only keep opaque bytes under an
//! address, so an S3 backend implements [`BlobStore`] alone.

mod segments;

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use segments::{Opener, Step};

const MAGIC: &[u8; 4] = b"SRB1";
const MODE_PLAIN: u8 = 0;
const MODE_AES256GCM: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} is missing")]
    Missing(String),
    #[error("blob {hash} is unreadable: {reason}")]
    Corrupt { hash: String, reason: String },
    #[error("blob {0} is encrypted and no key is configured")]
    KeyRequired(String),
    #[error("invalid blob address `{0}`")]
    BadHash(String),
    #[error("blob store I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("blob store task failed: {0}")]
    Task(String),
    /// A remote store (S3) refused or did not answer, after its retries.
    #[error("{what}: {reason}")]
    Remote { what: String, reason: String },
}

fn io_err(path: &Path, source: std::io::Error) -> BlobError {
    BlobError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// BLAKE3 of the raw bytes, as 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobHash(String);

impl BlobHash {
    pub fn of(raw: &[u8]) -> Self {
        BlobHash(blake3::hash(raw).to_hex().to_string())
    }

    pub fn parse(hex: &str) -> Result<Self, BlobError> {
        if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(BlobHash(hex.to_owned()))
        } else {
            Err(BlobError::BadHash(hex.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.0)
    }
}

/// Bytes as they arrive; an error ends the stream.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BlobError>> + Send>>;

/// How much of a local file one read step takes.
const READ_CHUNK: usize = 64 * 1024;

/// Where sealed blobs live. `put_many` returns only once every blob is durable, because the
/// store writes item records pointing at them right after.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Checks that the store answers and may be read (a remote store's address and
    /// credentials): one line at start instead of a failure at the first archived message.
    async fn check(&self) -> Result<(), BlobError> {
        Ok(())
    }

    async fn put_many(&self, blobs: Vec<(BlobHash, Vec<u8>)>) -> Result<(), BlobError>;
    async fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError>;

    /// The sealed bytes as they arrive. A missing blob is an error here, before any byte.
    /// Backends that can read part of a blob override it; this one reads it whole.
    async fn get_stream(&self, hash: &BlobHash) -> Result<ByteStream, BlobError> {
        let sealed = self.get(hash).await?;
        Ok(Box::pin(futures_util::stream::once(async move {
            Ok(Bytes::from(sealed))
        })))
    }

    async fn contains(&self, hash: &BlobHash) -> Result<bool, BlobError>;

    /// Removes a blob; a blob already gone is not an error. Only retention calls it, under the
    /// archive's write lock, for blobs no record points at any more.
    async fn delete(&self, hash: &BlobHash) -> Result<(), BlobError>;

    /// `contains` for many addresses at once, in input order. Backends override it when one call
    /// is cheaper than many.
    async fn contains_many(&self, hashes: &[BlobHash]) -> Result<Vec<bool>, BlobError> {
        let mut found = Vec::with_capacity(hashes.len());
        for hash in hashes {
            found.push(self.contains(hash).await?);
        }
        Ok(found)
    }
}

/// Blobs in a local folder: `objects/ab/abcdef...`, written to `tmp/` first, fsynced, renamed.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        for dir in [root.join("objects"), root.join("tmp")] {
            fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        }
        Ok(LocalBlobStore { root })
    }

    pub fn path_of(&self, hash: &BlobHash) -> PathBuf {
        object_path(&self.root, hash)
    }
}

fn object_path(root: &Path, hash: &BlobHash) -> PathBuf {
    root.join("objects").join(&hash.0[..2]).join(&hash.0)
}

/// At most this many threads wait on fsync at once for one batch. A flush is mostly waiting on
/// the device, and concurrent ones are merged by the block layer, so a batch costs a few device
/// flushes instead of one per blob and one per directory.
const SYNC_THREADS: usize = 8;

/// Writes every blob not stored yet, and returns once all of them are durable under their final
/// names: all temp files are written, then fsynced (concurrently), then renamed into place, then
/// the touched directories are fsynced (concurrently). A crash at any point leaves either no
/// object or a complete one; leftovers in `tmp/` are never read.
fn write_durably(root: &Path, blobs: Vec<(BlobHash, Vec<u8>)>) -> Result<(), BlobError> {
    let mut staged = Vec::with_capacity(blobs.len());
    for (hash, bytes) in blobs {
        let target = object_path(root, &hash);
        if target.exists() {
            continue;
        }
        // A unique temp name: two writers of the same blob must not write into one file.
        let tmp = root.join("tmp").join(format!(
            "{}.{}.{}",
            hash.0,
            std::process::id(),
            TMP_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let mut file = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        file.write_all(&bytes).map_err(|e| io_err(&tmp, e))?;
        staged.push((tmp, target, file));
    }
    if staged.is_empty() {
        return Ok(());
    }
    // Every blob is complete on disk before any of them gets its final name.
    sync_concurrently(staged.iter().map(|(tmp, _, file)| (tmp.as_path(), file)))?;
    let mut dirs = BTreeSet::new();
    for (tmp, target, file) in staged {
        drop(file);
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        if !dirs.contains(&dir) {
            fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        }
        fs::rename(&tmp, &target).map_err(|e| io_err(&target, e))?;
        dirs.insert(dir);
    }
    // The renames are durable only once their directories are.
    let dirs = dirs
        .into_iter()
        .map(|dir| {
            File::open(&dir)
                .map(|d| (dir.clone(), d))
                .map_err(|e| io_err(&dir, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    sync_concurrently(dirs.iter().map(|(dir, d)| (dir.as_path(), d)))
}

/// fsyncs every file, on up to [`SYNC_THREADS`] threads; returns the first error, if any, once
/// all are done.
fn sync_concurrently<'a>(
    files: impl Iterator<Item = (&'a Path, &'a File)>,
) -> Result<(), BlobError> {
    let files: Vec<(&Path, &File)> = files.collect();
    let sync = |chunk: &[(&Path, &File)]| -> Result<(), BlobError> {
        for (path, file) in chunk {
            file.sync_all().map_err(|e| io_err(path, e))?;
        }
        Ok(())
    };
    if files.len() <= 1 {
        return sync(&files);
    }
    let per_thread = files.len().div_ceil(SYNC_THREADS);
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || sync(chunk)))
            .collect();
        let mut result = Ok(());
        for worker in workers {
            let outcome = worker
                .join()
                .unwrap_or_else(|_| Err(BlobError::Task("fsync thread panicked".into())));
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    })
}

static TMP_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn task_err(e: tokio::task::JoinError) -> BlobError {
    BlobError::Task(e.to_string())
}

#[async_trait::async_trait]
impl BlobStore for LocalBlobStore {
    async fn put_many(&self, blobs: Vec<(BlobHash, Vec<u8>)>) -> Result<(), BlobError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || write_durably(&root, blobs))
            .await
            .map_err(task_err)?
    }

    async fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(hash);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BlobError::Missing(hash.0.clone()))
            }
            Err(e) => Err(io_err(&path, e)),
        }
    }

    async fn get_stream(&self, hash: &BlobHash) -> Result<ByteStream, BlobError> {
        use tokio::io::AsyncReadExt;
        let path = self.path_of(hash);
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlobError::Missing(hash.0.clone()))
            }
            Err(e) => return Err(io_err(&path, e)),
        };
        Ok(Box::pin(futures_util::stream::try_unfold(
            (file, path),
            |(mut file, path)| async move {
                let mut chunk = vec![0u8; READ_CHUNK];
                let read = file.read(&mut chunk).await.map_err(|e| io_err(&path, e))?;
                if read == 0 {
                    return Ok(None);
                }
                chunk.truncate(read);
                Ok(Some((Bytes::from(chunk), (file, path))))
            },
        )))
    }

    async fn contains(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        let path = self.path_of(hash);
        tokio::fs::try_exists(&path)
            .await
            .map_err(|e| io_err(&path, e))
    }

    async fn delete(&self, hash: &BlobHash) -> Result<(), BlobError> {
        let path = self.path_of(hash);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    async fn contains_many(&self, hashes: &[BlobHash]) -> Result<Vec<bool>, BlobError> {
        let paths: Vec<PathBuf> = hashes.iter().map(|h| self.path_of(h)).collect();
        tokio::task::spawn_blocking(move || {
            paths
                .iter()
                .map(|p| p.try_exists().map_err(|e| io_err(p, e)))
                .collect()
        })
        .await
        .map_err(task_err)?
    }
}

thread_local! {
    /// One zstd context per thread, reused: creating one costs about as much as compressing a
    /// small message.
    static COMPRESSOR: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { std::cell::RefCell::new(None) };
}

/// zstd's fastest (negative) level: for content that will not shrink.
const FASTEST_LEVEL: i32 = -7;

fn compress(raw: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(l, _)| *l != level) {
            *cell = Some((level, zstd::bulk::Compressor::new(level)?));
        }
        match cell.as_mut() {
            Some((_, compressor)) => compressor.compress(raw),
            None => zstd::bulk::compress(raw, level),
        }
    })
}

/// A 256-bit key for encryption at rest.
#[derive(Clone)]
pub struct BlobKey([u8; 32]);

impl BlobKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        BlobKey(bytes)
    }
}

impl fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlobKey(..)")
    }
}

/// The archive's view of blobs: raw bytes in, raw bytes out; compression, encryption and
/// integrity checks in between.
#[derive(Clone)]
pub struct Blobs {
    backend: Arc<dyn BlobStore>,
    cipher: Option<Arc<Aes256Gcm>>,
    zstd_level: i32,
}

impl fmt::Debug for Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blobs")
            .field("encrypted", &self.cipher.is_some())
            .field("zstd_level", &self.zstd_level)
            .finish()
    }
}

impl Blobs {
    pub fn new(backend: Arc<dyn BlobStore>, key: Option<BlobKey>) -> Self {
        let cipher = key.map(|k| Arc::new(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&k.0))));
        Blobs {
            backend,
            cipher,
            zstd_level: 3,
        }
    }

    pub fn local(root: impl Into<PathBuf>, key: Option<BlobKey>) -> Result<Self, BlobError> {
        Ok(Self::new(Arc::new(LocalBlobStore::open(root)?), key))
    }

    pub fn backend(&self) -> &Arc<dyn BlobStore> {
        &self.backend
    }

    /// Stores every raw content not stored yet; returns their addresses in input order.
    /// Durable on return.
    pub async fn put_many(&self, raws: &[&[u8]]) -> Result<Vec<BlobHash>, BlobError> {
        self.put_many_at(raws, self.zstd_level).await
    }

    /// Stores content that is compressed already (an export's zip): zstd at its fastest level,
    /// which keeps incompressible blocks as they are instead of working to shrink them. The
    /// sealed form is the same, so it reads back like any other blob.
    pub async fn put_compressed(&self, raw: &[u8]) -> Result<BlobHash, BlobError> {
        let mut hashes = self.put_many_at(&[raw], FASTEST_LEVEL).await?;
        hashes
            .pop()
            .ok_or_else(|| BlobError::Task("no hash returned".into()))
    }

    async fn put_many_at(&self, raws: &[&[u8]], level: i32) -> Result<Vec<BlobHash>, BlobError> {
        let hashes: Vec<BlobHash> = raws.iter().map(|raw| BlobHash::of(raw)).collect();
        let stored = self.backend.contains_many(&hashes).await?;
        let mut sealed = Vec::new();
        let mut seen = BTreeSet::new();
        for ((raw, hash), stored) in raws.iter().zip(&hashes).zip(stored) {
            if !stored && seen.insert(hash) {
                sealed.push((hash.clone(), self.seal(hash, raw, level)?));
            }
        }
        if !sealed.is_empty() {
            self.backend.put_many(sealed).await?;
        }
        Ok(hashes)
    }

    pub async fn put(&self, raw: &[u8]) -> Result<BlobHash, BlobError> {
        let mut hashes = self.put_many(&[raw]).await?;
        hashes
            .pop()
            .ok_or_else(|| BlobError::Task("no hash returned".into()))
    }

    pub async fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let sealed = self.backend.get(hash).await?;
        self.open(hash, sealed)
    }

    /// The raw content as it is read and checked, a segment at a time, so a large blob never
    /// sits in memory whole. Encrypted content is authenticated segment by segment before it is
    /// handed out; the address is checked at the end, and a mismatch ends the stream with an
    /// error (so a download breaks instead of completing). A blob sealed whole (`SRB1`, small
    /// or stored before segments existed) is read whole and handed out at once.
    pub async fn get_stream(&self, hash: &BlobHash) -> Result<ByteStream, BlobError> {
        let source = self.backend.get_stream(hash).await?;
        let opener = Opener::new(hash.clone(), self.cipher.clone());
        Ok(Box::pin(futures_util::stream::try_unfold(
            (opener, source),
            |(mut opener, mut source)| async move {
                loop {
                    match opener.step()? {
                        Step::Output(bytes) => return Ok(Some((bytes, (opener, source)))),
                        Step::Done => return Ok(None),
                        Step::NeedInput => match source.next().await {
                            Some(chunk) => opener.feed(&chunk?),
                            None => opener.end_input(),
                        },
                    }
                }
            },
        )))
    }

    pub async fn contains(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        self.backend.contains(hash).await
    }

    pub(crate) async fn delete(&self, hash: &BlobHash) -> Result<(), BlobError> {
        self.backend.delete(hash).await
    }

    /// Copies one blob to another store as it is sealed (no re-encryption), unless it is there
    /// already, then reads it back from there and checks it opens to content with its address.
    /// Returns whether it was copied (false: present already, and checked).
    pub async fn copy_to(&self, target: &Blobs, hash: &BlobHash) -> Result<bool, BlobError> {
        let copied = if target.backend.contains(hash).await? {
            false
        } else {
            let sealed = self.backend.get(hash).await?;
            target
                .backend
                .put_many(vec![(hash.clone(), sealed)])
                .await?;
            true
        };
        target.get(hash).await?;
        Ok(copied)
    }

    fn seal(&self, hash: &BlobHash, raw: &[u8], level: i32) -> Result<Vec<u8>, BlobError> {
        let compressed = compress(raw, level).map_err(|e| BlobError::Corrupt {
            hash: hash.0.clone(),
            reason: format!("compression failed: {e}"),
        })?;
        if compressed.len() > segments::SEGMENT {
            return segments::seal(self.cipher.as_deref(), hash, &compressed);
        }
        let mut out = Vec::with_capacity(compressed.len() + 32);
        out.extend_from_slice(MAGIC);
        match &self.cipher {
            None => {
                out.push(MODE_PLAIN);
                out.extend_from_slice(&compressed);
            }
            Some(cipher) => {
                let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
                // The address is authenticated too: a sealed blob cannot be swapped for another.
                let sealed = cipher
                    .encrypt(
                        &nonce,
                        Payload {
                            msg: &compressed,
                            aad: hash.0.as_bytes(),
                        },
                    )
                    .map_err(|_| BlobError::Corrupt {
                        hash: hash.0.clone(),
                        reason: "encryption failed".into(),
                    })?;
                out.push(MODE_AES256GCM);
                out.extend_from_slice(&nonce);
                out.extend_from_slice(&sealed);
            }
        }
        Ok(out)
    }

    fn open(&self, hash: &BlobHash, sealed: Vec<u8>) -> Result<Vec<u8>, BlobError> {
        if !sealed.starts_with(segments::MAGIC) {
            return open_whole(self.cipher.as_deref(), hash, &sealed);
        }
        let mut opener = Opener::new(hash.clone(), self.cipher.clone());
        opener.feed_all(sealed);
        let mut raw = Vec::new();
        loop {
            match opener.step()? {
                Step::Output(bytes) => raw.extend_from_slice(&bytes),
                Step::Done => return Ok(raw),
                // Everything was fed: the opener says "truncated" instead of asking again.
                Step::NeedInput => {
                    return Err(BlobError::Corrupt {
                        hash: hash.0.clone(),
                        reason: "truncated".into(),
                    })
                }
            }
        }
    }
}

/// Opens a blob sealed whole (`SRB1`).
fn open_whole(
    cipher: Option<&Aes256Gcm>,
    hash: &BlobHash,
    sealed: &[u8],
) -> Result<Vec<u8>, BlobError> {
    let corrupt = |reason: &str| BlobError::Corrupt {
        hash: hash.0.clone(),
        reason: reason.to_owned(),
    };
    if sealed.len() < 5 || &sealed[..4] != MAGIC {
        return Err(corrupt("bad header"));
    }
    let compressed = match sealed[4] {
        MODE_PLAIN => sealed[5..].to_vec(),
        MODE_AES256GCM => {
            let cipher = cipher.ok_or_else(|| BlobError::KeyRequired(hash.0.clone()))?;
            if sealed.len() < 5 + NONCE_LEN {
                return Err(corrupt("truncated"));
            }
            let nonce = Nonce::from_slice(&sealed[5..5 + NONCE_LEN]);
            cipher
                .decrypt(
                    nonce,
                    Payload {
                        msg: &sealed[5 + NONCE_LEN..],
                        aad: hash.0.as_bytes(),
                    },
                )
                .map_err(|_| corrupt("authentication failed (wrong key or tampered)"))?
        }
        _ => return Err(corrupt("unknown mode")),
    };
    let raw = zstd::stream::decode_all(compressed.as_slice())
        .map_err(|e| corrupt(&format!("decompression failed: {e}")))?;
    if BlobHash::of(&raw) != *hash {
        return Err(corrupt("content does not match its address"));
    }
    Ok(raw)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_plain_and_encrypted_and_dedup() {
        let dir = tempfile::tempdir().unwrap();
        let plain = Blobs::local(dir.path().join("p"), None).unwrap();
        let raw = b"Subject: hi\r\n\r\nhello hello hello hello".repeat(100);
        let h = plain.put(&raw).await.unwrap();
        assert_eq!(h, BlobHash::of(&raw));
        assert_eq!(plain.get(&h).await.unwrap(), raw);
        let stored =
            std::fs::read(dir.path().join("p/objects").join(&h.0[..2]).join(&h.0)).unwrap();
        assert!(stored.len() < raw.len() / 4, "compressed: {}", stored.len());
        // Same bytes again: one file, unchanged.
        plain.put(&raw).await.unwrap();
        let files = std::fs::read_dir(dir.path().join("p/objects").join(&h.0[..2]))
            .unwrap()
            .count();
        assert_eq!(files, 1);
        assert_eq!(
            std::fs::read_dir(dir.path().join("p/tmp")).unwrap().count(),
            0
        );

        let key = BlobKey::from_bytes([7; 32]);
        let enc = Blobs::local(dir.path().join("e"), Some(key)).unwrap();
        let h2 = enc.put(&raw).await.unwrap();
        assert_eq!(enc.get(&h2).await.unwrap(), raw);
        let sealed =
            std::fs::read(dir.path().join("e/objects").join(&h2.0[..2]).join(&h2.0)).unwrap();
        assert_eq!(sealed[4], MODE_AES256GCM);
        assert!(!sealed.windows(5).any(|w| w == b"hello"));

        let wrong = Blobs::local(dir.path().join("e"), Some(BlobKey::from_bytes([8; 32]))).unwrap();
        assert!(matches!(
            wrong.get(&h2).await,
            Err(BlobError::Corrupt { .. })
        ));
        let none = Blobs::local(dir.path().join("e"), None).unwrap();
        assert!(matches!(
            none.get(&h2).await,
            Err(BlobError::KeyRequired(_))
        ));
    }

    #[tokio::test]
    async fn tampered_blob_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path(), None).unwrap();
        let h = blobs.put(b"original content").await.unwrap();
        let other = Blobs::local(dir.path().join("x"), None).unwrap();
        let h2 = other.put(b"different content").await.unwrap();
        let swapped =
            std::fs::read(dir.path().join("x/objects").join(&h2.0[..2]).join(&h2.0)).unwrap();
        std::fs::write(
            dir.path().join("objects").join(&h.0[..2]).join(&h.0),
            swapped,
        )
        .unwrap();
        assert!(matches!(
            blobs.get(&h).await,
            Err(BlobError::Corrupt { .. })
        ));
        assert!(matches!(
            blobs.get(&BlobHash::of(b"nope")).await,
            Err(BlobError::Missing(_))
        ));
    }
}
