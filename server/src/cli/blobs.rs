//! `blobs migrate`: the archive's content from the data folder to the S3 bucket of
//! `[storage.s3]`.

use archive::BlobStore;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;

/// Copies every blob the archive references from `data_dir/blobs` to S3, as sealed, and reads
/// each back from S3 to check it opens to content with its address. Safe to stop and run
/// again: blobs already in the bucket are not uploaded twice (but are checked). Fails when any
/// blob could not be copied or checked, naming it; the local folder is left as it is.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let Some(s3) = crate::s3_blob_store(settings)? else {
        anyhow::bail!("no S3 bucket is configured: set storage.s3.bucket (and its endpoint, region and credentials)");
    };
    s3.check()
        .await
        .map_err(|e| anyhow::anyhow!("storage.s3: {e}"))?;
    let key = settings.blob_key()?.map(archive::BlobKey::from_bytes);
    let local = archive::Blobs::local(settings.storage.data_dir.join("blobs"), key.clone())?;
    let target = archive::Blobs::new(std::sync::Arc::new(s3), key);
    let db = crate::open_database(settings).await?;
    let hashes = archive::Archive::new(db, local.clone())
        .referenced_blobs()
        .await?;

    let bar = ProgressBar::new(hashes.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} blobs")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut copied, mut present) = (0u64, 0u64);
    let mut failed = Vec::new();
    for hex in &hashes {
        let outcome = match archive::BlobHash::parse(hex) {
            Ok(hash) => local.copy_to(&target, &hash).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(true) => copied += 1,
            Ok(false) => present += 1,
            Err(e) => failed.push(format!("{hex}: {e}")),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    crate::say!("Blobs referenced by the archive: {}", hashes.len());
    crate::say!("  copied to S3 and checked    {copied}");
    crate::say!("  in S3 already, checked      {present}");
    crate::say!("  failed                      {}", failed.len());
    for line in &failed {
        crate::say!("    {line}");
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "{} blobs were not copied; run `sync-recover blobs migrate` again once the cause is fixed",
            failed.len()
        );
    }
    crate::say!(
        "Every blob is in the bucket. Start the portal with storage.s3 set; data_dir/blobs can be \
         archived and removed once you are satisfied."
    );
    Ok(())
}
