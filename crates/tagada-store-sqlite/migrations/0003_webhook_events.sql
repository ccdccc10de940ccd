-- Channel webhooks. Every event is kept once under its key (a replayed
-- webhook changes nothing); applied message statuses also go to
-- message_events, the delivery history of each outbox row.

CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,           -- whatsapp
    event_key   TEXT NOT NULL,           -- status:<wamid>:<status> | message:<id>
    received_at INTEGER NOT NULL,
    payload     TEXT NOT NULL,           -- the event's JSON as received
    outcome     TEXT NOT NULL,           -- applied | unmatched | ignored | received
    outbox_id   INTEGER REFERENCES outbox (id),
    UNIQUE (source, event_key)
);
CREATE INDEX webhook_events_received ON webhook_events (source, received_at);

CREATE TABLE message_events (
    id               INTEGER PRIMARY KEY,
    outbox_id        INTEGER NOT NULL REFERENCES outbox (id),
    webhook_event_id INTEGER NOT NULL REFERENCES webhook_events (id),
    wamid            TEXT NOT NULL,
    status           TEXT NOT NULL,      -- sent | delivered | read | failed
    at               INTEGER NOT NULL,   -- when the channel says it happened
    error_code       INTEGER,
    error            TEXT,
    delivery         TEXT NOT NULL       -- the row's delivery after this status
);
CREATE INDEX message_events_outbox ON message_events (outbox_id, id);
