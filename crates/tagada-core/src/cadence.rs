//! Cadences (steps as data) and the planner's configuration.
//!
//! IMPLEMENTATION PENDING (helper).

use serde::{Deserialize, Serialize};

/// Everything the planner reads from `tagada.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PlannerConfig {}
