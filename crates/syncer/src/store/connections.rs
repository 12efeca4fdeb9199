//! Server connections: settings, the sealed secret, the connector and the connection test.

use super::*;

impl SyncStore {
    pub async fn create_connection(&self, new: &NewConnection) -> Result<ConnectionView> {
        let name = rules::connection_name(&new.name)?;
        let settings = rules::settings(&new.settings)?;
        let secret = rules::secret(&new.secret)?;
        let sealed = self.secrets.seal(&secret)?;
        let now = Timestamp::now().0;
        let (ews_url, ews_user, tenant, client, graph_ep, token_ep) = settings_columns(&settings);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_connections (name, kind, ews_url, ews_username, graph_tenant, graph_client_id, \
             graph_endpoint, token_endpoint, secret_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&name)
        .bind(settings.kind().as_str())
        .bind(ews_url)
        .bind(ews_user)
        .bind(tenant)
        .bind(client)
        .bind(graph_ep)
        .bind(token_ep)
        .bind(sealed)
        .bind(now)
        .bind(now)
        .fetch_one(&self.db.pool)
        .await
        .map_err(|e| taken(e, "connection", &name))?;
        self.connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))
    }

    pub async fn update_connection(
        &self,
        id: i64,
        update: &ConnectionUpdate,
    ) -> Result<ConnectionView> {
        let current = self
            .connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))?;
        let name = match &update.name {
            Some(n) => rules::connection_name(n)?,
            None => current.name.clone(),
        };
        let settings = match &update.settings {
            Some(s) => rules::settings(s)?,
            None => current.settings.clone(),
        };
        let (ews_url, ews_user, tenant, client, graph_ep, token_ep) = settings_columns(&settings);
        let mut tx = self.db.pool.begin().await?;
        sqlx::query(
            "UPDATE sync_connections SET name = $1, kind = $2, ews_url = $3, ews_username = $4, \
             graph_tenant = $5, graph_client_id = $6, graph_endpoint = $7, token_endpoint = $8, \
             updated_at = $9, tested_at = NULL, test_passed = 0, test_summary = NULL WHERE id = $10",
        )
        .bind(&name)
        .bind(settings.kind().as_str())
        .bind(ews_url)
        .bind(ews_user)
        .bind(tenant)
        .bind(client)
        .bind(graph_ep)
        .bind(token_ep)
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| taken(e, "connection", &name))?;
        if let Some(secret) = &update.secret {
            let sealed = self.secrets.seal(&rules::secret(secret)?)?;
            sqlx::query("UPDATE sync_connections SET secret_sealed = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))
    }

    /// Refused while a task uses the connection.
    pub async fn delete_connection(&self, id: i64) -> Result<()> {
        let used: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sync_tasks WHERE connection_id = $1")
                .bind(id)
                .fetch_one(&self.db.pool)
                .await?;
        if used > 0 {
            return Err(SyncerError::ConnectionInUse(id));
        }
        let done = sqlx::query("DELETE FROM sync_connections WHERE id = $1")
            .bind(id)
            .execute(&self.db.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(SyncerError::UnknownConnection(id));
        }
        Ok(())
    }

    pub async fn list_connections(&self) -> Result<Vec<ConnectionView>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM sync_connections c ORDER BY c.name");
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        rows.iter().map(connection_from_row).collect()
    }

    pub async fn connection(&self, id: i64) -> Result<Option<ConnectionView>> {
        let sql = format!("SELECT {CONNECTION_COLUMNS} FROM sync_connections c WHERE c.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    /// The decrypted secret: only for building a connector, never for a view.
    pub(crate) async fn connection_secret(&self, id: i64) -> Result<String> {
        let sealed: Option<Option<String>> =
            sqlx::query_scalar("SELECT secret_sealed FROM sync_connections WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?;
        match sealed {
            None => Err(SyncerError::UnknownConnection(id)),
            Some(None) => Err(SyncerError::NoSecret(id)),
            Some(Some(s)) => self.secrets.open(&s),
        }
    }

    /// A connector for the connection, ready to sync or restore through.
    pub async fn source_for(&self, id: i64) -> Result<Arc<dyn MailboxSource>> {
        let view = self
            .connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))?;
        let secret = self.connection_secret(id).await?;
        Ok(build_source(&view.settings, &secret, None)?)
    }

    /// A writer for the connection, to restore through.
    pub async fn writer_for(&self, id: i64) -> Result<Arc<dyn mailsync::restore::MailboxWriter>> {
        let view = self
            .connection(id)
            .await?
            .ok_or(SyncerError::UnknownConnection(id))?;
        let secret = self.connection_secret(id).await?;
        Ok(mailsync::build_writer(&view.settings, &secret, None)?)
    }

    /// Tests a saved connection with its stored secret.
    pub async fn test_connection(
        &self,
        id: i64,
        probe_mailbox: Option<&str>,
    ) -> Result<ConnectionTestReport> {
        let view = self
            .connection(id)
            .await?
            .ok_or(crate::SyncerError::UnknownConnection(id))?;
        let secret = match self.connection_secret(id).await {
            Ok(s) => s,
            Err(e @ (crate::SyncerError::SecretUnreadable | crate::SyncerError::NoSecret(_))) => {
                let report = ConnectionTestReport::failed_before_start(
                    "secret",
                    TestFailure::SecretUnreadable,
                    e.to_string(),
                );
                self.record_test(id, &report).await?;
                return Ok(report);
            }
            Err(e) => return Err(e),
        };
        let report = mailsync::test_settings(&view.settings, &secret, probe_mailbox).await;
        self.record_test(id, &report).await?;
        Ok(report)
    }

    /// Keeps the outcome of a test: a task may be enabled only on a connection that passed.
    async fn record_test(&self, id: i64, report: &ConnectionTestReport) -> Result<()> {
        sqlx::query(
            "UPDATE sync_connections SET tested_at = $1, test_passed = $2, test_summary = $3 WHERE id = $4",
        )
        .bind(Timestamp::now().0)
        .bind(i64::from(report.ok))
        .bind(&report.message)
        .bind(id)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }
}
