-- Leads from the marketplaces, each source's sync state, and sync runs.

-- One row per lead and source; `payload` is the lead as received.
CREATE TABLE leads (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    received_at  INTEGER,
    buyer_id     INTEGER REFERENCES buyers (id),
    -- new_buyer, matched:<phone|email|company_and_city>, skipped: <reason>
    outcome      TEXT NOT NULL,
    -- lower-cased, whitespace collapsed: the company-and-city match
    company_norm TEXT,
    city_norm    TEXT,
    payload      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX leads_company_city ON leads (company_norm, city_norm)
    WHERE buyer_id IS NOT NULL AND company_norm IS NOT NULL;
CREATE INDEX leads_buyer ON leads (buyer_id);

CREATE INDEX buyers_email ON buyers (lower(email)) WHERE email IS NOT NULL;

-- The cursor (every lead before it is in), the call budget, blocks and stops.
CREATE TABLE lead_sources (
    source         TEXT PRIMARY KEY,
    cursor         INTEGER,
    last_call_at   INTEGER,
    blocked_until  INTEGER,
    stopped_at     INTEGER,
    stopped_reason TEXT,
    updated_at     INTEGER
);

CREATE TABLE sync_runs (
    id              INTEGER PRIMARY KEY,
    source          TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER NOT NULL,
    window_start    INTEGER,
    window_end      INTEGER,
    outcome         TEXT NOT NULL,
    calls           INTEGER NOT NULL,
    leads_new       INTEGER NOT NULL,
    leads_duplicate INTEGER NOT NULL,
    buyers_new      INTEGER NOT NULL,
    buyers_matched  INTEGER NOT NULL,
    skipped         INTEGER NOT NULL,
    error           TEXT
);
CREATE INDEX sync_runs_source ON sync_runs (source, id);
