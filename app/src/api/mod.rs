//! Server functions: the only way a page reaches data. Each body runs on the server and checks the
//! caller itself; hiding a button in the UI is a convenience, never the protection.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod calendars;
pub mod codec;
pub mod error;
pub mod explorer;
pub mod jobs;
pub mod legacy;
pub mod mail;
pub mod people;
pub mod restore;
pub mod retention;

#[cfg(feature = "ssr")]
pub mod access;
#[cfg(feature = "ssr")]
pub mod context;
