//! The demo set-up behind `serve --demo`: accounts a newcomer can sign in with right away and an
//! archive to look at. Created only in an empty database, so a real installation is never touched.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use accounts::Accounts;
use archive::{Archive, FolderKind, FolderSpec, ItemKind, NewMailbox, PutItem, Timestamp};
use database::Database;
use syncer::{ConnectionSettings, NewConnection, NewTask, SyncService};
use transfer::import::{import, ImportFormat, ImportOptions};
use transfer::mailgen::MailGen;

pub struct DemoAccount {
    pub username: &'static str,
    pub display_name: &'static str,
    pub password: &'static str,
    pub address: Option<&'static str>,
    pub is_admin: bool,
}

/// The end user owns the address of a mailbox in the built-in Exchange simulator's seed.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "alice",
        display_name: "Alice Martin",
        password: "demo-password",
        address: Some("alice.martin@example.com"),
        is_admin: false,
    },
    DemoAccount {
        username: "admin",
        display_name: "Archive Administrator",
        password: "admin-password",
        address: None,
        is_admin: true,
    },
];

/// Where the shared test corpus sits relative to the project (`../shared/corpus`).
fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus");
    dir.is_dir().then_some(dir)
}

/// The built-in Exchange simulator the demo syncs from: its seed mailboxes, on a fixed local port
/// so the demo's stored connections stay valid across restarts.
pub fn simulator_config() -> exchange_sim::SimConfig {
    exchange_sim::SimConfig::default()
}

/// Connections to the simulator, one per protocol, and a sync task for each: Alice and Bruno
/// through EWS (on-premises), Chloé through Microsoft Graph (Exchange Online). Every mailbox is
/// asked to sync at once, so a newcomer watches the mail arrive.
pub async fn seed_sync(
    sync: &SyncService,
    archive: &Archive,
    sim: &exchange_sim::RunningSim,
) -> anyhow::Result<()> {
    let config = simulator_config();
    let store = sync.store();
    if store.list_connections().await?.is_empty() {
        // Exchange's connectors report no display names: name the mailboxes for the portal
        // before their first sync, which then fills them.
        for (address, name) in [
            ("alice.martin@example.com", "Alice Martin"),
            ("bruno.keller@example.com", "Bruno Keller"),
            ("chloe.dubois@example.com", "Chloé Dubois"),
        ] {
            archive
                .ensure_mailbox(&NewMailbox {
                    name: address.to_owned(),
                    owner_address: address.to_owned(),
                    display_name: name.to_owned(),
                })
                .await?;
        }
        let ews = store
            .create_connection(&NewConnection {
                name: "Head office Exchange (simulator)".to_owned(),
                settings: ConnectionSettings::Ews {
                    url: sim.ews_url(),
                    username: config.service_account.clone(),
                },
                secret: config.service_password.clone(),
            })
            .await?;
        let graph = store
            .create_connection(&NewConnection {
                name: "Exchange Online (simulator)".to_owned(),
                settings: ConnectionSettings::Graph {
                    tenant_id: config.tenant.clone(),
                    client_id: config.client_id.clone(),
                    graph_endpoint: Some(sim.graph_url()),
                    token_endpoint: Some(sim.token_url(&config.tenant)),
                },
                secret: config.client_secret.clone(),
            })
            .await?;
        // A task may be enabled only on a connection that passed its test.
        for connection in [&ews, &graph] {
            let report = store.test_connection(connection.id, None).await?;
            anyhow::ensure!(
                report.ok,
                "the demo connection “{}” failed its test: {}",
                connection.name,
                report.message
            );
        }
        // Each task is created with its mailboxes in one step.
        store
            .create_task(&NewTask {
                mailboxes: vec![
                    "alice.martin@example.com".to_owned(),
                    "bruno.keller@example.com".to_owned(),
                ],
                ..NewTask::new("Head office mailboxes", ews.id)
            })
            .await?;
        store
            .create_task(&NewTask {
                mailboxes: vec!["chloe.dubois@example.com".to_owned()],
                ..NewTask::new("Exchange Online mailboxes", graph.id)
            })
            .await?;
        for task in store.list_tasks().await? {
            sync.run_task_now(task.id).await?;
        }
    }
    Ok(())
}

/// Creates the demo accounts and imports the legacy demo mail when there are no users yet.
/// Returns whether it did.
pub async fn seed(db: &Database, archive: &Archive) -> anyhow::Result<bool> {
    let accounts = Accounts::new(db.clone());
    let roles = access::Roles::new(db.clone());
    if !accounts.list_users().await?.is_empty() {
        return Ok(false);
    }
    for account in DEMO_ACCOUNTS {
        let user = accounts
            .create_user(
                account.username,
                account.display_name,
                Some(account.password),
            )
            .await?;
        if account.is_admin {
            roles.assign_builtin(user.id, access::ADMINISTRATOR).await?;
        }
        if let Some(address) = account.address {
            accounts.add_address(user.id, address).await?;
        }
    }
    generate_history(archive).await?;
    import_legacy_corpus(archive).await?;
    Ok(true)
}

