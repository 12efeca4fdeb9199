//! The server behind the `sync-recover` binary, as a library so integration tests can start it on
//! port 0 with a fresh data folder (`Application::build`).

pub mod cli;
pub mod config;
pub mod demo;
pub mod telemetry;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use accounts::{Accounts, SignInThrottle};
use app::api::context::AppContext;
use archive::Archive;
use database::Database;
use search::{
    Follower, IndexFiles, Indexer, IndexerOptions, SearchError, SearchIndex, SearchReader, Shard,
    ShardLeases, ShardedSearch,
};
use secrecy::ExposeSecret;
use syncer::{ServiceOptions, SyncService, SyncStore, SyncWorker};
use tokio::net::TcpListener;

use config::{Role, Settings};

/// Opens (and creates) the data folder and the database, running migrations.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    if settings.storage.database_url.is_none() {
        std::fs::create_dir_all(&settings.storage.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the data folder `{}`: {e}",
                settings.storage.data_dir.display()
            )
        })?;
    }
    Ok(Database::open(settings.database_url().expose_secret()).await?)
}

/// The archive store over this database, with the blob store of these settings: the data
/// folder's `blobs/`, or the S3 bucket of `[storage.s3]`.
pub fn archive_on(settings: &Settings, db: Database) -> anyhow::Result<Archive> {
    let key = settings.blob_key()?.map(archive::BlobKey::from_bytes);
    let blobs = match s3_blob_store(settings)? {
        Some(s3) => archive::Blobs::new(std::sync::Arc::new(s3), key),
        None => archive::Blobs::local(settings.storage.data_dir.join("blobs"), key)?,
    };
    Ok(Archive::new(db, blobs))
}

/// The S3 blob store of `[storage.s3]`, when a bucket is set.
pub fn s3_blob_store(settings: &Settings) -> anyhow::Result<Option<archive::S3BlobStore>> {
    s3_store_under(settings, "")
}

/// Where search shards are published for the other nodes: the bucket of `[storage.s3]` under
/// `index/`, sealed with the archive's key. `None` without a bucket: a node alone searches the
/// index it writes.
pub fn index_files(settings: &Settings) -> anyhow::Result<Option<IndexFiles>> {
    let key = settings.blob_key()?.map(archive::BlobKey::from_bytes);
    Ok(s3_store_under(settings, "index/")?
        .map(|store| IndexFiles::new(archive::Blobs::new(Arc::new(store), key))))
}

fn s3_store_under(
    settings: &Settings,
    below: &str,
) -> anyhow::Result<Option<archive::S3BlobStore>> {
    let s3 = &settings.storage.s3;
    if s3.bucket.is_empty() {
        return Ok(None);
    }
    let store = archive::S3BlobStore::open(&archive::S3Settings {
        bucket: s3.bucket.clone(),
        endpoint: s3.endpoint.clone(),
        region: s3.region.clone(),
        path_style: s3.path_style,
        access_key_id: s3.access_key_id.clone(),
        secret_access_key: s3
            .secret_access_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        prefix: format!("{}{below}", s3.prefix),
        max_retries: 5,
        retry_timeout: std::time::Duration::from_secs(60),
    })?;
    Ok(Some(store))
}

/// The database and the archive, for commands that need only the archive.
pub async fn open_archive(settings: &Settings) -> anyhow::Result<Archive> {
    archive_on(settings, open_database(settings).await?)
}

/// The search index in the data folder. Only one process can hold it open for writing.
pub fn open_search(settings: &Settings) -> anyhow::Result<SearchIndex> {
    open_search_shard(settings, Shard::WHOLE)
}

/// One shard's index in the data folder, for writing.
pub fn open_search_shard(settings: &Settings, shard: Shard) -> anyhow::Result<SearchIndex> {
    let dir = search::shard_dir(&settings.storage.data_dir.join("index"), shard);
    let memory = settings.worker.index_writer_mb * 1024 * 1024 / shard.of.max(1) as usize;
    SearchIndex::open_shard(&dir, memory, shard).map_err(|e| {
        anyhow::anyhow!(
            "cannot open the search index in {} (is another sync-recover process using this data \
             folder?): {e}",
            dir.display()
        )
    })
}

