//! The administrator's area: server connections and sync tasks. The server refuses every call
//! from a non-administrator; the pages only spare them the trouble.

pub mod audit;
pub mod connections;
pub mod explorer;
pub mod export;
pub mod job_source;
pub mod jobs;
pub mod legacy;
pub mod restore;
pub mod retention;
pub mod roles;
pub mod tasks;
pub mod users;
