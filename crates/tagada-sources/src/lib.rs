//! `tagada-sources` owns the places leads and ledger records come from and
//! their mapping to typed records the application can store: file imports
//! ([`file`]: CSV and spreadsheet exports of buyers and invoices from Tally,
//! Busy, Zoho Books or a hand-kept sheet, read row by row into
//! [`file::ImportRow`]s or per-row rejections with a reason), and the lead
//! APIs' clients ([`indiamart`] pull and push, [`tradeindia`] `my_inquiry`),
//! which return typed leads and a verdict per call. The Google Sheets
//! ([`google`]) and Airtable ([`airtable`]) clients read and write the
//! ledger table a team keeps through one [`table::LedgerTable`] interface,
//! and [`file::from_table`] reads such a table with the importer's rules. The crate
//! never touches the store: the application layer decides what to keep.

pub mod airtable;
pub mod file;
pub mod google;
pub mod indiamart;
pub mod lead_text;
pub mod table;
pub mod tradeindia;
