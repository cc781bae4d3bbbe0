//! What belongs to no marketplace: health, the OpenAPI document, the activity log, and the
//! dev-only fixture loader and reset that milestones use to start from a known state.

pub mod handlers;
pub mod store;
pub mod types;
