//! `legacy`: users of the older agent-based Synchronization Engine, moved to direct sync one at a
//! time (capability 9 of DESIGN.md).
//!
//! ```text
//! agent ──token──► Agents::authenticate ──► Submission::parse (size, shape, every problem counted)
//!                                               │
//!                  Legacy::submit ◄─────────────┘  idempotent per (agent, submission id)
//!                     │ user not migrated: folders become archive folders, each message is
//!                     │   matched by Internet-Message-Id to content already archived and
//!                     │   placed in its folder (read state too); unmatched ones are counted
//!                     │ user migrated: ignored, counted, shown on the user's sync status
//!                     ▼
//!                  Receipt
//! Legacy::migrate: one way; the next sync of the user pulls every folder and message again.
//! ```
//!
//! Who may create agents or migrate users is decided in `access`; this crate trusts its caller.
//! The agent endpoint authenticates with [`Agents::authenticate`] before anything else.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod agents;
mod error;
mod migration;
mod submission;
mod submit;

pub use agents::{Agent, Agents, NewToken};
pub use error::LegacyError;
pub use migration::{LegacyMailbox, Migrated};
pub use submission::{
    Submission, SubmissionRefusal, SubmittedFolder, SubmittedMessage, MAX_SUBMISSION_BYTES,
};
pub use submit::{Legacy, Receipt};
