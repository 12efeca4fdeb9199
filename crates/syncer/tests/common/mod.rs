//! Shared set-up: the simulator, a fresh archive on a temporary SQLite file (or PostgreSQL
//! unless SR_TEST_POSTGRES=skip), sources for both protocols.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use archive::{Archive, Blobs, ItemKind, MailboxId};
use database::Database;
use exchange_sim::{RunningSim, SimConfig};
use mailsync::{
    EwsConfig, EwsSource, GraphConfig, GraphSource, MailboxSource, RetryPolicy, SyncOptions,
};

pub const ALICE: &str = "alice.martin@example.com";
pub const BRUNO: &str = "bruno.keller@example.com";
pub const CHLOE: &str = "chloe.dubois@example.com";
pub const KEY: [u8; 32] = [0x42; 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Ews,
    Graph,
}

pub async fn sim() -> RunningSim {
    exchange_sim::start(SimConfig::for_tests()).await.unwrap()
}

pub fn ews_config(sim: &RunningSim) -> EwsConfig {
    let d = SimConfig::default();
    EwsConfig::new(&sim.ews_url(), &d.service_account, &d.service_password)
}

pub fn graph_config(sim: &RunningSim) -> GraphConfig {
    let d = SimConfig::default();
    let mut c = GraphConfig::new(&d.tenant, &d.client_id, &d.client_secret);
    c.graph_base = sim.graph_url();
    c.token_url = sim.token_url(&d.tenant);
    c
}

pub fn source(proto: Proto, sim: &RunningSim) -> Arc<dyn MailboxSource> {
    paged_source(proto, sim, 0)
}

/// `page` 0 keeps the connector's default page size.
pub fn paged_source(proto: Proto, sim: &RunningSim, page: u32) -> Arc<dyn MailboxSource> {
    match proto {
        Proto::Ews => {
            let mut c = ews_config(sim);
            if page > 0 {
                c.max_changes = page;
            }
            Arc::new(EwsSource::new(c).unwrap())
        }
        Proto::Graph => {
            let mut c = graph_config(sim);
            if page > 0 {
                c.page_size = page;
            }
            Arc::new(GraphSource::new(c).unwrap())
        }
    }
}

pub fn retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 12,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_server_wait: Duration::from_secs(2),
    }
}

pub fn options() -> SyncOptions {
    SyncOptions {
        retry: retry(),
        ..SyncOptions::default()
    }
}

pub struct Env {
    pub archive: Archive,
    kit: testkit::TestDb,
}

impl Env {
    fn over(kit: testkit::TestDb) -> Env {
        let blobs = Blobs::local(kit.dir().join("blobs"), None).unwrap();
        Env {
            archive: Archive::new(kit.db.clone(), blobs),
            kit,
        }
    }

    pub async fn sqlite() -> Env {
        Env::over(testkit::TestDb::sqlite().await)
    }

    /// None when PostgreSQL tests are switched off.
    pub async fn postgres() -> Option<Env> {
        Some(Env::over(testkit::TestDb::postgres().await?))
    }

    pub fn db(&self) -> &Database {
        self.archive.database()
    }

    pub async fn finish(self) {
        self.archive.database().pool.close().await;
        self.kit.finish().await;
    }

    /// Live items of a kind in the mailbox now.
    pub async fn live_count(&self, mailbox: MailboxId, kind: ItemKind) -> usize {
        let state = self
            .archive
            .state_at(mailbox, archive::Timestamp::now())
            .await
            .unwrap();
        let mut n = 0;
        for i in state.items {
            if self.archive.item(i.item_id).await.unwrap().unwrap().kind == kind {
                n += 1;
            }
        }
        n
    }

    /// Live items in the folder at this display-name path ("Inbox/Projects").
    pub async fn items_in_path(&self, mailbox: MailboxId, path: &str) -> Option<i64> {
        let want: Vec<String> = path.split('/').map(str::to_string).collect();
        self.archive
            .folder_tree(mailbox, None)
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.path == want)
            .map(|f| f.total)
    }
}

