pub mod access_log;
#[cfg(feature = "admin-ui")]
pub mod admin;
pub mod home;
pub mod mail;
pub mod not_found;
pub mod sign_in;
