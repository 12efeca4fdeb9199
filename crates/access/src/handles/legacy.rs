use legacy::{Agent, Legacy, LegacyMailbox, Migrated, NewToken, Receipt, Submission};

use crate::{AccessError, AuditAction, Caller};

/// The legacy engine's agents and the migration of its users (permission `legacy_import`).
pub struct LegacyAdmin<'a> {
    caller: &'a Caller,
}

impl<'a> LegacyAdmin<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        LegacyAdmin { caller }
    }

    fn legacy(&self) -> &Legacy {
        &self.caller.access.inner.legacy
    }

    pub async fn agents(&self) -> Result<Vec<Agent>, AccessError> {
        Ok(self.legacy().agents().list().await?)
    }

    /// A new agent; its token is in the answer and nowhere else.
    pub async fn create_agent(&self, name: &str) -> Result<NewToken, AccessError> {
        let made = self
            .legacy()
            .agents()
            .create(name, &self.caller.user().username)
            .await?;
        self.caller
            .record(
                AuditAction::LegacyAgentCreated,
                None,
                format!("{} (token …{})", made.agent.name, made.agent.token_hint),
            )
            .await?;
        Ok(made)
    }

    pub async fn revoke_agent(&self, id: i64) -> Result<Agent, AccessError> {
        let agent = self.legacy().agents().revoke(id).await?;
        self.caller
            .record(
                AuditAction::LegacyAgentRevoked,
                None,
                format!("{} (token …{})", agent.name, agent.token_hint),
            )
            .await?;
        Ok(agent)
    }

    pub async fn mailboxes(&self) -> Result<Vec<LegacyMailbox>, AccessError> {
        Ok(self.legacy().mailboxes().await?)
    }

    /// One way: `confirmed` must say the person read that there is no rollback.
    pub async fn migrate(
        &self,
        addresses: &[String],
        confirmed: bool,
    ) -> Result<Vec<Migrated>, AccessError> {
        if !confirmed {
            return Err(AccessError::invalid(
                "confirm",
                "Confirm that a migration cannot be rolled back.",
            ));
        }
        let done = self
            .legacy()
            .migrate(addresses, &self.caller.user().username)
            .await?;
        let names: Vec<&str> = done
            .iter()
            .filter(|m| !m.already)
            .map(|m| m.address.as_str())
            .collect();
        self.caller
            .record(
                AuditAction::LegacyUsersMigrated,
                None,
                if names.is_empty() {
                    "nobody new (already migrated)".to_owned()
                } else {
                    names.join(", ")
                },
            )
            .await?;
        Ok(done)
    }

    /// Refused, always, with the reason.
    pub fn roll_back(&self, address: &str) -> Result<(), AccessError> {
        Ok(self.legacy().roll_back(address)?)
    }

    fn importer(&self) -> &recovery::Importer {
        &self.caller.access.inner.importer
    }

    /// Files waiting in the import folder.
    pub async fn import_files(&self) -> Result<Vec<recovery::ImportFile>, AccessError> {
        self.importer()
            .files()
            .map_err(|e| crate::recovery_refusal("file", e))
    }

    /// Where an upload of this name is written (a plain name in the import folder, else
    /// refused), and the file it becomes there.
    pub fn upload_target(&self, name: &str) -> Result<std::path::PathBuf, AccessError> {
        self.importer()
            .path_of(name)
            .map_err(|e| crate::recovery_refusal("file", e))
    }

    /// Records an upload that arrived whole.
    pub async fn uploaded(&self, name: &str, bytes: u64) -> Result<(), AccessError> {
        self.caller
            .record(
                AuditAction::ImportStarted,
                None,
                format!("uploaded {name} ({bytes} bytes) to the import folder"),
            )
            .await
    }

    /// Starts an import job of a file of the import folder into a mailbox.
    pub async fn start_import(
        &self,
        request: &recovery::ImportRequest,
    ) -> Result<jobs::Job, AccessError> {
        let job = self
            .importer()
            .enqueue(request, &self.caller.user().username)
            .await
            .map_err(|e| crate::recovery_refusal("file", e))?;
        self.caller
            .record(
                AuditAction::ImportStarted,
                None,
                format!("job {}: {}", job.id, job.label),
            )
            .await?;
        Ok(job)
    }

    /// Import jobs, newest first.
    pub async fn imports(&self, limit: usize) -> Result<Vec<jobs::Job>, AccessError> {
        let filter = jobs::JobFilter {
            kinds: vec![recovery::IMPORT_KIND.to_owned()],
            limit,
            ..jobs::JobFilter::default()
        };
        Ok(self.importer().jobs().list(&filter).await?)
    }
}

/// A legacy agent that proved its token: what the submission endpoint acts through. Made only
/// by [`crate::Access::agent`].
pub struct AgentSession {
    pub(crate) legacy: Legacy,
    pub(crate) agent: Agent,
}

impl AgentSession {
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    pub async fn submit(&self, submission: &Submission) -> Result<Receipt, AccessError> {
        Ok(self.legacy.submit(&self.agent, submission).await?)
    }
}
