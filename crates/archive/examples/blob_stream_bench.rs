//! Reading one large blob whole and as a stream: time and the process's peak memory.
//!
//!     cargo run --release -p archive --example blob_stream_bench -- [MEGABYTES]
//!
//! Stores MEGABYTES (default 200) of content in a local blob store with encryption on (a mix of
//! random bytes and text, like a message with a large attachment), then reads it back as a
//! stream (each piece hashed and dropped, as a download does) and whole. The peak resident set
//! is reset before each read (`/proc/self/clear_refs`), so each figure is that read's own peak.
//! Linux only.

use std::time::Instant;

use archive::{BlobKey, Blobs};
use futures_util::StreamExt;
use rand::{RngCore, SeedableRng};
use testkit::memory::{reset_peak, status_mb};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let megabytes: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let blobs = Blobs::local(dir.path(), Some(BlobKey::from_bytes([9; 32])))?;
    let hash = {
        let mut raw = vec![0u8; megabytes * 1024 * 1024];
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for (n, block) in raw.chunks_mut(64 * 1024).enumerate() {
            if n % 4 == 0 {
                block.copy_from_slice(
                    &b"Quarterly figures, line by line. ".repeat(2048)[..block.len()],
                );
            } else {
                rng.fill_bytes(block);
            }
        }
        let started = Instant::now();
        let hash = blobs.put(&raw).await?;
        println!(
            "stored {megabytes} MB in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        hash
    };

    reset_peak();
    let before = status_mb("VmRSS:");
    let started = Instant::now();
    let mut stream = blobs.get_stream(&hash).await?;
    let mut hasher = blake3::Hasher::new();
    let (mut pieces, mut read) = (0u64, 0u64);
    while let Some(piece) = stream.next().await {
        let piece = piece?;
        hasher.update(&piece);
        pieces += 1;
        read += piece.len() as u64;
    }
    let streamed = started.elapsed().as_secs_f64();
    let stream_peak = status_mb("VmHWM:") - before;
    assert_eq!(hasher.finalize().to_hex().as_str(), hash.as_str());

    reset_peak();
    let before = status_mb("VmRSS:");
    let started = Instant::now();
    let whole = blobs.get(&hash).await?;
    let whole_secs = started.elapsed().as_secs_f64();
    let whole_peak = status_mb("VmHWM:") - before;
    assert_eq!(whole.len() as u64, read);
    drop(whole);

    let rate = |secs: f64| read as f64 / 1_048_576.0 / secs;
    println!("| read | time | MB/s | peak memory above the start |");
    println!("|---|---|---|---|");
    println!(
        "| stream ({pieces} pieces) | {streamed:.2} s | {:.0} | {:.1} MB |",
        rate(streamed),
        stream_peak
    );
    println!(
        "| whole | {whole_secs:.2} s | {:.0} | {:.1} MB |",
        rate(whole_secs),
        whole_peak
    );
    Ok(())
}