/// A plain test message to Alice whose body is its subject.
pub fn mime(subject: &str) -> Vec<u8> {
    testkit::mime::Mail::new(subject).build()
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn ews() {
                super::$name(Proto::Ews).await
            }
            #[tokio::test]
            async fn graph() {
                super::$name(Proto::Graph).await
            }
        }
    };
}
pub(crate) use both;

/// The archive target with a fuse: after `n` sync-state saves the "process dies".
pub struct Crashing {
    pub inner: syncer::ArchiveTarget,
    pub saves_left: AtomicU64,
}

#[async_trait::async_trait]
impl mailsync::SyncTarget for Crashing {
    async fn load_sync_state(&self, key: &str) -> Result<Option<String>, mailsync::TargetError> {
        self.inner.load_sync_state(key).await
    }
    async fn save_sync_state(&self, key: &str, state: &str) -> Result<(), mailsync::TargetError> {
        if self
            .saves_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
        {
            return Err(mailsync::TargetError(
                "simulated crash before saving the sync state".into(),
            ));
        }
        self.inner.save_sync_state(key, state).await
    }
    async fn delete_sync_state(&self, key: &str) -> Result<(), mailsync::TargetError> {
        self.inner.delete_sync_state(key).await
    }
    async fn upsert_folder(
        &self,
        id: &str,
        parent: Option<&str>,
        name: &str,
        kind: mailsync::FolderKind,
        well_known: Option<mailsync::source::WellKnown>,
    ) -> Result<bool, mailsync::TargetError> {
        self.inner
            .upsert_folder(id, parent, name, kind, well_known)
            .await
    }
    async fn close_folder(&self, id: &str) -> Result<(), mailsync::TargetError> {
        self.inner.close_folder(id).await
    }
    async fn live_folders(&self) -> Result<Vec<mailsync::SourceFolder>, mailsync::TargetError> {
        self.inner.live_folders().await
    }
    async fn item_location(
        &self,
        id: &str,
    ) -> Result<Option<mailsync::ItemLocation>, mailsync::TargetError> {
        self.inner.item_location(id).await
    }
    async fn folder_item_ids(&self, folder: &str) -> Result<Vec<String>, mailsync::TargetError> {
        self.inner.folder_item_ids(folder).await
    }
    async fn set_owner_name(&self, name: &str) -> Result<(), mailsync::TargetError> {
        self.inner.set_owner_name(name).await
    }
    async fn put_messages(
        &self,
        folder: &str,
        messages: Vec<mailsync::NewMessage>,
    ) -> Result<(), mailsync::TargetError> {
        self.inner.put_messages(folder, messages).await
    }
    async fn put_calendar_item(
        &self,
        folder: &str,
        id: &str,
        f: mailsync::ContentFormat,
        data: &mailsync::ItemContent,
    ) -> Result<(), mailsync::TargetError> {
        self.inner.put_calendar_item(folder, id, f, data).await
    }
    async fn put_contact(
        &self,
        folder: &str,
        id: &str,
        f: mailsync::ContentFormat,
        data: &mailsync::ItemContent,
    ) -> Result<(), mailsync::TargetError> {
        self.inner.put_contact(folder, id, f, data).await
    }
    async fn move_item(
        &self,
        id: &str,
        to: &str,
        new: Option<&str>,
    ) -> Result<(), mailsync::TargetError> {
        self.inner.move_item(id, to, new).await
    }
    async fn twins(
        &self,
        key: Option<&str>,
        raw: &[u8],
    ) -> Result<Vec<String>, mailsync::TargetError> {
        self.inner.twins(key, raw).await
    }
    async fn delete_item(&self, id: &str) -> Result<(), mailsync::TargetError> {
        self.inner.delete_item(id).await
    }
    async fn set_read(&self, id: &str, is_read: bool) -> Result<(), mailsync::TargetError> {
        self.inner.set_read(id, is_read).await
    }
    async fn record_failed_item(
        &self,
        item: &mailsync::FailedItem,
    ) -> Result<(), mailsync::TargetError> {
        self.inner.record_failed_item(item).await
    }
    async fn clear_failed_item(&self, id: &str) -> Result<(), mailsync::TargetError> {
        self.inner.clear_failed_item(id).await
    }
    async fn failed_items(&self) -> Result<Vec<mailsync::FailedItem>, mailsync::TargetError> {
        self.inner.failed_items().await
    }
}
