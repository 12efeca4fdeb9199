pub mod archive;
pub mod export;
pub mod jobs;
pub mod restore;
