//! `tagada-whatsapp`: a client for the WhatsApp Business Cloud API, usable
//! on its own. It owns the bodies we send (template messages with document
//! headers, currency and date parameters, URL and quick-reply buttons;
//! free-form text and documents inside the 24-hour window), media upload,
//! the account's template list, the classification of Meta's error codes
//! into what a sender should do, and the webhook side: the subscription
//! handshake, the `X-Hub-Signature-256` check over the raw body, and the
//! payload read into status and inbound-message events.
//!
//! It knows nothing of tagada's ledger or store: the application maps
//! reminders to [`TemplateMessage`]s and events back to the ledger.

pub mod client;
pub mod error;
pub mod send;
pub mod webhook;

pub use client::{Client, ClientConfig, Template, TemplateButton, TemplateComponent};
pub use error::{ClientError, ErrorClass, GraphError, classify};
pub use send::{
    Accepted, BodyParam, ButtonParam, Document, DocumentMessage, QuickReply, TemplateMessage,
    TextMessage,
};
pub use webhook::{Event, InboundKind, InboundMessage, StatusEvent, StatusKind};
