//! Large blobs are sealed in segments (`SRB2`) so that a read can hand content out as it arrives
//! without ever handing out a byte that was not authenticated.
//!
//! `SRB2` + mode byte + (7-byte nonce prefix) + segments. Each segment is a 4-byte big-endian
//! word (high bit: last segment; the rest: its length) and up to [`SEGMENT`] bytes of the zstd
//! stream, sealed with AES-256-GCM under the STREAM construction (`aead::stream`): the nonce
//! carries the segment's number and whether it is the last, and the blob's address is the
//! associated data. So a segment cannot be altered, moved, dropped, or cut off at the end, and
//! a blob's segments cannot be swapped for another blob's. Without a key the segments are plain
//! and the address is checked at the end of the read, as for `SRB1`.

use std::sync::Arc;

use aead::generic_array::GenericArray;
use aead::stream::{DecryptorBE32, EncryptorBE32};
use aead::Payload;
use aes_gcm::aead::{AeadCore, OsRng};
use aes_gcm::Aes256Gcm;
use bytes::Bytes;
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

use super::{BlobError, BlobHash, MODE_AES256GCM, MODE_PLAIN};

pub(super) const MAGIC: &[u8; 4] = b"SRB2";
/// Compressed bytes per segment: what one read step holds and checks at a time.
pub(super) const SEGMENT: usize = 64 * 1024;
const LAST: u32 = 1 << 31;
/// The GCM nonce (12 bytes) less STREAM's 4-byte counter and 1-byte last flag.
const PREFIX_LEN: usize = 7;
const TAG_LEN: usize = 16;
/// Raw bytes handed out per step, at most: a highly compressible segment expands a lot.
const OUT_CHUNK: usize = 128 * 1024;

fn corrupt(hash: &BlobHash, reason: &str) -> BlobError {
    BlobError::Corrupt {
        hash: hash.as_str().to_owned(),
        reason: reason.to_owned(),
    }
}

/// Seals a zstd stream in segments.
pub(super) fn seal(
    cipher: Option<&Aes256Gcm>,
    hash: &BlobHash,
    compressed: &[u8],
) -> Result<Vec<u8>, BlobError> {
    let segments: Vec<&[u8]> = compressed.chunks(SEGMENT).collect();
    let mut out = Vec::with_capacity(compressed.len() + segments.len() * (4 + TAG_LEN) + 16);
    out.extend_from_slice(MAGIC);
    let mut encryptor = match cipher {
        None => {
            out.push(MODE_PLAIN);
            None
        }
        Some(cipher) => {
            // A fresh random prefix per blob: the counter starts at zero for every blob.
            let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
            let prefix = &nonce[..PREFIX_LEN];
            out.push(MODE_AES256GCM);
            out.extend_from_slice(prefix);
            Some(EncryptorBE32::from_aead(
                cipher.clone(),
                GenericArray::from_slice(prefix),
            ))
        }
    };
    let failed = || corrupt(hash, "encryption failed");
    let count = segments.len();
    for (index, segment) in segments.into_iter().enumerate() {
        let last = index + 1 == count;
        let payload = Payload {
            msg: segment,
            aad: hash.as_str().as_bytes(),
        };
        let sealed = match encryptor.take() {
            None => segment.to_vec(),
            Some(mut e) if !last => {
                let sealed = e.encrypt_next(payload).map_err(|_| failed())?;
                encryptor = Some(e);
                sealed
            }
            Some(e) => e.encrypt_last(payload).map_err(|_| failed())?,
        };
        let len = u32::try_from(sealed.len()).map_err(|_| failed())?;
        let word = if last { len | LAST } else { len };
        out.extend_from_slice(&word.to_be_bytes());
        out.extend_from_slice(&sealed);
    }
    Ok(out)
}