/// The search index in the data folder, read-only: it opens while a portal holds the writer, and
/// shows what that writer has committed. With several shards, each is this node's written
/// copy, or else its fetched one.
pub fn open_search_reader(settings: &Settings) -> anyhow::Result<ShardedSearch> {
    let shards = settings.node.search_shards;
    let search = ShardedSearch::new(shards);
    for shard in Shard::all(shards) {
        let written = search::shard_dir(&settings.storage.data_dir.join("index"), shard);
        let fetched = search::shard_dir(&settings.storage.data_dir.join("index-copies"), shard);
        let dir = if written.join("meta.json").exists() || !fetched.exists() {
            written
        } else {
            fetched
        };
        let reader = SearchReader::open_shard(&dir, shard).map_err(|e| match e {
            SearchError::Missing(_) | SearchError::Outdated(_) => anyhow::anyhow!(
                "{e}: the portal (`sync-recover serve`) builds it when it starts, or run \
                 `sync-recover reindex`"
            ),
            e => anyhow::anyhow!("cannot open the search index in {}: {e}", dir.display()),
        })?;
        search.serve_replica(shard, reader);
    }
    Ok(search)
}

/// This process's name in leases: unique per process, so a restarted node waits for the
/// leases of the one that died to lapse like any other node would.
pub fn node_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Server connections, sync tasks and the worker that runs them, over this archive.
pub fn sync_service(
    settings: &Settings,
    db: &Database,
    archive: &Archive,
) -> anyhow::Result<SyncService> {
    let store = SyncStore::new(db.clone(), settings.secrets_key()?);
    let w = &settings.worker;
    Ok(SyncService::new(
        store,
        archive.clone(),
        ServiceOptions {
            lease: w.lease(),
            tick: w.tick(),
            parallel_mailboxes: w.parallel_mailboxes,
            in_flight: w.requests_per_mailbox,
            node: Some(format!("{}:sync", node_name())),
            ..ServiceOptions::default()
        },
    ))
}

/// Exports (and later restores) over this archive: the scratch folder and part size of these
/// settings.
pub fn exporter_on(settings: &Settings, db: &Database, archive: &Archive) -> recovery::Exporter {
    recovery::Exporter::new(
        archive.clone(),
        jobs::Jobs::new(db.clone()),
        settings.storage.data_dir.join("exports"),
        settings.worker.export_part_mb * 1024 * 1024,
    )
}

/// Restores write through the sync connections.
pub fn restorer_on(db: &Database, archive: &Archive, sync: &SyncService) -> recovery::Restorer {
    recovery::Restorer::new(
        archive.clone(),
        jobs::Jobs::new(db.clone()),
        sync.store().clone(),
    )
}

/// Imports of files waiting in `data_dir/imports` (copied there, or uploaded on the portal).
pub fn importer_on(settings: &Settings, db: &Database, archive: &Archive) -> recovery::Importer {
    recovery::Importer::new(
        archive.clone(),
        jobs::Jobs::new(db.clone()),
        settings.storage.data_dir.join("imports"),
    )
}

/// Retention purges run on the job workers too, taking mailboxes from the sync workers.
pub fn purger_on(db: &Database, archive: &Archive, sync: &SyncStore) -> recovery::Purger {
    recovery::Purger::new(archive.clone(), jobs::Jobs::new(db.clone()), sync.clone())
}

/// Writes the audit entry of each purge or import that ended, with what it did: the job runs in
/// the background, after the request that started it is long gone.
pub struct JobEndAudit(pub access::AuditLog);

#[async_trait::async_trait]
impl recovery::JobEnded for JobEndAudit {
    async fn ended(&self, job: &jobs::Job) {
        let (action, summary) = match job.kind.as_str() {
            recovery::PURGE_KIND => (
                access::AuditAction::PurgeFinished,
                recovery::PurgeSummary::of(job).map(|s| s.describe()),
            ),
            recovery::IMPORT_KIND => (
                access::AuditAction::ImportFinished,
                recovery::ImportReport::of(job).map(|r| r.describe()),
            ),
            _ => return,
        };
        let (outcome, said) = match job.state {
            jobs::JobState::Done => ("ok", summary.unwrap_or_default()),
            jobs::JobState::Cancelled => ("ok", "cancelled".to_owned()),
            _ => ("failed", job.error.clone().unwrap_or_default()),
        };
        let entry = access::NewAuditEntry {
            actor_user_id: None,
            actor: job.owner.clone(),
            actor_role: String::new(),
            client_address: String::new(),
            action,
            target_mailbox: job.mailbox_id,
            target_owner: String::new(),
            detail: format!("job {}: {} · {said}", job.id, job.label),
            outcome: outcome.to_owned(),
        };
        if let Err(e) = self.0.append(&entry).await {
            tracing::error!(job = job.id, error = %e, "the end of a purge is not in the audit log");
        }
    }
}

