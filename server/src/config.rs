//! Configuration: built-in defaults, then an optional TOML file, then `SR_*` environment variables
//! (`SR_SERVER__LISTEN` sets `server.listen`). Secrets are `SecretString`: they never appear in
//! logs or `Debug` output.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub worker: WorkerSettings,
    pub sso: SsoSettings,
    pub log: LogSettings,
    #[serde(default)]
    pub node: NodeSettings,
}

/// What one `serve` process does. Any mix of roles; several nodes share one PostgreSQL database
/// and one S3 bucket and split the work between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Serves the portal and searches (a read-only copy of the shards it does not write).
    Web,
    /// Syncs mailboxes from Exchange.
    Sync,
    /// Runs exports, restores, imports and purges.
    Jobs,
    /// Writes search shards and publishes them.
    Indexer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Web, Role::Sync, Role::Jobs, Role::Indexer];
}

/// `[node]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSettings {
    pub roles: Vec<Role>,
    /// The search index is split into this many shards by mailbox, each written by one
    /// indexer at a time. Changing it rebuilds the index from the store.
    pub search_shards: u32,
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            roles: Role::ALL.to_vec(),
            search_shards: 1,
        }
    }
}

impl NodeSettings {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// This node does everything: the embedded portal (or one node of several alike).
    pub fn is_whole(&self) -> bool {
        Role::ALL.iter().all(|r| self.has(*r))
    }
}

/// Single sign-on through OpenID Connect; off while `issuer` is empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    /// The provider's issuer, exactly as its discovery document names itself (Entra ID:
    /// `https://login.microsoftonline.com/<tenant-id>/v2.0`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub scopes: Vec<String>,
    /// The ID-token claim that holds roles or groups (`roles` for Entra app roles).
    pub roles_claim: String,
    /// Provider role or group value -> role here, e.g. `{ "Archive.Admins" = "Administrator" }`.
    pub role_map: std::collections::BTreeMap<String, String>,
    /// Given once to users a sign-on creates; empty for an end user.
    pub default_role: String,
    /// Whether someone unknown here gets an account at their first sign-on.
    pub create_users: bool,
    /// Whether the sign-in page goes straight to the provider (`/sign-in?local=1` still shows
    /// the password form, for the built-in administrator).
    pub auto_redirect: bool,
    /// The button's words: "Sign in with ...".
    pub provider_name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the portal listens on.
    pub listen: SocketAddr,
    /// The address people use to reach the portal; `https://` turns on `Secure` cookies.
    pub public_url: Option<String>,
    /// Where the built browser bundle (`pkg/`) and static files are.
    pub site_root: PathBuf,
    /// How long a sign-in lasts.
    pub session_hours: u64,
    /// Reverse proxies in front of the portal: their `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// "Show images" may fetch from loopback and private networks too. Off: a message must not
    /// make the portal probe the network it runs in.
    pub images_from_private_networks: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// Folder for the embedded database, blobs and the search index.
    pub data_dir: PathBuf,
    /// Metadata database. Defaults to a SQLite file in `data_dir`.
    pub database_url: Option<SecretString>,
    /// Encrypt archived content at rest (AES-256-GCM).
    pub encrypt_blobs: bool,
    /// The 32-byte key, base64. When unset, a key file `data_dir/blob.key` is created on first
    /// start: back it up, the archive cannot be read without it.
    pub encryption_key: Option<SecretString>,
    /// The 32-byte key (base64) that seals server connection secrets in the database. When
    /// unset, a key file `data_dir/secrets.key` is created on first start. Nodes that share a
    /// database must share this key.
    pub secrets_key: Option<SecretString>,
    /// Archived content in an S3-compatible object store instead of `data_dir/blobs`.
    #[serde(default)]
    pub s3: S3Config,
}

/// `[storage.s3]`: AWS S3 or any S3-compatible store. Credentials left unset come from the usual
/// AWS environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// Empty: blobs stay in the data folder.
    pub bucket: String,
    /// Unset: AWS. Otherwise the store's address, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Bucket in the path (`endpoint/bucket/key`), as most self-hosted stores want.
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Keys are written under this prefix.
    pub prefix: String,
}

