pub mod admin_frame;
pub mod hydration;
pub mod icons;
pub mod job_lines;
pub mod location;
pub mod outcome;
pub mod ticker;
pub mod topbar;
