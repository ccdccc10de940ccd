//! `tagada-http`: the axum router `tagada serve` runs. Handlers are thin:
//! they read the request, call a use case in `tagada-app`, and map its
//! result to a status code.
//!
//! | route                    | what                                              |
//! |--------------------------|---------------------------------------------------|
//! | `GET /healthz`           | liveness and database reachability                |
//! | `GET /webhooks/whatsapp` | Meta's subscription handshake (`hub.challenge`)   |
//! | `POST /webhooks/whatsapp`| signed WhatsApp notifications (statuses, replies) |
//! | `POST /webhooks/indiamart/<token>` | IndiaMART's Push API (a lead)          |
//! | `GET /pay/<token>`       | a buyer's pay page (UPI QR, gateway buttons)      |
//! | `GET /pay/<token>/qr.png`| the UPI QR code                                   |
//! | `POST /pay/<token>/<gateway>` | makes or reuses a gateway link, redirects    |
//! | `POST /webhooks/razorpay`| signed Razorpay events (payments, links)          |
//! | `POST /webhooks/stripe`  | signed Stripe events (Checkout Sessions)          |
//! | `/api/...`               | the JSON API (bearer tokens; see [`api`])         |
//! | `GET /metrics`           | Prometheus text format (bearer token)             |
//! | `/`, `/login`, `/invoices`... | the dashboard (session cookie; see `dashboard`) |

pub mod api;
mod dashboard;
pub use dashboard::{PlanPreviewCache, warm_overview};
mod health;
mod indiamart;
mod ops;
mod payments;
mod whatsapp;

pub mod charts;

pub use payments::render_page;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tagada_app::whatsapp::Secret;
use tagada_core::clock::Clock;
use tagada_store::Store;
use tokio::sync::Notify;

/// The secrets that authenticate Meta's calls to the webhook.
#[derive(Debug, Clone)]
pub struct WhatsAppHooks {
    /// Signs every POST (`X-Hub-Signature-256`).
    pub app_secret: Secret,
    /// Answers the GET handshake.
    pub verify_token: Secret,
}

impl WhatsAppHooks {
    /// Both secrets must be set: an unsigned webhook would let anyone mark
    /// invoices paid or opt buyers out.
    pub fn new(app_secret: Secret, verify_token: Secret) -> Result<WhatsAppHooks, String> {
        let mut missing = Vec::new();
        if !app_secret.is_set() {
            missing.push("whatsapp.app_secret (TAGADA_WHATSAPP__APP_SECRET)");
        }
        if !verify_token.is_set() {
            missing.push("whatsapp.verify_token (TAGADA_WHATSAPP__VERIFY_TOKEN)");
        }
        if missing.is_empty() {
            Ok(WhatsAppHooks {
                app_secret,
                verify_token,
            })
        } else {
            Err(format!(
                "the WhatsApp webhook needs {} to authenticate Meta's calls",
                missing.join(" and ")
            ))
        }
    }
}

/// The ledger's configuration, for the JSON API, the pay pages and the
/// gateway webhooks: the planner's (templates, seller, calendars, rates),
/// payments', the gateways' clients and the home country.
#[derive(Debug, Clone)]
pub struct LedgerHttp {
    pub cfg: Arc<tagada_app::payments::PaymentsConfig>,
    pub planner: Arc<tagada_core::cadence::PlannerConfig>,
    pub gateways: tagada_app::payments::Gateways,
    pub home_country: tagada_core::CountryCode,
    /// The sending number's messaging limit (`[whatsapp] messaging_limit`:
    /// distinct buyers a reminder may reach in 24 hours; 0 = not enforced),
    /// shown against its use on the health page.
    pub messaging_limit: u32,
    /// Minutes between `tagada serve`'s checks of the account's templates
    /// (`[whatsapp] template_check_minutes`), said on the health page.
    pub template_check_minutes: u32,
    /// The overview's list of today's and tomorrow's messages, kept
    /// between page views.
    pub preview: PlanPreviewCache,
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct HttpState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// `None`: the WhatsApp webhook routes are not served.
    pub whatsapp: Option<WhatsAppHooks>,
    /// Woken when new inbound messages are stored, so the inbox is handled
    /// at once rather than at the next poll.
    pub inbox: Arc<Notify>,
    pub max_body_bytes: usize,
    /// The token of IndiaMART's push URL; `None`: push is not served.
    pub indiamart_push: Option<Secret>,
    /// The ledger's configuration for the JSON API, the pay pages and the
    /// gateway webhooks; `None`: none of them is served.
    pub ledger: Option<LedgerHttp>,
}

/// The whole router.
pub fn router(state: HttpState) -> Router {
    let limit = state.max_body_bytes;
    let mut app = Router::new().merge(health::routes());
    if state.whatsapp.is_some() {
        app = app.merge(whatsapp::routes());
    }
    if state.indiamart_push.is_some() {
        app = app.merge(indiamart::routes());
    }
    if state.ledger.is_some() {
        app = app
            .merge(payments::routes())
            .merge(api::routes())
            .merge(ops::routes())
            .merge(dashboard::routes());
    }
    app.layer(DefaultBodyLimit::max(limit)).with_state(state)
}