/// The background work of a node: syncing mailboxes, indexing, and the sign-in limit.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// How long a claimed mailbox stays this node's without a renewal (a dead node's mailboxes
    /// are taken over after this).
    pub lease_secs: u64,
    /// How often the worker looks for due mailboxes (a "sync now" wakes it at once).
    pub tick_secs: u64,
    /// Mailboxes synced at the same time by this node.
    pub parallel_mailboxes: usize,
    /// Requests in flight per mailbox (Exchange Online allows 4).
    pub requests_per_mailbox: usize,
    /// How often new archive content is added to the search index.
    pub index_interval_secs: u64,
    /// Memory of the search index writer, in MB.
    pub index_writer_mb: usize,
    /// How long a search shard stays this node's to write without a renewal: an indexer that
    /// dies leaves its shards to another after this long.
    pub index_lease_secs: u64,
    /// Failed sign-ins per user name (and per client address) before it is locked out.
    pub sign_in_attempts: u32,
    /// How long that lock-out lasts.
    pub sign_in_lockout_minutes: u64,
    /// Background jobs (exports, restores) this node runs at the same time; 0 runs none here.
    pub job_workers: usize,
    /// How long a job worker's claim lasts without a heartbeat: a worker that dies leaves its
    /// job to another after this long.
    pub job_lease_secs: u64,
    /// An export file is stored, and can be downloaded, in parts of this many MB.
    pub export_part_mb: u64,
    /// The largest file the Legacy migration screen accepts as an upload, in MB. Larger ones are
    /// copied into `data_dir/imports` on the server instead.
    pub upload_limit_mb: u64,
}

impl WorkerSettings {
    pub fn job_lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.job_lease_secs)
    }

    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_secs)
    }
    pub fn tick(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.tick_secs)
    }
    pub fn index_lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.index_lease_secs)
    }
    pub fn index_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.index_interval_secs)
    }
    pub fn sign_in_lockout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.sign_in_lockout_minutes * 60)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `info,sqlx=warn`.
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The defaults, as a TOML document: also what `sync-recover config` prints.
pub const DEFAULTS: &str = r#"[server]
listen = "127.0.0.1:3000"
site_root = "target/site"
session_hours = 12
trusted_proxies = []
images_from_private_networks = false
# public_url = "https://archive.example.com"

[storage]
data_dir = "./data"
# database_url = "postgres://user:password@host/db"   (default: sqlite in data_dir)
encrypt_blobs = true
# encryption_key = "base64 of 32 bytes"   (default: a key file data_dir/blob.key, made on first start)
# secrets_key = "base64 of 32 bytes"      (default: a key file data_dir/secrets.key, made on first start)

[worker]
lease_secs = 600
tick_secs = 10
parallel_mailboxes = 16
requests_per_mailbox = 4
index_interval_secs = 2
index_writer_mb = 64
index_lease_secs = 60
sign_in_attempts = 5
sign_in_lockout_minutes = 15
job_workers = 1
job_lease_secs = 60
export_part_mb = 256
upload_limit_mb = 4096

[sso]
issuer = ""
client_id = ""
# client_secret = "..."
scopes = ["openid", "email", "profile"]
roles_claim = "roles"
role_map = {}
default_role = ""
create_users = true
auto_redirect = false
provider_name = "your organisation"

[log]
level = "info,sqlx=warn,tantivy=warn"
format = "text"

[node]
# Any of "web", "sync", "jobs", "indexer". A node without every role is one of several: they
# need PostgreSQL (storage.database_url), one S3 bucket (storage.s3) and the same keys
# (storage.encryption_key, storage.secrets_key).
roles = ["web", "sync", "jobs", "indexer"]
search_shards = 1
"#;

#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

fn decode_key(text: &str) -> Result<[u8; 32], String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| "not valid base64".to_owned())?;
    bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (44 characters of base64)".to_owned())
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