/// What the reader does next.
pub(super) enum Step {
    /// Raw content, checked as far as the format allows.
    Output(Bytes),
    /// More sealed bytes are needed ([`Opener::feed`], or [`Opener::end_input`] at the end).
    NeedInput,
    /// Everything was handed out, and the address matched.
    Done,
}

enum State {
    /// The header has not arrived yet.
    Header,
    /// An `SRB1` blob: one sealed frame, checked once it is all here.
    Whole,
    Segments(Box<Segments>),
    Done,
}

struct Segments {
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    encrypted: bool,
    /// The current segment, decrypted: part of the zstd stream.
    segment: Vec<u8>,
    position: usize,
    /// The decoder filled its last output: it may hold more even with no input left.
    draining: bool,
    last_seen: bool,
    decoder: Decoder<'static>,
    /// zstd's hint from the last call: 0 once a frame is complete.
    frame_open: bool,
    hasher: blake3::Hasher,
}

/// Opens a sealed blob as its bytes arrive: a state machine with no I/O of its own, so the same
/// code serves a whole read and a streaming one.
pub(super) struct Opener {
    hash: BlobHash,
    cipher: Option<Arc<Aes256Gcm>>,
    /// Sealed bytes received; those before `start` are used up.
    input: Vec<u8>,
    start: usize,
    input_ended: bool,
    state: State,
}

impl Opener {
    pub(super) fn new(hash: BlobHash, cipher: Option<Arc<Aes256Gcm>>) -> Self {
        Opener {
            hash,
            cipher,
            input: Vec::new(),
            start: 0,
            input_ended: false,
            state: State::Header,
        }
    }

    pub(super) fn feed(&mut self, bytes: &[u8]) {
        // What was used up goes only now, so a whole blob fed at once is never moved.
        self.input.drain(..self.start);
        self.start = 0;
        self.input.extend_from_slice(bytes);
    }

    /// The whole sealed blob at once, without a copy.
    pub(super) fn feed_all(&mut self, sealed: Vec<u8>) {
        if self.input.is_empty() {
            self.input = sealed;
            self.start = 0;
        } else {
            self.feed(&sealed);
        }
        self.input_ended = true;
    }

    pub(super) fn end_input(&mut self) {
        self.input_ended = true;
    }

