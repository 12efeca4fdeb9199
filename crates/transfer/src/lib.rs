//! The formats mail and its neighbours arrive in and leave in, kept apart from the store: this
//! crate reads and writes files, the archive only sees items. Layering is one-way: `transfer`
//! uses the public API of `archive` and the `pim` records, and nothing else of the project.
//!
//! - [`import`] reads legacy mbox, EML folders and Maildir++ trees into a named mailbox.
//! - [`calendar`] and [`contacts`] read what the portal lists for an event or a contact from
//!   iCalendar, vCard or Microsoft Graph JSON.
//! - [`records`] reads iCalendar and vCard into the `pim` records, for items that have only
//!   their content.
//! - [`export`] writes what leaves the archive: BagIt zips, mboxrd, iCalendar and vCard.
//! - [`mailgen`] writes realistic synthetic mail for benchmarks and the demo.

// Tests may unwrap: a panic there is a test failure with a clear location.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod calendar;
pub mod contacts;
mod content_line;
mod error;
pub mod export;
pub mod import;
pub mod mailgen;
pub mod records;

pub use error::TransferError;
