#[cfg(feature = "admin-ui")]
pub mod admin_frame;
pub mod hydration;
pub mod icons;
#[cfg(feature = "admin-ui")]
pub mod job_lines;
pub mod location;
#[cfg(feature = "admin-ui")]
pub mod outcome;
mod post_form;
#[cfg(feature = "admin-ui")]
pub mod ticker;
mod title;
pub mod topbar;

pub use post_form::PostForm;
pub use title::Title;
