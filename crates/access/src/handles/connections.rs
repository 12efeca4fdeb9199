use syncer::{ConnectionTestReport, ConnectionView, NewConnection};

use crate::{AccessError, AuditAction, Caller};

/// Server connections (permission `connections`).
pub struct ConnectionsAdmin<'a> {
    caller: &'a Caller,
}

impl<'a> ConnectionsAdmin<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        ConnectionsAdmin { caller }
    }

    fn store(&self) -> &syncer::SyncStore {
        self.caller.access.inner.sync.store()
    }

    pub async fn list(&self) -> Result<Vec<ConnectionView>, AccessError> {
        Ok(self.store().list_connections().await?)
    }

    pub async fn create(&self, new: &NewConnection) -> Result<ConnectionView, AccessError> {
        let created = self.store().create_connection(new).await?;
        self.caller
            .record(
                AuditAction::ConnectionCreated,
                None,
                format!("{} ({})", created.name, created.kind.as_str()),
            )
            .await?;
        Ok(created)
    }

    pub async fn delete(&self, id: i64) -> Result<(), AccessError> {
        let name = self
            .store()
            .connection(id)
            .await?
            .map(|c| c.name)
            .ok_or(AccessError::NotFound)?;
        self.store().delete_connection(id).await?;
        self.caller
            .record(AuditAction::ConnectionDeleted, None, name)
            .await
    }

    pub async fn test(
        &self,
        id: i64,
        probe_mailbox: Option<&str>,
    ) -> Result<ConnectionTestReport, AccessError> {
        let report = self.store().test_connection(id, probe_mailbox).await?;
        self.caller
            .record(
                AuditAction::ConnectionTested,
                None,
                format!(
                    "connection {id}{}: {}",
                    probe_mailbox
                        .map(|m| format!(" with {m}"))
                        .unwrap_or_default(),
                    if report.ok { "passed" } else { "failed" }
                ),
            )
            .await?;
        Ok(report)
    }
}
