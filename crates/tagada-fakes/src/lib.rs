//! Faithful loopback fakes of the external APIs tagada talks to, with
//! scripted behaviour and fault injection, for tests and the demo mode.
//!
//! Each fake is real HTTP on `127.0.0.1:0`: it checks credentials, validates
//! request bodies against what the real service accepts, answers with the
//! documented error envelopes and sends signed webhooks. This crate depends
//! on no other tagada crate.
//!
//! * [`meta`]: Meta's WhatsApp Cloud API (Graph API): message sends with
//!   template checks, media upload, template listing, status and inbound
//!   webhooks.
//! * [`indiamart`]: IndiaMART's Lead Manager CRM API v2 pull, with the
//!   5-minute rule, key blocks and seeded leads.
//! * [`tradeindia`]: TradeIndia's `my_inquiry` endpoint, with paging and its
//!   error answers.
//! * [`razorpay`]: Razorpay Payment Links (create, fetch, list, cancel) with
//!   simulated buyers (full, partial and failed payments, expiry) and
//!   signed webhooks.
//! * [`stripe`]: Stripe Checkout Sessions (create, retrieve, expire, form
//!   bodies, idempotency keys) with simulated buyers (card and delayed
//!   payments) and signed events.
//! * [`airtable`]: Airtable's Web API (records): paged listings with
//!   expiring offsets and a `filterByFormula` subset, batched creates,
//!   updates and upserts with typecast, personal access tokens, the 5
//!   requests a second per base limit with its 30-second penalty and the
//!   monthly call cap.
//! * [`google`]: Google's OAuth token endpoint (service-account JWT
//!   grant, checked against a generated key) and the Sheets API v4 values
//!   methods (batchGet, batchUpdate, append) over in-memory spreadsheets,
//!   with sharing, A1 ranges, number formats, the per-minute quota and
//!   scripted faults.
//! * [`gateway_hooks`]: the webhook delivery both payment fakes share:
//!   duplicates, held and shuffled deliveries, retries, replay.

pub mod airtable;
pub mod gateway_hooks;
pub mod google;
pub mod indiamart;
pub mod marketplace;
pub mod meta;
pub mod razorpay;
pub mod stripe;
pub mod tradeindia;

pub use airtable::{AirtableCall, AirtableFake, AirtableFakeConfig, FakeRecord, FieldKind};
pub use gateway_hooks::{ApiFault, HookBehaviour, HookDelivery, RecordedRequest};
pub use google::{GoogleFake, GoogleFakeConfig, GoogleRequest};
pub use meta::{AcceptedMessage, FakeTemplate, Fault, MetaFake, MetaFakeConfig, WebhookBehaviour};
pub use razorpay::{RazorpayFake, RazorpayFakeConfig};
pub use stripe::{StripeFake, StripeFakeConfig};