/// What this node's job workers run.
pub struct JobRunners {
    pub exporter: recovery::Exporter,
    pub restorer: recovery::Restorer,
    pub purger: recovery::Purger,
    pub importer: recovery::Importer,
    pub audit: access::AuditLog,
}

impl JobRunners {
    /// A worker that runs every kind, telling the audit log of each purge's end.
    pub fn worker(&self, name: String, lease: Duration) -> recovery::Worker {
        recovery::Worker::new(name, self.exporter.clone())
            .with_restorer(self.restorer.clone())
            .with_purger(self.purger.clone())
            .with_importer(self.importer.clone())
            .on_end(Arc::new(JobEndAudit(self.audit.clone())))
            .with_lease(lease)
    }
}

/// This node's job workers; an idle one stops when `stop` turns true.
fn spawn_job_workers(
    count: usize,
    lease: Duration,
    runners: &JobRunners,
    stop: &tokio::sync::watch::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let node = node_name();
    (0..count)
        .map(|n| {
            let worker = runners.worker(format!("{node}:jobs-{n}"), lease);
            tokio::spawn(worker.run(stop.subscribe()))
        })
        .collect()
}

/// The single sign-on provider of these settings, if one is configured.
pub fn sso_setup(
    settings: &Settings,
    db: &Database,
) -> anyhow::Result<Option<Arc<web::sso::SsoSetup>>> {
    if !settings.sso_enabled() {
        return Ok(None);
    }
    let s = &settings.sso;
    let config = sso::SsoConfig {
        issuer: s.issuer.trim().to_owned(),
        client_id: s.client_id.trim().to_owned(),
        client_secret: s
            .client_secret
            .as_ref()
            .map(|c| c.expose_secret().to_owned())
            .unwrap_or_default(),
        scopes: s.scopes.clone(),
        redirect_url: settings
            .sso_redirect_url()
            .ok_or_else(|| anyhow::anyhow!("server.public_url is needed for single sign-on"))?,
        roles_claim: s.roles_claim.clone(),
    };
    let policy = access::SsoPolicy {
        role_map: s
            .role_map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        default_role: Some(s.default_role.trim().to_owned()).filter(|r| !r.is_empty()),
        create_users: s.create_users,
    };
    Ok(Some(Arc::new(web::sso::SsoSetup {
        sso: sso::Sso::new(db.clone(), config)?,
        policy,
        auto_redirect: s.auto_redirect,
    })))
}

/// Records for calendar items and contacts archived before records were kept, once per start
/// in the background (a no-op query when there is nothing left to do).
fn spawn_backfill(archive: Archive) {
    tokio::spawn(async move {
        match syncer::backfill_records(&archive).await {
            Ok(r) if r.filled + r.unreadable > 0 => tracing::info!(
                filled = r.filled,
                unreadable = r.unreadable,
                "calendar and contact records read from archived content"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "calendar and contact records not backfilled"),
        }
    });
}

/// A bound, ready-to-run portal.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// This node's indexer and shard follower, when its roles have them.
    search_tasks: Vec<tokio::task::JoinHandle<()>>,
    worker: Option<SyncWorker>,
    sync: SyncService,
    archive: Archive,
    search: Arc<ShardedSearch>,
    job_workers: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// Starts this node's part of the search: the indexer (caught up once before the portal
