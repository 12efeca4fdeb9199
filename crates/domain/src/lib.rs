//! Values shared by every crate, defined once: [`MailAddress`] (the one parser and case folding
//! of a mail address), [`Timestamp`] (the one time representation of every table) and the ids of
//! archive records.
//!
//! The ids are aliases of `i64`, not newtypes: they are bound to SQL and carried over the wire as
//! plain integers everywhere, and every lookup by id is scoped by the caller's grant anyway (a
//! wrong id is refused like a missing one).

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod address;
mod time;

pub use address::{InvalidAddress, MailAddress};
pub use time::Timestamp;

pub type MailboxId = i64;
pub type FolderId = i64;
pub type ItemId = i64;
pub type UserId = i64;

/// "1 message", "3 messages": a count in words, as every report and audit entry says it.
pub fn counted(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
