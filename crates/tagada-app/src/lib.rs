//! `tagada-app` owns tagada's use cases: loading configuration, importing
//! ledger files, building and applying reminder plans, the dispatcher step
//! and its loop, ledger actions (pause, snooze, mark paid, dispute, notes),
//! and the demo simulation. The CLI, the HTTP API and the worker are thin
//! callers of these functions; storage comes in as `&dyn Store`.

pub mod actions;
pub mod auth;
pub mod bank;
pub mod channel;
pub mod clock;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod import;
pub mod inbound;
pub mod leads;
pub mod ledger_sync;
pub mod payments;
pub mod planning;
pub mod reports;
pub mod summary;
pub mod templates;
pub mod webhooks;
pub mod whatsapp;
pub mod worker;
