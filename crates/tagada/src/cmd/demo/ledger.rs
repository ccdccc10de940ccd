//! `tagada demo --ledger sheets|airtable`: the demo's open orders kept in a
//! local fake of Google Sheets or Airtable, synced through the same
//! configuration and clients as `tagada ledger sync`.

use std::sync::Arc;

use anyhow::Context as _;
use jiff::Timestamp;
use serde_json::{Map, Value};
use tagada_app::clock::SimClock;
use tagada_app::config::Config;
use tagada_app::demo::DemoLedger;
use tagada_app::ledger_sync::{self, LeadsTab, LedgerKind, OpenedTable, SyncOptions};
use tagada_app::whatsapp::Secret;
use tagada_fakes::airtable::{AirtableFake, AirtableFakeConfig};
use tagada_fakes::google::{GoogleFake, GoogleFakeConfig};
use tagada_sources::table::LedgerTable;

/// Where the demo keeps its ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LedgerChoice {
    /// In tagada's store only.
    None,
    /// In a fake Google Sheet, synced once a simulated day.
    Sheets,
    /// In a fake Airtable base, synced once a simulated day.
    Airtable,
}

const SPREADSHEET: &str = "1TagadaDemoLedger00000000000000000000000000";
const TAB: &str = "Orders";
const LEADS_TAB: &str = "Leads";
const BASE: &str = "appTagadaDemo0001";

enum Fake {
    Sheets(GoogleFake),
    Airtable(AirtableFake),
}

/// A fake table and tagada's client for it, opened from `[ledger]` as
/// `tagada ledger sync` opens it.
pub struct LocalLedger {
    fake: Fake,
    opened: OpenedTable,
    options: SyncOptions,
    /// Holds the fake service account's key file while the demo runs.
    _key_dir: Option<tempfile::TempDir>,
}

impl LocalLedger {
    /// Starts the fake and points `config.app.ledger` at it.
    pub async fn start(
        choice: LedgerChoice,
        config: &mut Config,
        clock: &SimClock,
    ) -> anyhow::Result<Option<LocalLedger>> {
        let mut key_dir = None;
        let fake = match choice {
            LedgerChoice::None => return Ok(None),
            LedgerChoice::Sheets => {
                let fake = GoogleFake::start(GoogleFakeConfig::default())
                    .await
                    .context("starting the local fake of Google Sheets")?;
                fake.add_spreadsheet(SPREADSHEET);
                // the tab new leads go to, which a person makes once
                fake.set_values(SPREADSHEET, LEADS_TAB, Vec::new());
                let dir = tempfile::tempdir()?;
                let key_file = fake.write_key_file(dir.path())?;
                key_dir = Some(dir);
                let sheets = &mut config.app.ledger.sheets;
                sheets.spreadsheet_id = SPREADSHEET.into();
                sheets.tab = TAB.into();
                sheets.leads_tab = LEADS_TAB.into();
                sheets.key_file = key_file.display().to_string();
                sheets.base_url = fake.base_url();
                // one request a second is Google's pace; the simulated days
                // would take minutes, and the fake's quota allows this
                sheets.min_interval_ms = 20;
                config.app.ledger.kind = LedgerKind::Sheets;
                Fake::Sheets(fake)
            }
            LedgerChoice::Airtable => {
                let fake_config = AirtableFakeConfig::default();
                let token = fake_config.valid_tokens[0].clone();
                let fake = AirtableFake::start(fake_config)
                    .await
                    .context("starting the local fake of Airtable")?;
                let airtable = &mut config.app.ledger.airtable;
                airtable.base_id = BASE.into();
                airtable.table = TAB.into();
                airtable.token = Secret::new(token);
                airtable.base_url = fake.base_url();
                config.app.ledger.kind = LedgerKind::Airtable;
                Fake::Airtable(fake)
            }
        };
        let import = tagada_app::import::options(&config.app.import)?;
        let options = config
            .app
            .ledger
            .options(&import, &config.planner, false)
            .context("the demo's [ledger] section")?;
        let opened = config
            .app
            .ledger
            .open("Invoice No", Arc::new(clock.clone()))
            .map_err(anyhow::Error::msg)?;
        Ok(Some(LocalLedger {
            fake,
            opened,
            options,
            _key_dir: key_dir,
        }))
    }

    pub async fn stop(self) {
        match self.fake {
            Fake::Sheets(f) => f.shutdown().await,
            Fake::Airtable(f) => f.shutdown().await,
        }
    }

    /// The sheet's rows, and the row (1-based) holding `number` in column A.
    fn sheet_row(fake: &GoogleFake, number: &str) -> (Vec<Vec<Value>>, Option<usize>) {
        let grid = fake.values(SPREADSHEET, TAB).unwrap_or_default();
        let row = grid
            .iter()
            .position(|r| r.first().and_then(Value::as_str) == Some(number))
            .map(|i| i + 1);
        (grid, row)
    }

