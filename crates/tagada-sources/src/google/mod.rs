//! Google Sheets API v4: a ledger or leads tab read and written through
//! the `spreadsheets.values` methods with a service account.
//!
//! * [`auth`]: the key file ([`ServiceAccountKey`]), the RS256 JWT
//!   assertion and the cached access token ([`TokenSource`]).
//! * [`client`]: [`SheetsClient`]'s `batchGet`, `batchUpdate` and `append`,
//!   paced ([`Pacing`]) and retried on 429/500/503 with a capped, jittered
//!   exponential backoff.
//! * [`sheet`]: [`SheetsTable`], one tab as a
//!   [`LedgerTable`](crate::table::LedgerTable).
//! * [`a1`] and [`cells`]: A1 notation, and the merge of a cell's stored
//!   and displayed values (leading zeros, serial dates, exact numbers).
//!
//! The sheet must be shared with the key's `client_email`; a 403 says so.

pub mod a1;
pub mod auth;
pub mod cells;
pub mod client;
pub mod sheet;

pub use auth::{Clock, JwtClaims, JwtHeader, KeyError, ServiceAccountKey, TokenSource};
pub use client::{
    AppendResponse, BatchUpdateResponse, InsertData, Pacing, SheetsClient, UpdateValuesResponse,
    ValueInput, ValueRange, ValueRender,
};
pub use sheet::{HeaderRow, SheetsTable};
