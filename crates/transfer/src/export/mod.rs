//! What leaves the archive: files a person or another program can open without us.
//!
//! - [`bag`] writes a zip laid out as a BagIt bag (RFC 8493), so anyone can check that every
//!   file arrived whole (`bagit.py --validate`).
//! - [`mbox`] writes mboxrd, the mbox dialect that quotes `From ` lines reversibly.
//! - [`ics`] and [`vcf`] write iCalendar and vCard from the `pim` records, so attendees,
//!   recurrences and photos survive.
//! - [`names`] turns folder names and subjects into file names that are safe on every system.

pub mod bag;
pub mod ics;
pub mod mbox;
pub mod names;
pub mod vcf;
