use archive::{Floor, Mailbox, RetentionChange, RetentionFloors, RetentionPolicy};
use jobs::{Job, JobFilter};
use recovery::{MailboxPreview, PurgeRequest, PURGE_KIND};

use crate::{AccessError, AuditAction, Caller};

/// Retention: the policy, its dry run and the purge job (permission `retention`). The policy
/// covers every mailbox, so the permission is not scoped.
pub struct RetentionAdmin<'a> {
    caller: &'a Caller,
}

fn refusal(e: recovery::RecoveryError) -> AccessError {
    crate::recovery_refusal("retention", e)
}

/// How many items of each mailbox a dry run lists by name.
const SAMPLE: u32 = 20;

impl<'a> RetentionAdmin<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        RetentionAdmin { caller }
    }

    fn archive(&self) -> &archive::Archive {
        &self.caller.access.inner.archive
    }

    fn sync(&self) -> &syncer::SyncStore {
        self.caller.access.inner.sync.store()
    }

    pub async fn policy(&self) -> Result<RetentionPolicy, AccessError> {
        Ok(self.archive().retention_policy().await?)
    }

    /// Every archived mailbox, for choosing one to give its own rules.
    pub async fn mailboxes(&self) -> Result<Vec<Mailbox>, AccessError> {
        Ok(self.archive().list_mailboxes().await?)
    }

    /// The least the default may keep mail, and why (an enabled sync task), if anything.
    pub async fn default_floor(&self) -> Result<Option<Floor>, AccessError> {
        self.sync()
            .floor(None)
            .await
            .map_err(AccessError::Unavailable)
    }

    pub async fn set(&self, change: &RetentionChange) -> Result<RetentionPolicy, AccessError> {
        let policy = self
            .archive()
            .set_retention(change, &self.caller.user().username, self.sync())
            .await?;
        let (target, detail) = match change {
            RetentionChange::Default(rules) => (
                None,
                format!(
                    "default: mail {}, calendar {}, contacts {}",
                    rules.mail.words(),
                    rules.calendar.words(),
                    rules.contacts.words()
                ),
            ),
            RetentionChange::Mailbox {
                mailbox_id,
                mail,
                calendar,
                contacts,
            } => {
                let words = |r: &Option<archive::KeepRule>| match r {
                    Some(rule) => rule.words(),
                    None => "as the default".to_owned(),
                };
                let owner = self
                    .archive()
                    .mailbox(*mailbox_id)
                    .await?
                    .map(|m| m.owner_address)
                    .unwrap_or_default();
                (
                    Some((*mailbox_id, owner)),
                    format!(
                        "mailbox {mailbox_id}: mail {}, calendar {}, contacts {}",
                        words(mail),
                        words(calendar),
                        words(contacts)
                    ),
                )
            }
        };
        self.caller
            .record(
                AuditAction::RetentionChanged,
                target.as_ref().map(|(id, owner)| (*id, owner.as_str())),
                detail,
            )
            .await?;
        Ok(policy)
    }

    /// A dry run: what a purge now would remove, with the first items of each mailbox by name.
    /// Listing subjects reads other people's mail, so it is in the audit log with its counts.
    pub async fn dry_run(
        &self,
        request: &PurgeRequest,
    ) -> Result<Vec<MailboxPreview>, AccessError> {
        let previews = self
            .caller
            .access
            .inner
            .purger
            .preview(request, SAMPLE)
            .await
            .map_err(refusal)?;
        let items: u64 = previews.iter().map(|p| p.count.items()).sum();
        let held: u64 = previews.iter().map(|p| p.count.held).sum();
        self.caller
            .record(
                AuditAction::PurgeDryRun,
                None,
                format!(
                    "{} in {} would go; {} kept by held snapshots",
                    domain::counted(items, "item", "items"),
                    domain::counted(previews.len() as u64, "mailbox", "mailboxes"),
                    domain::counted(held, "item", "items"),
                ),
            )
            .await?;
        Ok(previews)
    }

    /// Starts a purge job; its end is in the audit log too, with what it removed.
    pub async fn start_purge(&self, request: &PurgeRequest) -> Result<Job, AccessError> {
        let purger = &self.caller.access.inner.purger;
        let previews = purger.preview(request, 0).await.map_err(refusal)?;
        let items: u64 = previews.iter().map(|p| p.count.items()).sum();
        let job = purger
            .enqueue(request, &self.caller.user().username)
            .await
            .map_err(refusal)?;
        self.caller
            .record(
                AuditAction::PurgeStarted,
                None,
                format!(
                    "job {}: {} ({} past their keep time in {})",
                    job.id,
                    job.label,
                    domain::counted(items, "item", "items"),
                    domain::counted(previews.len() as u64, "mailbox", "mailboxes"),
                ),
            )
            .await?;
        Ok(job)
    }

    /// Purge jobs, newest first.
    pub async fn jobs(&self, limit: usize) -> Result<Vec<Job>, AccessError> {
        let filter = JobFilter {
            kinds: vec![PURGE_KIND.to_owned()],
            limit,
            ..JobFilter::default()
        };
        Ok(self.caller.access.inner.purger.jobs().list(&filter).await?)
    }
}