    fn record_id(fake: &AirtableFake, number: &str) -> Option<String> {
        fake.records(BASE, TAB)
            .into_iter()
            .find(|r| r.fields.get("Invoice No").and_then(Value::as_str) == Some(number))
            .map(|r| r.id)
    }
}

fn fields(cells: &[(&str, String)]) -> Map<String, Value> {
    cells
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_string(), Value::from(v.as_str())))
        .collect()
}

impl DemoLedger for LocalLedger {
    fn describe(&self) -> String {
        match &self.fake {
            Fake::Sheets(f) => format!(
                "Ledger: a fake Google Sheet at {} (spreadsheet {SPREADSHEET}, tab {TAB}; new leads go to tab {LEADS_TAB})",
                f.base_url()
            ),
            Fake::Airtable(f) => format!(
                "Ledger: a fake Airtable base at {} (base {BASE}, table {TAB})",
                f.base_url()
            ),
        }
    }

    fn table(&self) -> &dyn LedgerTable {
        self.opened.table.as_ref()
    }

    fn options(&self) -> &SyncOptions {
        &self.options
    }

    fn leads_tab(&self) -> Option<&LeadsTab> {
        self.opened.leads.as_ref()
    }

    fn fill(&self, header: &[&str], rows: &[Vec<String>]) {
        match &self.fake {
            Fake::Sheets(f) => {
                let mut grid = vec![header.iter().map(|h| Value::from(*h)).collect::<Vec<_>>()];
                grid.extend(
                    rows.iter()
                        .map(|r| r.iter().map(|c| Value::from(c.as_str())).collect()),
                );
                f.set_values(SPREADSHEET, TAB, grid);
            }
            Fake::Airtable(f) => {
                let records = rows
                    .iter()
                    .map(|r| {
                        let cells: Vec<(&str, String)> =
                            header.iter().copied().zip(r.iter().cloned()).collect();
                        fields(&cells)
                    })
                    .collect();
                f.add_table(BASE, TAB, records);
                // Airtable fields are made by a person, once: the team's
                // columns and the ones `tagada ledger connect` asks for.
                let mut names: Vec<&str> = header.to_vec();
                names.extend(ledger_sync::OWNED_COLUMNS);
                f.set_fields(BASE, TAB, &names);
            }
        }
    }

    fn edit(&self, number: &str, column: &str, value: &str) {
        match &self.fake {
            Fake::Sheets(f) => {
                let (grid, row) = Self::sheet_row(f, number);
                let col = grid
                    .first()
                    .and_then(|h| h.iter().position(|c| c.as_str() == Some(column)));
                if let (Some(row), Some(col)) = (row, col) {
                    let letters = tagada_sources::google::a1::column_letters(
                        u32::try_from(col + 1).unwrap_or(u32::MAX),
                    );
                    f.edit_cell(
                        SPREADSHEET,
                        TAB,
                        &format!("{letters}{row}"),
                        &Value::from(value),
                    );
                }
            }
            Fake::Airtable(f) => {
                if let Some(id) = Self::record_id(f, number) {
                    f.edit_record(BASE, TAB, &id, fields(&[(column, value.to_string())]));
                }
            }
        }
    }

    fn add_row(&self, cells: &[(&str, String)]) {
        match &self.fake {
            Fake::Sheets(f) => {
                let mut grid = f.values(SPREADSHEET, TAB).unwrap_or_default();
                let row = grid
                    .first()
                    .map(|h| {
                        h.iter()
                            .map(|name| {
                                cells
                                    .iter()
                                    .find(|(k, _)| Some(*k) == name.as_str())
                                    .map_or(Value::from(""), |(_, v)| Value::from(v.as_str()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                grid.push(row);
                f.set_values(SPREADSHEET, TAB, grid);
            }
            Fake::Airtable(f) => {
                f.add_record(BASE, TAB, fields(cells));
            }
        }
    }

    fn delete_row(&self, number: &str) {
        match &self.fake {
            Fake::Sheets(f) => {
                if let (_, Some(row)) = Self::sheet_row(f, number) {
                    f.delete_row(SPREADSHEET, TAB, u64::try_from(row).unwrap_or(u64::MAX));
                }
            }
            Fake::Airtable(f) => {
                if let Some(id) = Self::record_id(f, number) {
                    f.delete_record(BASE, TAB, &id);
                }
            }
        }
    }

    fn clock_set(&self, now: Timestamp) {
        if let Fake::Sheets(f) = &self.fake {
            f.set_clock(now);
        }
    }
}