impl Settings {
    /// Loads settings from the defaults, the file (if given; it must exist) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "configuration file `{}` does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        // SR_CONFIG and SR_PASSWORD belong to the command line, SR_BINARY to the browser tests'
        // harness (which binary to run), not to the settings.
        let env = Env::prefixed("SR_")
            .ignore(&["config", "password", "binary"])
            .split("__");
        Self::from_figment(figment.merge(env))
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| {
            // One clear line: figment's first error names the key and where its value came from.
            let Some(first) = e.into_iter().next() else {
                return ConfigError("unknown problem".to_owned());
            };
            let key = first.path.join(".").to_lowercase();
            let source = first
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            ConfigError(format!("{key}: {}{source}", first.kind))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.server.session_hours == 0 || self.server.session_hours > 24 * 90 {
            return Err(ConfigError(
                "server.session_hours must be between 1 and 2160".to_owned(),
            ));
        }
        let w = &self.worker;
        let ranges: [(&str, u64, u64, u64); 13] = [
            ("worker.index_lease_secs", w.index_lease_secs, 10, 3_600),
            ("worker.lease_secs", w.lease_secs, 30, 86_400),
            ("worker.tick_secs", w.tick_secs, 1, 3_600),
            (
                "worker.parallel_mailboxes",
                w.parallel_mailboxes as u64,
                1,
                256,
            ),
            (
                "worker.requests_per_mailbox",
                w.requests_per_mailbox as u64,
                1,
                16,
            ),
            (
                "worker.index_interval_secs",
                w.index_interval_secs,
                1,
                3_600,
            ),
            (
                "worker.index_writer_mb",
                w.index_writer_mb as u64,
                16,
                4_096,
            ),
            (
                "worker.sign_in_attempts",
                u64::from(w.sign_in_attempts),
                1,
                100,
            ),
            (
                "worker.sign_in_lockout_minutes",
                w.sign_in_lockout_minutes,
                1,
                1_440,
            ),
            ("worker.job_workers", w.job_workers as u64, 0, 16),
            ("worker.job_lease_secs", w.job_lease_secs, 2, 3_600),
            ("worker.export_part_mb", w.export_part_mb, 1, 4_096),
            ("worker.upload_limit_mb", w.upload_limit_mb, 1, 1_048_576),
        ];
        for (key, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err(ConfigError(format!(
                    "{key} must be between {low} and {high} (got {value})"
                )));
            }
        }
        // A lease shorter than a few ticks would lapse between renewals of a running sync.
        if w.lease_secs < 3 * w.tick_secs {
            return Err(ConfigError(format!(
                "worker.lease_secs ({}) must be at least three times worker.tick_secs ({})",
                w.lease_secs, w.tick_secs
            )));
        }
        self.validate_node()?;
        if let Some(url) = &self.server.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError(format!(
                    "server.public_url must start with http:// or https:// (got `{url}`)"
                )));
            }
        }
        if let Some(url) = &self.storage.database_url {
            database::Backend::from_url(url.expose_secret())
                .map_err(|e| ConfigError(format!("storage.database_url: {e}")))?;
        }
        for (name, key) in [
            ("storage.encryption_key", &self.storage.encryption_key),
            ("storage.secrets_key", &self.storage.secrets_key),
        ] {
            if let Some(key) = key {
                decode_key(key.expose_secret()).map_err(|e| ConfigError(format!("{name}: {e}")))?;
            }
        }
        if self.sso_enabled() {
            if self.sso.client_id.trim().is_empty() || self.sso.client_secret.is_none() {
                return Err(ConfigError(
                    "sso.client_id and sso.client_secret are needed when sso.issuer is set"
                        .to_owned(),
                ));
            }
            if self.server.public_url.is_none() {
                return Err(ConfigError(
                    "server.public_url is needed for single sign-on: the provider sends people back to <public_url>/auth/sso/callback".to_owned(),
                ));
            }
            if !self.sso.scopes.iter().any(|s| s == "openid") {
                return Err(ConfigError("sso.scopes must include `openid`".to_owned()));
            }
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| ConfigError(format!("log.level `{}`: {e}", self.log.level)))?;
        Ok(())
    }

    fn validate_node(&self) -> Result<(), ConfigError> {
        let node = &self.node;
        if node.roles.is_empty() {
            return Err(ConfigError(
                "node.roles must name at least one of web, sync, jobs, indexer".to_owned(),
            ));
        }
        if !(1..=256).contains(&node.search_shards) {
            return Err(ConfigError(format!(
                "node.search_shards must be between 1 and 256 (got {})",
                node.search_shards
            )));
        }
        if node.is_whole() {
            return Ok(());
        }
        let postgres = self.storage.database_url.as_ref().is_some_and(|url| {
            matches!(
                database::Backend::from_url(url.expose_secret()),
                Ok(database::Backend::Postgres)
            )
        });
        let mut missing = Vec::new();
        if !postgres {
            missing.push("storage.database_url (PostgreSQL)");
        }
        if self.storage.s3.bucket.is_empty() {
            missing.push("storage.s3.bucket");
        }
        if self.storage.encrypt_blobs && self.storage.encryption_key.is_none() {
            missing.push("storage.encryption_key");
        }
        if self.storage.secrets_key.is_none() {
            missing.push("storage.secrets_key");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(format!(
                "node.roles names only some roles, so this node is one of several, which share \
                 what these settings name: {}",
                missing.join(", ")
            )))
        }
    }

    pub fn sso_enabled(&self) -> bool {
        !self.sso.issuer.trim().is_empty()
    }

    /// Where the provider sends the browser back after a sign-on.
    pub fn sso_redirect_url(&self) -> Option<String> {
        self.server
            .public_url
            .as_ref()
            .map(|u| format!("{}/auth/sso/callback", u.trim_end_matches('/')))
    }

    /// The database URL, with the embedded default filled in.
    pub fn database_url(&self) -> SecretString {
        match &self.storage.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(format!(
                "sqlite://{}",
                self.storage.data_dir.join("sync-recover.db").display()
            )),
        }
    }

    /// The blob encryption key: configured, or read from (and on first start written to) the key
    /// file in the data folder. `None` when encryption is off.
    pub fn blob_key(&self) -> Result<Option<[u8; 32]>, ConfigError> {
        if !self.storage.encrypt_blobs {
            return Ok(None);
        }
        if let Some(key) = &self.storage.encryption_key {
            return decode_key(key.expose_secret())
                .map(Some)
                .map_err(|e| ConfigError(format!("storage.encryption_key: {e}")));
        }
        self.key_file("blob.key").map(Some)
    }

    /// The key that seals server connection secrets (passwords, client secrets) in the database.
    /// Always on: a copy of the database alone never reveals them.
    pub fn secrets_key(&self) -> Result<[u8; 32], ConfigError> {
        if let Some(key) = &self.storage.secrets_key {
            return decode_key(key.expose_secret())
                .map_err(|e| ConfigError(format!("storage.secrets_key: {e}")));
        }
        self.key_file("secrets.key")
    }

    /// A 32-byte key kept in a file of the data folder, created (readable by its owner only) on
    /// first use. Back these files up: what they protect cannot be read without them.
    fn key_file(&self, name: &str) -> Result<[u8; 32], ConfigError> {
        let path = self.storage.data_dir.join(name);
        let io_error = |e: std::io::Error| ConfigError(format!("{}: {e}", path.display()));
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(io_error)?;
            return decode_key(text.trim())
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())));
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| ConfigError(format!("no randomness: {e}")))?;
        std::fs::create_dir_all(&self.storage.data_dir).map_err(io_error)?;
        write_private(
            &path,
            &base64::engine::general_purpose::STANDARD.encode(key),
        )
        .map_err(io_error)?;
        tracing::warn!(path = %path.display(), "created a new key file: back it up");
        Ok(key)
    }

    pub fn secure_cookies(&self) -> bool {
        self.server
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }

    /// Settings for tests: defaults with the data folder moved and the port chosen by the OS.
    pub fn for_tests(data_dir: &Path) -> Result<Self, ConfigError> {
        Self::from_figment(
            Figment::from(Toml::string(DEFAULTS))
                .merge(Serialized::default("server.listen", "127.0.0.1:0"))
                .merge(Serialized::default("storage.data_dir", data_dir))
                .merge(Serialized::default("log.level", "warn")),
        )
    }
}