/// serves, so a crash never leaves archived mail unsearchable) and, when shards are published
/// for several nodes, the follower that fetches the shards written elsewhere.
async fn start_search(
    settings: &Settings,
    db: &Database,
    archive: &Archive,
    stop: &tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<(Arc<ShardedSearch>, Vec<tokio::task::JoinHandle<()>>)> {
    let node = &settings.node;
    let search = Arc::new(ShardedSearch::new(node.search_shards));
    let leases = ShardLeases::new(db.clone());
    let publish = index_files(settings)?;
    let mut tasks = Vec::new();
    if node.has(Role::Indexer) {
        let dir = settings.storage.data_dir.join("index");
        let mut indexer = Indexer::new(
            IndexerOptions {
                node: node_name(),
                dir: dir.clone(),
                shards: node.search_shards,
                writer_memory_bytes: settings.worker.index_writer_mb * 1024 * 1024,
                lease: settings.worker.index_lease(),
                interval: settings.worker.index_interval(),
                publish: publish.clone(),
                retired_grace: search::RETIRED_GRACE,
            },
            leases.clone(),
            archive.clone(),
            Arc::clone(&search),
        );
        loop {
            let (_, more) = indexer.step().await.map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the search index in {} (is another sync-recover process using \
                     this data folder?): {e}",
                    dir.display()
                )
            })?;
            if !more {
                break;
            }
        }
        tasks.push(tokio::spawn(indexer.run(stop.subscribe())));
    }
    if let (true, Some(files)) = (node.has(Role::Web), publish) {
        let mut follower = Follower::new(
            leases,
            files,
            settings.storage.data_dir.join("index-copies"),
            Arc::clone(&search),
        );
        // The first searches find what is published already; a shard nobody has published
        // yet says so when searched.
        if let Err(e) = follower.step().await {
            tracing::warn!(error = %e, "not every search shard could be fetched yet");
        }
        tasks.push(tokio::spawn(
            follower.run(settings.worker.index_interval(), stop.subscribe()),
        ));
    }
    Ok((search, tasks))
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        // The server owns the one database handle; each store gets its own clone of it.
        let db = open_database(settings).await?;
        let archive = archive_on(settings, db.clone())?;
        // A bucket that cannot be reached (or read with these credentials) is one line at start.
        archive
            .blobs()
            .backend()
            .check()
            .await
            .map_err(|e| anyhow::anyhow!("storage.s3: {e}"))?;
        let node = &settings.node;
        let (stop, _) = tokio::sync::watch::channel(false);
        let (search, search_tasks) = start_search(settings, &db, &archive, &stop).await?;
        let sync = sync_service(settings, &db, &archive)?;
        let worker = if node.has(Role::Sync) {
            spawn_backfill(archive.clone());
            Some(sync.spawn())
        } else {
            None
        };
        let exporter = exporter_on(settings, &db, &archive);
        let restorer = restorer_on(&db, &archive, &sync);
        let importer = importer_on(settings, &db, &archive);
        let runners = JobRunners {
            exporter: exporter.clone(),
            restorer: restorer.clone(),
            purger: purger_on(&db, &archive, sync.store()),
            importer: importer.clone(),
            audit: access::AuditLog::new(db.clone()),
        };
        let job_workers = spawn_job_workers(
            if node.has(Role::Jobs) {
                settings.worker.job_workers
            } else {
                0
            },
            settings.worker.job_lease(),
            &runners,
            &stop,
        );
        let sso = sso_setup(settings, &db)?;
        let ctx = AppContext {
            sso_label: sso.as_ref().map(|_| settings.sso.provider_name.clone()),
            access: access::Access::new(
                db.clone(),
                Accounts::new(db.clone()),
                archive.clone(),
                Arc::clone(&search),
                sync.clone(),
                access::JobDesks {
                    exporter,
                    restorer,
                    importer,
                },
            ),
            throttle: Arc::new(SignInThrottle::new(
                settings.worker.sign_in_attempts,
                settings.worker.sign_in_lockout(),
            )),
            secure_cookies: settings.secure_cookies(),
            session_lifetime: Duration::from_secs(settings.server.session_hours * 3600),
            trusted_proxies: Arc::new(settings.server.trusted_proxies.clone()),
        };
        let listener = TcpListener::bind(settings.server.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.server.listen))?;
        let images = mailview::ImageFetcher::new(settings.server.images_from_private_networks)
            .map_err(|e| anyhow::anyhow!("cannot set up the image loader: {e}"))?;
        let router = if node.has(Role::Web) {
            web::router(settings, ctx, db, sso, images)
        } else {
            web::node_router(db)
        };
        Ok(Application {
            listener,
            router,
            search_tasks,
            worker,
            sync,
            archive,
            search,
            job_workers,
            stop,
        })
    }

    /// The sync service (connections, tasks, the worker), for set-up before serving.
    pub fn sync(&self) -> &SyncService {
        &self.sync
    }

    pub fn archive(&self) -> &Archive {
        &self.archive
    }

    /// What this node searches: its own shards and its copies of the others.
    pub fn search(&self) -> &Arc<ShardedSearch> {
        &self.search
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        // Runs in progress stop at a page boundary; their sync states say where to resume.
        if let Some(worker) = self.worker {
            worker.stop().await;
        }
        // Idle job workers stop at once; a job still running after a few seconds is cut off
        // and, its lease running out, taken up again by the next node or start. The indexer
        // finishes its round and gives its shards up, so another node takes them at once.
        let _ = self.stop.send(true);
        for job_worker in self.job_workers.into_iter().chain(self.search_tasks) {
            let abort = job_worker.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), job_worker)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        served
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives once the portal has announced its address
/// (the future is polled only when serving begins) stops it cleanly instead of killing it.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut interrupt), Ok(mut terminate)) => {
                tokio::select! {
                    _ = interrupt.recv() => {},
                    _ = terminate.recv() => {},
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for Ctrl-C or SIGTERM");
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
