//! Agents and their tokens. A token is shown once, when it is made; the table keeps only its
//! SHA-256 (a token is 256 random bits, so a fast hash is enough) and its last four characters,
//! to tell tokens apart on the screen.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use database::Database;
use domain::Timestamp;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::{LegacyError, Result};

/// Every token starts with this, so a leaked one is recognisable in logs and secret scanners.
const TOKEN_PREFIX: &str = "srla_";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: i64,
    pub name: String,
    /// The last four characters of its token.
    pub token_hint: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub submissions: i64,
}

/// A new agent and its token, which is never shown again.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub agent: Agent,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Agents {
    db: Database,
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const AGENT_COLUMNS: &str = "a.id, a.name, a.token_hint, a.created_by, a.created_at, a.revoked_at, \
    a.last_used_at, (SELECT COUNT(*) FROM legacy_submissions s WHERE s.agent_id = a.id) AS submissions";

fn agent_from_row(row: &AnyRow) -> Result<Agent> {
    Ok(Agent {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        token_hint: row.try_get("token_hint")?,
        created_by: row.try_get("created_by")?,
        created_at: Timestamp(row.try_get("created_at")?),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(Timestamp),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp),
        submissions: row.try_get("submissions")?,
    })
}

impl Agents {
    pub fn new(db: Database) -> Agents {
        Agents { db }
    }

    pub async fn create(&self, name: &str, created_by: &str) -> Result<NewToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(LegacyError::Invalid(
                "An agent needs a name of 1 to 100 characters (for example the server it runs on)."
                    .into(),
            ));
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        let hint: String = token
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO legacy_agents (name, token_hash, token_hint, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(token_hash(&token))
        .bind(&hint)
        .bind(created_by)
        .bind(Timestamp::now().0)
        .fetch_one(&self.db.pool)
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(sqlx::Error::Database(e))
                if e.is_unique_violation()
                    || e.message().to_ascii_lowercase().contains("unique") =>
            {
                return Err(LegacyError::NameTaken(name.to_owned()))
            }
            Err(e) => return Err(e.into()),
        };
        let agent = self.agent(id).await?.ok_or(LegacyError::UnknownAgent(id))?;
        Ok(NewToken { agent, token })
    }

    pub async fn agent(&self, id: i64) -> Result<Option<Agent>> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM legacy_agents a WHERE a.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    pub async fn list(&self) -> Result<Vec<Agent>> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM legacy_agents a ORDER BY a.name");
        let rows = sqlx::query(&sql).fetch_all(&self.db.pool).await?;
        rows.iter().map(agent_from_row).collect()
    }

    /// From now on the token opens nothing. Revoking twice is harmless.
    pub async fn revoke(&self, id: i64) -> Result<Agent> {
        sqlx::query(
            "UPDATE legacy_agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&self.db.pool)
        .await?;
        self.agent(id).await?.ok_or(LegacyError::UnknownAgent(id))
    }

    /// The live agent a bearer token belongs to; None for an unknown or revoked token.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Agent>> {
        let token = token.trim();
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {AGENT_COLUMNS} FROM legacy_agents a WHERE a.token_hash = $1 AND a.revoked_at IS NULL"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash(token))
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(agent) = row.as_ref().map(agent_from_row).transpose()? else {
            return Ok(None);
        };
        sqlx::query("UPDATE legacy_agents SET last_used_at = $1 WHERE id = $2")
            .bind(Timestamp::now().0)
            .bind(agent.id)
            .execute(&self.db.pool)
            .await?;
        Ok(Some(agent))
    }
}
