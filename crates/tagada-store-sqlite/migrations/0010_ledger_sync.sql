-- Two-way sync with a ledger table (a Google Sheet tab, an Airtable
-- table). ledger_rows keeps, per table row, what the row said (a hash of
-- the columns people edit) and what tagada last wrote into the columns it
-- owns, so the next sync can tell who changed what. A row gone from the
-- table keeps its state with deleted_at set: history is never dropped.

CREATE TABLE ledger_rows (
    source     TEXT NOT NULL,
    row_key    TEXT NOT NULL,
    invoice_id INTEGER REFERENCES invoices (id),
    number     TEXT NOT NULL,
    locator    TEXT NOT NULL,
    sheet_hash TEXT NOT NULL,
    owned      TEXT NOT NULL,          -- JSON object: column -> value
    deleted_at INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, row_key)
);

CREATE TABLE ledger_runs (
    id               INTEGER PRIMARY KEY,
    source           TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER NOT NULL,
    dry_run          INTEGER NOT NULL,
    outcome          TEXT NOT NULL,    -- synced | dry_run | failed
    rows_read        INTEGER NOT NULL,
    rows_rejected    INTEGER NOT NULL,
    invoices_created INTEGER NOT NULL,
    invoices_updated INTEGER NOT NULL,
    rows_deleted     INTEGER NOT NULL,
    rows_written     INTEGER NOT NULL,
    rows_appended    INTEGER NOT NULL,
    conflicts        INTEGER NOT NULL,
    requests         INTEGER NOT NULL,
    error            TEXT
);
CREATE INDEX ledger_runs_source ON ledger_runs (source, id);
