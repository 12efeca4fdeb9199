pub mod hydration;
