//! Blobs in an S3-compatible object store (AWS S3, or any store speaking its API), through the
//! `object_store` crate. Sealing (zstd, AES-256-GCM) happens before a blob gets here, so the
//! store only ever holds ciphertext when encryption is on.
//!
//! Writes are conditional creates (`If-None-Match: *`): two nodes archiving the same content at
//! the same moment both succeed and the object is written once. Blobs above
//! [`MULTIPART_ABOVE`] go up in parts; a part upload cannot be conditional, so a large blob first
//! asks whether it is there (content addresses make a lost race harmless: both write the same
//! content). Requests are retried with backoff on 5xx, throttling and connection errors before a
//! call fails.

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ObjectStore, PutMode, PutOptions, PutPayload, RetryConfig, WriteMultipart,
};

use crate::blob::{BlobError, BlobHash, BlobStore, ByteStream};

/// Blobs larger than this are uploaded in parts.
pub const MULTIPART_ABOVE: usize = 16 * 1024 * 1024;
const PART_SIZE: usize = 8 * 1024 * 1024;

/// Where the blobs go. Unset credentials come from the usual AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, ...).
#[derive(Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    /// None: AWS itself. Some(url): any S3-compatible store (`http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (most
    /// self-hosted stores want it).
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Keys are written under this prefix (`archive/` for `archive/objects/ab/ab...`).
    pub prefix: String,
    /// Retries of a failing request before the call fails (with backoff, capped in total time).
    pub max_retries: usize,
    pub retry_timeout: Duration,
}

// The secret never reaches a log line.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "***"),
            )
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[derive(Debug)]
pub struct S3BlobStore {
    store: AmazonS3,
    prefix: String,
    bucket: String,
}

impl S3BlobStore {
    pub fn open(settings: &S3Settings) -> Result<Self, BlobError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: settings.max_retries,
                retry_timeout: settings.retry_timeout,
            });
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build().map_err(|e| BlobError::Remote {
            what: format!("S3 bucket `{}`", settings.bucket),
            reason: e.to_string(),
        })?;
        let prefix = settings.prefix.trim_matches('/').to_owned();
        Ok(S3BlobStore {
            store,
            prefix,
            bucket: settings.bucket.clone(),
        })
    }

    fn path_of(&self, hash: &BlobHash) -> ObjectPath {
        let hex = hash.as_str();
        self.key(&format!("objects/{}/{hex}", &hex[..2]))
    }

    /// A key under the configured prefix.
    fn key(&self, key: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(key)
        } else {
            ObjectPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn failed(&self, what: &str, hash: &BlobHash, e: object_store::Error) -> BlobError {
        BlobError::Remote {
            what: format!("{what} of blob {hash} in S3 bucket `{}`", self.bucket),
            reason: e.to_string(),
        }
    }

    async fn put_one(&self, hash: &BlobHash, sealed: Vec<u8>) -> Result<(), BlobError> {
        let path = self.path_of(hash);
        if sealed.len() > MULTIPART_ABOVE {
            if self.contains(hash).await? {
                return Ok(());
            }
            let upload = self
                .store
                .put_multipart(&path)
                .await
                .map_err(|e| self.failed("multipart upload", hash, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            writer.write(&sealed);
            return writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|e| self.failed("multipart upload", hash, e));
        }
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(sealed), options)
            .await
        {
            // Stored by another writer already: the same content, since the key is its hash.
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(self.failed("upload", hash, e)),
        }
    }
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    async fn check(&self) -> Result<(), BlobError> {
        match self.store.head(&self.key("objects/.probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError::Remote {
                what: format!("S3 bucket `{}`", self.bucket),
                reason: e.to_string(),
            }),
        }
    }

    async fn put_many(&self, blobs: Vec<(BlobHash, Vec<u8>)>) -> Result<(), BlobError> {
        // A few uploads at a time: one batch is one store transaction's worth of messages.
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        stream::iter(blobs)
            .map(|(hash, sealed)| async move { self.put_one(&hash, sealed).await })
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    async fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let path = self.path_of(hash);
        let found = match self.store.get(&path).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BlobError::Missing(hash.as_str().to_owned()))
            }
            Err(e) => return Err(self.failed("download", hash, e)),
        };
        found
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| self.failed("download", hash, e))
    }

    async fn get_stream(&self, hash: &BlobHash) -> Result<ByteStream, BlobError> {
        use futures_util::TryStreamExt;
        let found = match self.store.get(&self.path_of(hash)).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BlobError::Missing(hash.as_str().to_owned()))
            }
            Err(e) => return Err(self.failed("download", hash, e)),
        };
        let what = format!("download of blob {hash} in S3 bucket `{}`", self.bucket);
        Ok(Box::pin(found.into_stream().map_err(move |e| {
            BlobError::Remote {
                what: what.clone(),
                reason: e.to_string(),
            }
        })))
    }

    async fn contains(&self, hash: &BlobHash) -> Result<bool, BlobError> {
        match self.store.head(&self.path_of(hash)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.failed("lookup", hash, e)),
        }
    }

    async fn delete(&self, hash: &BlobHash) -> Result<(), BlobError> {
        match self.store.delete(&self.path_of(hash)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed("delete", hash, e)),
        }
    }

    async fn contains_many(&self, hashes: &[BlobHash]) -> Result<Vec<bool>, BlobError> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        stream::iter(hashes.iter().cloned())
            .map(|hash| async move { self.contains(&hash).await })
            .buffered(16)
            .try_collect()
            .await
    }
}
