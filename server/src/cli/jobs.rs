//! What the `export` and `restore` commands share: naming what to take, and following a job to
//! its end with a progress bar while this process runs it.

use std::time::Duration;

use anyhow::Context;
use archive::{Archive, ItemKind, Mailbox, Timestamp};
use indicatif::{ProgressBar, ProgressStyle};
use jobs::{Job, Jobs};
use recovery::{ItemSource, Worker};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Mail,
    Calendar,
    Contacts,
}

/// What to take, as the command line names it.
pub struct Taken {
    pub mailbox: String,
    pub folder: Option<String>,
    pub snapshot: Option<i64>,
    pub at: Option<String>,
    pub only: Vec<Kind>,
}

impl Taken {
    /// The archived mailbox and the items of it these arguments name.
    pub async fn source(&self, archive: &Archive) -> anyhow::Result<(Mailbox, ItemSource)> {
        let mailbox = archive
            .mailbox_by_name(&self.mailbox)
            .await?
            .with_context(|| format!("no archived mailbox is named `{}`", self.mailbox))?;
        let at = match &self.at {
            Some(text) => Some(Timestamp::parse_instant(text).with_context(|| {
                format!("`{text}` is not a date and time: write it like 2026-03-01T14:00")
            })?),
            None => None,
        };
        let source = match (self.snapshot, &self.folder) {
            (Some(snapshot), _) => ItemSource::Snapshot { snapshot },
            (None, Some(path)) => {
                let wanted: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
                let folder = archive
                    .folder_tree(mailbox.id, at)
                    .await?
                    .into_iter()
                    .find(|f| f.path.iter().map(String::as_str).eq(wanted.iter().copied()))
                    .with_context(|| format!("`{path}` is not a folder of {}", mailbox.name))?;
                ItemSource::Folders {
                    mailbox: mailbox.id,
                    folders: vec![folder.id],
                    at,
                }
            }
            (None, None) => ItemSource::Mailbox {
                mailbox: mailbox.id,
                at,
            },
        };
        Ok((mailbox, source))
    }

    pub fn kinds(&self) -> Vec<ItemKind> {
        if self.only.is_empty() {
            return vec![ItemKind::Message, ItemKind::Calendar, ItemKind::Contact];
        }
        self.only
            .iter()
            .map(|k| match k {
                Kind::Mail => ItemKind::Message,
                Kind::Calendar => ItemKind::Calendar,
                Kind::Contacts => ItemKind::Contact,
            })
            .collect()
    }
}

/// Runs the job here (a portal's worker that took it first runs it there, and this follows it)
/// and shows its progress until it ends. `storing` is said once every item is done.
pub async fn run_and_follow(
    worker: Worker,
    jobs: &Jobs,
    id: i64,
    total: usize,
    storing: Option<&str>,
) -> anyhow::Result<Job> {
    let runner = tokio::spawn(async move { worker.run_this(id).await });
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ended = loop {
        let now = jobs.get(id).await?.context("the job disappeared")?;
        bar.set_length(u64::try_from(now.total.max(1)).unwrap_or(1));
        bar.set_position(u64::try_from(now.processed).unwrap_or(0));
        if let Some(message) = storing.filter(|_| now.total > 0 && now.processed >= now.total) {
            bar.set_message(message.to_owned());
        }
        if now.state.is_finished() {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_and_clear();
    if let Ok(Err(e)) = runner.await {
        eprintln!("note: {e}");
    }
    Ok(ended)
}
