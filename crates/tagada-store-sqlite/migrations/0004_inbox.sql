-- Inbound messages. Each is stored once (its webhook event is unique), then
-- handled: what it asked for, what tagada did, whether a person must look.
-- buyers.last_inbound_at opens the buyer's 24-hour window for free-form
-- replies; it only moves forward.

ALTER TABLE buyers ADD COLUMN last_inbound_at INTEGER;

CREATE TABLE inbox (
    id                INTEGER PRIMARY KEY,
    webhook_event_id  INTEGER NOT NULL UNIQUE REFERENCES webhook_events (id),
    message_id        TEXT NOT NULL,
    buyer_id          INTEGER REFERENCES buyers (id),
    from_phone        TEXT NOT NULL,       -- as the channel gave it
    profile_name      TEXT,
    sent_at           INTEGER NOT NULL,    -- when the buyer sent it
    received_at       INTEGER NOT NULL,
    kind              TEXT NOT NULL,       -- text | button | interactive | ...
    text              TEXT,
    payload           TEXT,
    outbox_id         INTEGER REFERENCES outbox (id),  -- the reminder answered
    intent            TEXT,                -- NULL until handled
    promise_date      TEXT,
    action            TEXT,
    needs_attention   INTEGER NOT NULL DEFAULT 0,
    handled_at        INTEGER,
    resolved_at       INTEGER,
    resolved_by       TEXT
);
CREATE INDEX inbox_buyer ON inbox (buyer_id, sent_at);
CREATE INDEX inbox_unhandled ON inbox (id) WHERE handled_at IS NULL;
CREATE INDEX inbox_open ON inbox (id) WHERE needs_attention = 1 AND resolved_at IS NULL;
