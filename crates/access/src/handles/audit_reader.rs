use crate::{AccessError, AuditEntry, AuditFilter, Caller, ChainReport};

/// The audit log (permission `audit_log`). Reading it is not itself logged: it holds no mail.
pub struct AuditReader<'a> {
    caller: &'a Caller,
}

impl<'a> AuditReader<'a> {
    pub(crate) fn new(caller: &'a Caller) -> Self {
        AuditReader { caller }
    }

    pub async fn list(
        &self,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, AccessError> {
        self.caller.access.inner.audit.list(filter, limit).await
    }

    pub async fn verify(&self) -> Result<ChainReport, AccessError> {
        self.caller.access.inner.audit.verify().await
    }
}
