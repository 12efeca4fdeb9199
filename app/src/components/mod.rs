pub mod hydration;
pub mod icons;
pub mod location;
pub mod topbar;