    pub(super) fn step(&mut self) -> Result<Step, BlobError> {
        loop {
            match &mut self.state {
                State::Done => return Ok(Step::Done),
                State::Header => {
                    if (self.input.len() - self.start) < 5 {
                        if self.input_ended {
                            return Err(corrupt(&self.hash, "bad header"));
                        }
                        return Ok(Step::NeedInput);
                    }
                    if &self.input[self.start..self.start + 4] == super::MAGIC {
                        self.state = State::Whole;
                        continue;
                    }
                    if &self.input[self.start..self.start + 4] != MAGIC {
                        return Err(corrupt(&self.hash, "bad header"));
                    }
                    let decryptor = match self.input[self.start + 4] {
                        MODE_PLAIN => None,
                        MODE_AES256GCM => {
                            let cipher = self
                                .cipher
                                .as_ref()
                                .ok_or_else(|| BlobError::KeyRequired(self.hash.to_string()))?;
                            if (self.input.len() - self.start) < 5 + PREFIX_LEN {
                                if self.input_ended {
                                    return Err(corrupt(&self.hash, "truncated"));
                                }
                                return Ok(Step::NeedInput);
                            }
                            Some(DecryptorBE32::from_aead(
                                Aes256Gcm::clone(cipher),
                                GenericArray::from_slice(
                                    &self.input[self.start + 5..self.start + 5 + PREFIX_LEN],
                                ),
                            ))
                        }
                        _ => return Err(corrupt(&self.hash, "unknown mode")),
                    };
                    let header = if decryptor.is_some() {
                        5 + PREFIX_LEN
                    } else {
                        5
                    };
                    self.start += header;
                    let decoder = Decoder::new()
                        .map_err(|e| corrupt(&self.hash, &format!("decompression failed: {e}")))?;
                    self.state = State::Segments(Box::new(Segments {
                        encrypted: decryptor.is_some(),
                        decryptor,
                        segment: Vec::new(),
                        position: 0,
                        draining: false,
                        last_seen: false,
                        decoder,
                        frame_open: false,
                        hasher: blake3::Hasher::new(),
                    }));
                }
                State::Whole => {
                    if !self.input_ended {
                        return Ok(Step::NeedInput);
                    }
                    let raw = super::open_whole(
                        self.cipher.as_deref(),
                        &self.hash,
                        &self.input[self.start..],
                    )?;
                    self.input = Vec::new();
                    self.start = 0;
                    self.state = State::Done;
                    return Ok(Step::Output(Bytes::from(raw)));
                }
                State::Segments(s) => {
                    if s.position < s.segment.len() || s.draining {
                        let mut out = vec![0u8; OUT_CHUNK];
                        let mut input = InBuffer::around(&s.segment[s.position..]);
                        let mut output = OutBuffer::around(out.as_mut_slice());
                        let hint = s.decoder.run(&mut input, &mut output).map_err(|e| {
                            corrupt(&self.hash, &format!("decompression failed: {e}"))
                        })?;
                        let produced = output.pos();
                        s.position += input.pos();
                        s.draining = produced == OUT_CHUNK;
                        s.frame_open = hint != 0;
                        if produced > 0 {
                            out.truncate(produced);
                            s.hasher.update(&out);
                            return Ok(Step::Output(Bytes::from(out)));
                        }
                        continue;
                    }
                    if s.last_seen {
                        let rest = self.input.len() - self.start;
                        if rest > 0 || !self.input_ended {
                            if rest == 0 {
                                return Ok(Step::NeedInput);
                            }
                            return Err(corrupt(&self.hash, "data after the last segment"));
                        }
                        if s.frame_open {
                            return Err(corrupt(&self.hash, "the compressed data is cut short"));
                        }
                        if s.hasher.finalize().to_hex().as_str() != self.hash.as_str() {
                            return Err(corrupt(&self.hash, "content does not match its address"));
                        }
                        self.state = State::Done;
                        return Ok(Step::Done);
                    }
                    // The next segment, once all of it is here.
                    if (self.input.len() - self.start) < 4 {
                        return need_more(self.input_ended, &self.hash);
                    }
                    let at = self.start;
                    let word = u32::from_be_bytes([
                        self.input[at],
                        self.input[at + 1],
                        self.input[at + 2],
                        self.input[at + 3],
                    ]);
                    let last = word & LAST != 0;
                    let len = (word & !LAST) as usize;
                    let tag = if s.encrypted { TAG_LEN } else { 0 };
                    if len > SEGMENT + tag || len < tag {
                        return Err(corrupt(&self.hash, "bad segment length"));
                    }
                    if (self.input.len() - self.start) < 4 + len {
                        return need_more(self.input_ended, &self.hash);
                    }
                    let sealed = &self.input[at + 4..at + 4 + len];
                    let payload = Payload {
                        msg: sealed,
                        aad: self.hash.as_str().as_bytes(),
                    };
                    let tampered =
                        || corrupt(&self.hash, "authentication failed (wrong key or tampered)");
                    let plain = match s.decryptor.take() {
                        None if s.encrypted => return Err(tampered()),
                        None => sealed.to_vec(),
                        Some(mut d) if !last => {
                            let plain = d.decrypt_next(payload).map_err(|_| tampered())?;
                            s.decryptor = Some(d);
                            plain
                        }
                        Some(d) => d.decrypt_last(payload).map_err(|_| tampered())?,
                    };
                    self.start += 4 + len;
                    if last && self.start < self.input.len() {
                        return Err(corrupt(&self.hash, "data after the last segment"));
                    }
                    s.segment = plain;
                    s.position = 0;
                    s.last_seen = last;
                }
            }
        }
    }
}

