//! What an agent submits, and the checks before anything of it is used. A malformed submission
//! is refused whole, with every problem found (up to a limit) and their count, so the agent's
//! operator can fix them in one go.

use std::collections::HashSet;

use domain::{MailAddress, Timestamp};
use serde::{Deserialize, Serialize};

/// The largest body the endpoint reads: about 40,000 messages of metadata.
pub const MAX_SUBMISSION_BYTES: usize = 8 * 1024 * 1024;

/// Problems listed in a refusal; the count says how many there were in all.
const LISTED_PROBLEMS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The agent's own id for this submission: sending it again changes nothing.
    pub submission_id: String,
    /// The user's primary address: the archive mailbox of that name.
    pub mailbox: String,
    #[serde(default)]
    pub folders: Vec<SubmittedFolder>,
    #[serde(default)]
    pub messages: Vec<SubmittedMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmittedFolder {
    pub id: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmittedMessage {
    pub folder_id: String,
    pub internet_message_id: String,
    /// RFC 3339.
    #[serde(default)]
    pub sent_at: Option<String>,
    #[serde(default)]
    pub received_at: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub is_read: bool,
}

/// Why a submission was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct SubmissionRefusal {
    pub message: String,
    /// The first problems found, one sentence each.
    pub problems: Vec<String>,
    /// How many problems there were in all.
    pub count: usize,
}

impl SubmissionRefusal {
    fn one(message: impl Into<String>) -> Self {
        let message = message.into();
        SubmissionRefusal {
            problems: vec![message.clone()],
            message,
            count: 1,
        }
    }
}

impl Submission {
    /// Reads and checks a body. Nothing is stored by a refused submission.
    pub fn parse(body: &[u8]) -> Result<Submission, SubmissionRefusal> {
        if body.len() > MAX_SUBMISSION_BYTES {
            return Err(SubmissionRefusal::one(format!(
                "The submission is {} bytes; at most {MAX_SUBMISSION_BYTES} are accepted: split it.",
                body.len()
            )));
        }
        let submission: Submission = serde_json::from_slice(body).map_err(|e| {
            SubmissionRefusal::one(format!(
                "The submission is not valid JSON of the expected shape: {e}."
            ))
        })?;
        submission.check()?;
        Ok(submission)
    }

    fn check(&self) -> Result<(), SubmissionRefusal> {
        let mut problems = Vec::new();
        let id = self.submission_id.trim();
        if id.is_empty() || id.len() > 200 {
            problems.push("submission_id must be 1 to 200 characters.".to_owned());
        }
        if MailAddress::parse(&self.mailbox).is_err() {
            problems.push(format!("mailbox “{}” is not a mail address.", self.mailbox));
        }
        let mut ids = HashSet::new();
        for (n, f) in self.folders.iter().enumerate() {
            if f.id.trim().is_empty() {
                problems.push(format!("folders[{n}] has an empty id."));
            } else if !ids.insert(f.id.as_str()) {
                problems.push(format!("folders[{n}]: the id “{}” is used twice.", f.id));
            }
            if f.name.trim().is_empty() {
                problems.push(format!("folders[{n}] (“{}”) has no name.", f.id));
            }
        }
        for (n, f) in self.folders.iter().enumerate() {
            if let Some(parent) = &f.parent_id {
                if !ids.contains(parent.as_str()) {
                    problems.push(format!(
                        "folders[{n}] (“{}”) names a parent “{parent}” that is not in the submission.",
                        f.id
                    ));
                } else if parent == &f.id {
                    problems.push(format!("folders[{n}] (“{}”) is its own parent.", f.id));
                }
            }
        }
        for (n, m) in self.messages.iter().enumerate() {
            if !ids.contains(m.folder_id.as_str()) {
                problems.push(format!(
                    "messages[{n}] is in folder “{}”, which is not in the submission.",
                    m.folder_id
                ));
            }
            if archive::meta::bare_message_id(&m.internet_message_id).is_empty() {
                problems.push(format!("messages[{n}] has no internet_message_id."));
            }
            for (field, value) in [("sent_at", &m.sent_at), ("received_at", &m.received_at)] {
                if let Some(v) = value {
                    if Timestamp::parse_instant(v).is_none() {
                        problems.push(format!(
                            "messages[{n}].{field} “{v}” is not a date and time."
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let count = problems.len();
        problems.truncate(LISTED_PROBLEMS);
        Err(SubmissionRefusal {
            message: format!(
                "The submission was refused: {count} problem{} found; nothing of it was used.",
                if count == 1 { "" } else { "s" }
            ),
            problems,
            count,
        })
    }
}
