pub mod archive;
pub mod export;