/// Messages in the earlier-archive demo mailbox.
const GENERATED_MESSAGES: usize = 1_500;

/// A realistic, generated mail history (threads, attachments, HTML and plain bodies, several
/// charsets) in its own mailbox, so the demo has volume to browse and search.
async fn generate_history(archive: &Archive) -> anyhow::Result<()> {
    let mailbox = archive
        .ensure_mailbox(&NewMailbox {
            name: "alice.martin@example.com (earlier archive)".to_owned(),
            owner_address: "alice.martin@example.com".to_owned(),
            display_name: "Alice Martin: earlier archive".to_owned(),
        })
        .await?;
    put_generated(archive, mailbox.id, GENERATED_MESSAGES, 2026, |_, path| {
        path
    })
    .await
}

/// Puts `count` generated messages into a mailbox, creating their folders. `place` may move
/// message `i` from the generator's folder path to another one.
pub async fn put_generated(
    archive: &Archive,
    mailbox_id: i64,
    count: usize,
    seed: u64,
    place: impl Fn(usize, Vec<String>) -> Vec<String>,
) -> anyhow::Result<()> {
    let at = Timestamp::now();
    let mut generator = MailGen::new(seed);
    let mut known_folders = HashSet::new();
    let mut batch = Vec::new();
    for i in 0..count {
        let (path, raw) = generator.message(i);
        let path = place(i, path);
        // Each folder of the path, parents first; the source id is the path itself.
        for depth in 1..=path.len() {
            let source_id = path[..depth].join("/");
            if known_folders.insert(source_id.clone()) {
                let name = path[depth - 1].clone();
                archive
                    .upsert_folder(
                        mailbox_id,
                        &FolderSpec {
                            parent_source_id: (depth > 1).then(|| path[..depth - 1].join("/")),
                            kind: folder_kind(&name, depth),
                            name,
                            source_id,
                        },
                        at,
                    )
                    .await?;
            }
        }
        batch.push(PutItem {
            mailbox_id,
            folder_source_id: path.join("/"),
            source_id: format!("generated-{i}"),
            kind: ItemKind::Message,
            raw,
            is_read: i % 9 != 0,
            flags: Vec::new(),
            meta: None,
            properties: None,
            fallback_date: None,
            at,
        });
        if batch.len() == 250 {
            archive.put_items(std::mem::take(&mut batch)).await?;
        }
    }
    archive.put_items(batch).await?;
    Ok(())
}

fn folder_kind(name: &str, depth: usize) -> FolderKind {
    match (depth, name) {
        (1, "Inbox") => FolderKind::Inbox,
        (1, "Sent Items") => FolderKind::Sent,
        (1, "Drafts") => FolderKind::Drafts,
        (1, "Deleted Items") => FolderKind::Deleted,
        (1, "Archive") => FolderKind::Archive,
        _ => FolderKind::Other,
    }
}

/// Real-world messages (well-formed, odd and broken) as Alice's legacy archive, the way an
/// administrator would ingest old mail before the first sync.
async fn import_legacy_corpus(archive: &Archive) -> anyhow::Result<()> {
    let Some(corpus) = corpus_dir() else {
        tracing::warn!("../shared/corpus not found: the demo has no legacy import");
        return Ok(());
    };
    let mut options = ImportOptions::new(NewMailbox {
        name: "alice.martin@example.com (legacy import)".to_owned(),
        owner_address: "alice.martin@example.com".to_owned(),
        display_name: "Alice Martin: legacy archive".to_owned(),
    });
    options.eml_extensions = vec!["eml".to_owned(), "raw".to_owned()];
    let sources = [
        (
            ImportFormat::Maildir,
            corpus.join("mail-parser/maildir"),
            "Inbox",
        ),
        (
            ImportFormat::EmlFolder,
            corpus.join("mail-parser"),
            "Test messages",
        ),
        (
            ImportFormat::EmlFolder,
            corpus.join("enmime"),
            "Low-quality mail",
        ),
    ];
    for (format, path, root) in sources {
        if !path.exists() {
            continue;
        }
        options.root_folder = root.to_owned();
        let summary = import(archive, format, &path, &options, &mut |_| {}).await?;
        tracing::info!(
            source = %path.display(),
            imported = summary.imported,
            failed = summary.failed.len(),
            "demo legacy import"
        );
    }
    Ok(())
}
