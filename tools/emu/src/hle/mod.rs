//! HLE services (placeholder until the framework lands).
pub mod lm;
pub mod set_sys;
