//! Reading Microsoft Graph and token-endpoint JSON, tolerant of the variations seen in
//! Microsoft's own samples (e.g. `"isRead": "true"` as a string).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::error::SourceError;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub token_type: String,
    pub expires_in: u64,
    pub access_token: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct TokenError {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub error_codes: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    pub code: String,
    pub message: String,
}

/// `{"error": {"code", "message", ...}}`, the Graph error envelope.
pub fn parse_error(v: &Value) -> Option<GraphError> {
    let e = v.get("error")?;
    Some(GraphError {
        code: e.get("code")?.as_str()?.to_string(),
        message: e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeltaEntry {
    /// Absent only in placeholder doc samples; real entries always have one.
    pub id: Option<String>,
    /// `@removed.reason` ("deleted" or "changed") for a removal.
    pub removed: Option<String>,
    pub is_read: Option<bool>,
    pub parent_folder_id: Option<String>,
    pub display_name: Option<String>,
    /// mailFolder `isHidden`.
    pub is_hidden: Option<bool>,
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeltaPage {
    pub entries: Vec<DeltaEntry>,
    pub next_link: Option<String>,
    pub delta_link: Option<String>,
}

fn lenient_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

pub fn parse_delta_page(v: &Value) -> Result<DeltaPage, SourceError> {
    let values = v
        .get("value")
        .and_then(Value::as_array)
        .ok_or_else(|| SourceError::Protocol("delta page without a value array".into()))?;
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
    let entries = values
        .iter()
        .map(|e| DeltaEntry {
            id: text(e, "id"),
            removed: e.get("@removed").map(|r| {
                r.get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("deleted")
                    .to_string()
            }),
            is_read: e.get("isRead").and_then(lenient_bool),
            parent_folder_id: text(e, "parentFolderId"),
            display_name: text(e, "displayName"),
            is_hidden: e.get("isHidden").and_then(lenient_bool),
            raw: e.clone(),
        })
        .collect();
    let next_link = text(v, "@odata.nextLink");
    let delta_link = text(v, "@odata.deltaLink");
    if next_link.is_none() && delta_link.is_none() {
        return Err(SourceError::Protocol(
            "delta page with neither @odata.nextLink nor @odata.deltaLink".into(),
        ));
    }
    Ok(DeltaPage {
        entries,
        next_link,
        delta_link,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchResponse {
    pub id: String,
    pub status: u16,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl BatchResponse {
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get("retry-after")
            .and_then(|v| parse_retry_after(v))
    }

    /// The body as bytes: non-JSON bodies (such as `$value` MIME) arrive base64-encoded.
    pub fn body_bytes(&self) -> Result<Vec<u8>, SourceError> {
        match &self.body {
            Value::String(s) => STANDARD.decode(s.trim()).map_err(|e| {
                SourceError::Protocol(format!("batch body {} is not base64: {e}", self.id))
            }),
            Value::Null => Ok(Vec::new()),
            other => serde_json::to_vec(other).map_err(|e| SourceError::Protocol(e.to_string())),
        }
    }
}

pub fn parse_batch(v: &Value) -> Result<Vec<BatchResponse>, SourceError> {
    let responses = v
        .get("responses")
        .and_then(Value::as_array)
        .ok_or_else(|| SourceError::Protocol("batch answer without responses".into()))?;
    responses
        .iter()
        .map(|r| {
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| SourceError::Protocol("batch response without id".into()))?
                .to_string();
            let status = r
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| {
                    SourceError::Protocol(format!("batch response {id} without status"))
                })?;
            let headers = r
                .get("headers")
                .and_then(Value::as_object)
                .map(|h| {
                    h.iter()
                        .filter_map(|(k, v)| {
                            let v = match v {
                                Value::String(s) => s.clone(),
                                Value::Number(n) => n.to_string(),
                                _ => return None,
                            };
                            Some((k.to_ascii_lowercase(), v))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(BatchResponse {
                id,
                status,
                headers,
                body: r.get("body").cloned().unwrap_or(Value::Null),
            })
        })
        .collect()
}

/// Retry-After in seconds, fractions allowed (the docs show `2.128`), rounded up to the ms.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_millis((secs * 1000.0).ceil() as u64))
}
