//! Small conveniences over [`PlannerConfig`] for the layers above the planner.

use jiff::tz::TimeZone;

use crate::cadence::{Cadence, PlannerConfig};

impl PlannerConfig {
    /// The seller's zone; UTC when the configured name is unknown (which
    /// `validate` reports).
    pub fn home_zone(&self) -> TimeZone {
        TimeZone::get(&self.home_time_zone).unwrap_or(TimeZone::UTC)
    }

    pub fn home_zone_name(&self) -> &str {
        &self.home_time_zone
    }

    pub fn cadence(&self, name: &str) -> Option<&Cadence> {
        self.cadences.get(name)
    }

    /// How many days before the due date the earliest step of any cadence
    /// fires (3 for a step at −3 days); 0 when no step comes before the due date.
    pub fn max_lead_days(&self) -> i32 {
        self.cadences
            .values()
            .flat_map(|c| c.steps.iter().map(|s| -s.offset_days))
            .max()
            .unwrap_or(0)
            .max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lead_is_the_tight_cadence_five_days() {
        let cfg = PlannerConfig::default();
        assert_eq!(cfg.max_lead_days(), 5);
        assert_eq!(cfg.home_zone_name(), "Asia/Kolkata");
        assert!(cfg.cadence("standard").is_some());
    }
}
