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
