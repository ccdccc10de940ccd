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

pub mod meta;

pub use meta::{AcceptedMessage, FakeTemplate, Fault, MetaFake, MetaFakeConfig, WebhookBehaviour};
