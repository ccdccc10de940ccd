-- tagada's SQLite schema, version 1.
--
-- Conventions: instants are INTEGER unix microseconds (UTC); civil dates are
-- ISO 8601 TEXT (`2026-12-01`, which sorts like the date); money is INTEGER
-- minor units next to a TEXT ISO 4217 code; enums are their snake_case names.

CREATE TABLE buyers (
    id               INTEGER PRIMARY KEY,
    external_key     TEXT UNIQUE,
    name             TEXT NOT NULL,
    -- lower-cased, trimmed, inner whitespace collapsed: the name identity
    name_norm        TEXT NOT NULL,
    company          TEXT,
    whatsapp         TEXT,            -- E.164
    phone_raw        TEXT,
    wa_id            TEXT,
    email            TEXT,
    country          TEXT,
    time_zone        TEXT,
    language         TEXT,
    sales_rep        TEXT,
    consent_at       INTEGER,
    consent_source   TEXT,
    opted_out_at     INTEGER,
    paused           INTEGER NOT NULL DEFAULT 0,
    paused_until     TEXT,
    cadence_override TEXT,
    notes            TEXT,
    updated_at       INTEGER
);
CREATE INDEX buyers_name_norm ON buyers (name_norm);
CREATE INDEX buyers_whatsapp ON buyers (whatsapp) WHERE whatsapp IS NOT NULL;
CREATE INDEX buyers_wa_id ON buyers (wa_id) WHERE wa_id IS NOT NULL;

CREATE TABLE invoices (
    id                INTEGER PRIMARY KEY,
    number            TEXT NOT NULL UNIQUE,
    buyer_id          INTEGER NOT NULL REFERENCES buyers (id),
    order_date        TEXT,
    invoice_date      TEXT NOT NULL,
    due_date          TEXT NOT NULL,
    credit_days       INTEGER,
    amount_minor      INTEGER NOT NULL,
    amount_paid_minor INTEGER NOT NULL DEFAULT 0,
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL,
    snoozed_until     TEXT,
    paused            INTEGER NOT NULL DEFAULT 0,
    cadence_override  TEXT,
    paid_at           INTEGER,
    reminder_cycle    INTEGER NOT NULL DEFAULT 0,
    source            TEXT NOT NULL,
    source_hash       TEXT NOT NULL,
    notes             TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- The planning horizon is one range scan over unsettled invoices only:
-- status IN (<unsettled>) AND due_date <= ?. Settled invoices (most of an
-- imported history) never enter this index, which keeps imports cheap.
CREATE INDEX invoices_unsettled_due ON invoices (due_date)
    WHERE status IN ('pending', 'in_process', 'partially_paid', 'disputed');
-- A buyer's invoices (history, lists, timelines). Plain buyer_id: new rows
-- append at the end of each buyer's range whatever their dates.
CREATE INDEX invoices_buyer ON invoices (buyer_id);

-- Status changes made through the invoice state machine (for timelines).
CREATE TABLE invoice_events (
    id          INTEGER PRIMARY KEY,
    invoice_id  INTEGER NOT NULL REFERENCES invoices (id),
    at          INTEGER NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    event       TEXT NOT NULL        -- JSON InvoiceEvent
);
CREATE INDEX invoice_events_invoice ON invoice_events (invoice_id, at);

CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    invoice_id   INTEGER REFERENCES invoices (id),
    buyer_id     INTEGER REFERENCES buyers (id),
    amount_minor INTEGER NOT NULL,
    currency     TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    method       TEXT NOT NULL,
    reference    TEXT,
    flag         TEXT,
    recorded_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX payments_reference ON payments (method, reference) WHERE reference IS NOT NULL;
CREATE INDEX payments_invoice ON payments (invoice_id) WHERE invoice_id IS NOT NULL;
CREATE INDEX payments_buyer ON payments (buyer_id) WHERE buyer_id IS NOT NULL;

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    buyer_id   INTEGER NOT NULL REFERENCES buyers (id),
    invoice_id INTEGER REFERENCES invoices (id),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    author     TEXT,
    text       TEXT NOT NULL
);
CREATE INDEX notes_buyer ON notes (buyer_id, at);
CREATE INDEX notes_invoice ON notes (invoice_id) WHERE invoice_id IS NOT NULL;

CREATE TABLE rejects (
    id          INTEGER PRIMARY KEY,
    source_file TEXT NOT NULL,
    line        INTEGER NOT NULL,
    column_name TEXT,
    reason      TEXT NOT NULL,
    raw         TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX rejects_file ON rejects (source_file);

-- Outbox status: pending | in_flight | sent | dead | cancelled | needs_review.
-- `failed` is transient (a retry goes straight back to pending with a later
-- not_before), so only `pending` rows are ever claimed.
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    buyer_id           INTEGER NOT NULL REFERENCES buyers (id),
    to_phone           TEXT NOT NULL,
    dedupe_key         TEXT NOT NULL UNIQUE,
    status             TEXT NOT NULL,
    delivery           TEXT,
    send_at            INTEGER NOT NULL,
    not_before         INTEGER NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT,
    provider_id        TEXT,
    message            TEXT NOT NULL,     -- JSON RenderedMessage
    escalate           INTEGER NOT NULL DEFAULT 0,
    lease_token        INTEGER,
    lease_until        INTEGER,
    sending_started_at INTEGER,
    worker             TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    sent_at            INTEGER
);
-- claims: status = 'pending' AND not_before <= ? ORDER BY not_before, id
CREATE INDEX outbox_due ON outbox (status, not_before, id);
-- lease expiry: status = 'in_flight' AND lease_until <= ?
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE status = 'in_flight';
CREATE INDEX outbox_buyer ON outbox (buyer_id, created_at);
CREATE INDEX outbox_provider ON outbox (provider_id) WHERE provider_id IS NOT NULL;

-- Which invoices a message carries (a consolidated message carries several).
CREATE TABLE outbox_invoices (
    outbox_id  INTEGER NOT NULL REFERENCES outbox (id),
    invoice_id INTEGER NOT NULL REFERENCES invoices (id),
    PRIMARY KEY (outbox_id, invoice_id)
) WITHOUT ROWID;
CREATE INDEX outbox_invoices_invoice ON outbox_invoices (invoice_id, outbox_id);

-- One row per planned (invoice, step, cycle). The key is unique among rows
-- that are not cancelled: cancelling a message cancels its reminders, and a
-- later plan may then schedule the same step again.
CREATE TABLE reminders (
    id           INTEGER PRIMARY KEY,
    invoice_id   INTEGER NOT NULL REFERENCES invoices (id),
    step         INTEGER NOT NULL,
    cycle        INTEGER NOT NULL,
    outbox_id    INTEGER NOT NULL REFERENCES outbox (id),
    status       TEXT NOT NULL,           -- scheduled | cancelled
    scheduled_at INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    cancelled_at INTEGER
);
CREATE UNIQUE INDEX reminders_key ON reminders (invoice_id, step, cycle) WHERE status <> 'cancelled';
CREATE INDEX reminders_invoice ON reminders (invoice_id);
CREATE INDEX reminders_outbox ON reminders (outbox_id);

CREATE TABLE attempts (
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    attempt   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    worker    TEXT NOT NULL,
    outcome   TEXT NOT NULL,              -- JSON AttemptOutcome
    PRIMARY KEY (outbox_id, attempt)
) WITHOUT ROWID;
