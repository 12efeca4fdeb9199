//! Server connections as the sync engine needs them: where and as whom to connect, and the
//! connector built from that. Storing them (with the secret sealed) is the `syncer`'s job.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::SourceError;
use crate::ews::{EwsConfig, EwsSource};
use crate::graph::{GraphConfig, GraphSource};
use crate::restore::MailboxWriter;
use crate::source::MailboxSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionKind {
    Ews,
    Graph,
}

impl ConnectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::Ews => "ews",
            ConnectionKind::Graph => "graph",
        }
    }
}

/// Where and as whom to connect; the secret (EWS password, Graph client secret) travels apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectionSettings {
    /// Exchange on-premises: `https://mail.example.com/EWS/Exchange.asmx` and a service account
    /// holding the ApplicationImpersonation role.
    Ews { url: String, username: String },
    /// Exchange Online, app-only. The endpoints default to Microsoft's public cloud when None.
    Graph {
        tenant_id: String,
        client_id: String,
        graph_endpoint: Option<String>,
        token_endpoint: Option<String>,
    },
}

impl ConnectionSettings {
    pub fn kind(&self) -> ConnectionKind {
        match self {
            ConnectionSettings::Ews { .. } => ConnectionKind::Ews,
            ConnectionSettings::Graph { .. } => ConnectionKind::Graph,
        }
    }
}

/// The connector for a connection, before it is seen as a source or as a writer.
enum Connector {
    Ews(EwsSource),
    Graph(GraphSource),
}

fn connector(
    settings: &ConnectionSettings,
    secret: &str,
    timeout: Option<std::time::Duration>,
) -> Result<Connector, SourceError> {
    Ok(match settings {
        ConnectionSettings::Ews { url, username } => {
            let mut c = EwsConfig::new(url, username, secret);
            if let Some(t) = timeout {
                c.timeout = t;
            }
            Connector::Ews(EwsSource::new(c)?)
        }
        ConnectionSettings::Graph {
            tenant_id,
            client_id,
            graph_endpoint,
            token_endpoint,
        } => Connector::Graph(GraphSource::new(graph_config(
            tenant_id,
            client_id,
            secret,
            graph_endpoint.as_deref(),
            token_endpoint.as_deref(),
            timeout,
        ))?),
    })
}

/// Builds the connector to sync from; `timeout` shortens HTTP timeouts (connection tests).
pub fn build_source(
    settings: &ConnectionSettings,
    secret: &str,
    timeout: Option<std::time::Duration>,
) -> Result<Arc<dyn MailboxSource>, SourceError> {
    Ok(match connector(settings, secret, timeout)? {
        Connector::Ews(c) => Arc::new(c),
        Connector::Graph(c) => Arc::new(c),
    })
}

/// Builds the connector to restore through.
pub fn build_writer(
    settings: &ConnectionSettings,
    secret: &str,
    timeout: Option<std::time::Duration>,
) -> Result<Arc<dyn MailboxWriter>, SourceError> {
    Ok(match connector(settings, secret, timeout)? {
        Connector::Ews(c) => Arc::new(c),
        Connector::Graph(c) => Arc::new(c),
    })
}

pub fn graph_config(
    tenant_id: &str,
    client_id: &str,
    secret: &str,
    graph_endpoint: Option<&str>,
    token_endpoint: Option<&str>,
    timeout: Option<std::time::Duration>,
) -> GraphConfig {
    let mut c = GraphConfig::new(tenant_id, client_id, secret);
    if let Some(g) = graph_endpoint {
        c.graph_base = g.trim_end_matches('/').to_string();
    }
    if let Some(t) = token_endpoint {
        c.token_url = t.to_string();
    }
    if let Some(t) = timeout {
        c.timeout = t;
    }
    c
}