// figment::Jail's closures return its large error type.
#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_valid() {
        Jail::expect_with(|_| {
            let s = Settings::load(None).expect("defaults load");
            assert_eq!(s.server.listen.to_string(), "127.0.0.1:3000");
            assert_eq!(s.storage.data_dir, PathBuf::from("./data"));
            assert_eq!(
                s.database_url().expose_secret(),
                "sqlite://./data/sync-recover.db"
            );
            assert!(!s.secure_cookies());
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "sr.toml",
                "[server]\nlisten = \"0.0.0.0:8080\"\nsession_hours = 2\n",
            )?;
            jail.set_env("SR_SERVER__LISTEN", "127.0.0.1:9999");
            let s = Settings::load(Some(Path::new("sr.toml"))).expect("load");
            assert_eq!(s.server.listen.to_string(), "127.0.0.1:9999");
            assert_eq!(s.server.session_hours, 2);
            Ok(())
        });
    }

    #[test]
    fn bad_value_names_the_key() {
        Jail::expect_with(|jail| {
            jail.set_env("SR_SERVER__LISTEN", "not-an-address");
            let err = Settings::load(None).expect_err("must fail").to_string();
            assert!(err.contains("server.listen"), "{err}");
            assert!(!err.contains('\n'), "one line: {err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_and_bad_database_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("SR_SERVER__LISTEN_PORT", "1");
            let err = Settings::load(None).expect_err("unknown key").to_string();
            assert!(err.contains("listen_port"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("SR_STORAGE__DATABASE_URL", "mysql://x");
            let err = Settings::load(None).expect_err("bad scheme").to_string();
            assert!(err.contains("storage.database_url"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn worker_settings_come_from_the_environment_and_are_checked() {
        Jail::expect_with(|jail| {
            jail.set_env("SR_WORKER__PARALLEL_MAILBOXES", "3");
            jail.set_env("SR_WORKER__SIGN_IN_ATTEMPTS", "7");
            let s = Settings::load(None).expect("loads");
            assert_eq!(s.worker.parallel_mailboxes, 3);
            assert_eq!(s.worker.sign_in_attempts, 7);
            assert_eq!(s.worker.lease().as_secs(), 600);
            assert_eq!(s.worker.sign_in_lockout().as_secs(), 15 * 60);
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("SR_WORKER__REQUESTS_PER_MAILBOX", "0");
            let err = Settings::load(None).expect_err("zero").to_string();
            assert!(
                err.contains("worker.requests_per_mailbox must be between 1 and 16 (got 0)"),
                "{err}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("SR_WORKER__LEASE_SECS", "60");
            jail.set_env("SR_WORKER__TICK_SECS", "30");
            let err = Settings::load(None)
                .expect_err("lease too short")
                .to_string();
            assert!(
                err.contains("at least three times worker.tick_secs"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn blob_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = Settings::for_tests(dir.path()).expect("settings");
        let first = settings.blob_key().expect("key").expect("encryption on");
        let second = settings.blob_key().expect("key").expect("encryption on");
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("blob.key"))
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_bad_configured_key_is_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("SR_STORAGE__ENCRYPTION_KEY", "c2hvcnQ=");
            let err = Settings::load(None).expect_err("short key").to_string();
            assert!(err.contains("storage.encryption_key"), "{err}");
            assert!(err.contains("32 bytes"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn missing_file_is_an_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/sr.toml")))
            .expect_err("missing file")
            .to_string();
        assert!(err.contains("/nonexistent/sr.toml"), "{err}");
    }

    #[test]
    fn a_node_of_several_needs_what_they_share() {
        Jail::expect_with(|jail| {
            let s = Settings::load(None).expect("defaults");
            assert!(s.node.is_whole(), "the embedded portal does everything");
            assert_eq!(s.node.search_shards, 1);

            // A node with some roles, on the embedded defaults: every shared setting is named.
            jail.create_file("web.toml", "[node]\nroles = [\"web\"]\n")?;
            let err = Settings::load(Some(Path::new("web.toml")))
                .expect_err("a web node alone on SQLite")
                .to_string();
            for key in [
                "storage.database_url",
                "storage.s3.bucket",
                "storage.encryption_key",
                "storage.secrets_key",
            ] {
                assert!(err.contains(key), "{key} in: {err}");
            }
            assert!(!err.contains('\n'), "one line: {err}");

            let key = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";
            jail.create_file(
                "cluster.toml",
                &format!(
                    "[storage]\ndatabase_url = \"postgres://db/sr\"\nencryption_key = \"{key}\"\n\
                     secrets_key = \"{key}\"\n[storage.s3]\nbucket = \"archive\"\n\
                     [node]\nroles = [\"web\", \"indexer\"]\nsearch_shards = 4\n"
                ),
            )?;
            let s = Settings::load(Some(Path::new("cluster.toml"))).expect("a complete node");
            assert!(s.node.has(Role::Web) && s.node.has(Role::Indexer));
            assert!(!s.node.has(Role::Sync) && !s.node.is_whole());
            assert_eq!(
                s.secrets_key().expect("configured key"),
                *b"01234567890123456789012345678901"
            );

            jail.set_env("SR_NODE__SEARCH_SHARDS", "0");
            let err = Settings::load(Some(Path::new("cluster.toml")))
                .expect_err("no shards")
                .to_string();
            assert!(err.contains("node.search_shards"), "{err}");
            jail.set_env("SR_NODE__SEARCH_SHARDS", "4");
            jail.create_file("none.toml", "[node]\nroles = []\n")?;
            let err = Settings::load(Some(Path::new("none.toml")))
                .expect_err("no roles")
                .to_string();
            assert!(err.contains("node.roles"), "{err}");
            jail.create_file("typo.toml", "[node]\nroles = [\"webb\"]\n")?;
            let err = Settings::load(Some(Path::new("typo.toml")))
                .expect_err("unknown role")
                .to_string();
            assert!(err.contains("node.roles"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        Jail::expect_with(|jail| {
            jail.set_env("SR_STORAGE__DATABASE_URL", "postgres://u:hunter2@db/x");
            let s = Settings::load(None).expect("load");
            assert!(!format!("{s:?}").contains("hunter2"));
            Ok(())
        });
    }
}
