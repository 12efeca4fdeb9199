//! Integration tests: the real server on port 0 with a fresh data folder per test.
mod helpers;

mod admin;
mod auth;
mod explorer;
mod exports;
mod imports;
mod legacy_agents;
mod load;
mod mail;
mod matrix;
mod operations;
mod people;
mod restores;
mod retention;
mod sso;