/// More input, or the blob was cut short.
fn need_more(input_ended: bool, hash: &BlobHash) -> Result<Step, BlobError> {
    if input_ended {
        Err(corrupt(hash, "truncated"))
    } else {
        Ok(Step::NeedInput)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use futures_util::StreamExt;
    use rand::{RngCore, SeedableRng};

    use super::*;
    use crate::blob::Blobs;
    use crate::BlobKey;

    /// 1.5 MB that zstd cannot shrink much, so it makes many segments.
    fn content() -> Vec<u8> {
        let mut raw = vec![0u8; 1_500_000];
        rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut raw);
        raw[..200_000].fill(b'a');
        raw
    }

    /// Where each segment's word starts, and its length.
    fn segments_of(sealed: &[u8]) -> Vec<(usize, usize)> {
        let mut at = if sealed[4] == MODE_AES256GCM {
            5 + PREFIX_LEN
        } else {
            5
        };
        let mut found = Vec::new();
        while at < sealed.len() {
            let word = u32::from_be_bytes(sealed[at..at + 4].try_into().unwrap());
            let len = (word & !LAST) as usize;
            found.push((at, len));
            at += 4 + len;
        }
        found
    }

    /// Reads a blob as a stream: the bytes handed out before the end, and how it ended.
    async fn read(blobs: &Blobs, hash: &BlobHash) -> (Vec<Bytes>, Result<(), BlobError>) {
        let mut stream = match blobs.get_stream(hash).await {
            Ok(stream) => stream,
            Err(e) => return (Vec::new(), Err(e)),
        };
        let mut chunks = Vec::new();
        while let Some(next) = stream.next().await {
            match next {
                Ok(chunk) => chunks.push(chunk),
                Err(e) => return (chunks, Err(e)),
            }
        }
        (chunks, Ok(()))
    }

    fn stored_path(dir: &std::path::Path, hash: &BlobHash) -> std::path::PathBuf {
        dir.join("objects")
            .join(&hash.as_str()[..2])
            .join(hash.as_str())
    }

    #[tokio::test]
    async fn large_blobs_stream_in_bounded_checked_steps_with_and_without_a_key() {
        let raw = content();
        for key in [None, Some(BlobKey::from_bytes([3; 32]))] {
            let dir = tempfile::tempdir().unwrap();
            let blobs = Blobs::local(dir.path(), key.clone()).unwrap();
            let hash = blobs.put(&raw).await.unwrap();
            let sealed = std::fs::read(stored_path(dir.path(), &hash)).unwrap();
            assert_eq!(&sealed[..4], MAGIC);
            assert!(segments_of(&sealed).len() > 10);
            if key.is_some() {
                assert!(!sealed.windows(64).any(|w| w == &raw[..64]));
            }
            let (chunks, end) = read(&blobs, &hash).await;
            end.unwrap();
            assert!(chunks.len() > 10, "{} chunks", chunks.len());
            assert!(chunks.iter().all(|c| c.len() <= OUT_CHUNK));
            assert_eq!(chunks.concat(), raw);
            assert_eq!(blobs.get(&hash).await.unwrap(), raw);
        }
    }

    #[tokio::test]
    async fn small_and_older_blobs_read_as_a_stream_too() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path(), Some(BlobKey::from_bytes([3; 32]))).unwrap();
        let hash = blobs.put(b"Subject: small\r\n\r\nhello").await.unwrap();
        let sealed = std::fs::read(stored_path(dir.path(), &hash)).unwrap();
        assert_eq!(&sealed[..4], b"SRB1");
        let (chunks, end) = read(&blobs, &hash).await;
        end.unwrap();
        assert_eq!(chunks.concat(), b"Subject: small\r\n\r\nhello");
        let (_, missing) = read(&blobs, &BlobHash::of(b"absent")).await;
        assert!(matches!(missing, Err(BlobError::Missing(_))));
    }

    /// Every way to alter an encrypted blob ends the read with an error, and nothing handed
    /// out before it is wrong.
    #[tokio::test]
    async fn altered_segments_are_refused_before_their_bytes_are_handed_out() {
        let raw = content();
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path(), Some(BlobKey::from_bytes([3; 32]))).unwrap();
        let hash = blobs.put(&raw).await.unwrap();
        let path = stored_path(dir.path(), &hash);
        let sealed = std::fs::read(&path).unwrap();
        let segs = segments_of(&sealed);
        let (mid, mid_len) = segs[segs.len() / 2];
        let (last_at, _) = segs[segs.len() - 1];

        let mut flipped = sealed.clone();
        flipped[mid + 4 + mid_len / 2] ^= 1;
        let mut swapped = sealed[..segs[1].0].to_vec();
        swapped.extend_from_slice(&sealed[segs[2].0..segs[3].0]);
        swapped.extend_from_slice(&sealed[segs[1].0..segs[2].0]);
        swapped.extend_from_slice(&sealed[segs[3].0..]);
        let cut_at_a_segment = sealed[..last_at].to_vec();
        let cut_mid_segment = sealed[..last_at + 10].to_vec();
        // A middle segment claims to be the last, and the rest is dropped.
        let mut early_end = sealed[..mid + 4 + mid_len].to_vec();
        early_end[mid] |= 0x80;
        let mut trailing = sealed.clone();
        trailing.extend_from_slice(b"more");

        for (case, bytes) in [
            ("a flipped bit", flipped),
            ("two segments swapped", swapped),
            ("cut at a segment", cut_at_a_segment),
            ("cut inside a segment", cut_mid_segment),
            ("a false last segment", early_end),
            ("bytes after the end", trailing),
        ] {
            std::fs::write(&path, &bytes).unwrap();
            let (chunks, end) = read(&blobs, &hash).await;
            assert!(
                matches!(end, Err(BlobError::Corrupt { .. })),
                "{case}: {end:?}"
            );
            let handed = chunks.concat();
            assert!(raw.starts_with(&handed), "{case}: wrong bytes handed out");
            // Extra bytes after an intact last segment may arrive only after all of the
            // (authentic) content went out; the read still fails.
            if case != "bytes after the end" {
                assert!(handed.len() < raw.len(), "{case}: everything handed out");
            }
            assert!(blobs.get(&hash).await.is_err(), "{case}: a whole read");
        }

        // Another blob's segments, under this address: refused at the first one.
        let other = content().iter().map(|b| b ^ 0x55).collect::<Vec<_>>();
        let other_hash = blobs.put(&other).await.unwrap();
        std::fs::copy(stored_path(dir.path(), &other_hash), &path).unwrap();
        let (chunks, end) = read(&blobs, &hash).await;
        assert!(matches!(end, Err(BlobError::Corrupt { .. })));
        assert!(chunks.is_empty());

        let keyless = Blobs::local(dir.path(), None).unwrap();
        let (_, end) = read(&keyless, &other_hash).await;
        assert!(matches!(end, Err(BlobError::KeyRequired(_))));
    }

    /// Without a key a segment cannot be authenticated: a change is found by the address check
    /// at the end (or by zstd), and the read still ends with an error.
    #[tokio::test]
    async fn altered_plain_blobs_end_the_read_with_an_error() {
        let raw = content();
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path(), None).unwrap();
        let hash = blobs.put(&raw).await.unwrap();
        let path = stored_path(dir.path(), &hash);
        let mut sealed = std::fs::read(&path).unwrap();
        let segs = segments_of(&sealed);
        let (mid, mid_len) = segs[segs.len() / 2];
        sealed[mid + 4 + mid_len / 2] ^= 1;
        std::fs::write(&path, &sealed).unwrap();
        let (_, end) = read(&blobs, &hash).await;
        assert!(matches!(end, Err(BlobError::Corrupt { .. })), "{end:?}");
    }
}
