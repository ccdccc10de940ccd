//! What Meta last said of each WhatsApp template the account holds: its
//! approval status, category, and why it was refused or paused. Written by
//! a check of the account's templates (`tagada templates check`, and
//! `tagada serve` on a schedule) and by the account's template status
//! webhooks; read by the dashboard's health page.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One template, in one language, as Meta last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateStatus {
    /// The template's name at Meta (`payment_reminder_overdue`).
    pub name: String,
    /// Meta's language code (`en`, `hi`, `en_US`).
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`..., or
    /// `missing` when a check found no such template on the account.
    pub status: String,
    /// `UTILITY`, `MARKETING`, `AUTHENTICATION`, when known.
    pub category: Option<String>,
    /// Why it is not usable: Meta's reason, or the problems a check found
    /// with what tagada sends (parameters, buttons).
    pub detail: Option<String>,
    /// `check` (the account's list was read) or `webhook` (Meta announced a change).
    pub source: String,
    pub updated_at: Timestamp,
}

/// The templates' statuses.
#[async_trait::async_trait]
pub trait TemplateStatusStore: Send + Sync {
    /// Inserts or replaces these statuses (by name and language); a row
    /// older than the one stored is ignored, so a late webhook cannot undo
    /// a newer check.
    async fn save_template_statuses(&self, rows: &[TemplateStatus]) -> crate::Result<()>;
    /// Every status stored, by name then language.
    async fn template_statuses(&self) -> crate::Result<Vec<TemplateStatus>>;
}
