-- Summary tables: the collection figures as running sums, so that the
-- dashboard's overview reads a few thousand rows rather than every invoice
-- and message (see tagada_core::metrics::summary for what the rows hold).
--
-- The triggers below mark each invoice (kind 0) and message (kind 1) whose
-- facts change, whatever writes them; the application folds the marks into
-- the sums. A mark is a fresh random number at each change, so a mark read
-- before a change is not cleared by the fold that read it.

-- A message's answers (whether a reminder was replied to).
CREATE INDEX inbox_outbox ON inbox (outbox_id) WHERE outbox_id IS NOT NULL;

CREATE TABLE summary_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    zone    TEXT NOT NULL,
    format  INTEGER NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE summary_dirty (
    kind INTEGER NOT NULL,
    id   INTEGER NOT NULL,
    mark INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- What each owner contributed last (tagada_core::metrics::SummaryBasis).
CREATE TABLE summary_bases (
    kind  INTEGER NOT NULL,
    id    INTEGER NOT NULL,
    basis TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE TABLE summary_sums (
    kind     INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    rep      TEXT NOT NULL,
    currency TEXT NOT NULL,
    k1       INTEGER NOT NULL,
    k2       INTEGER NOT NULL,
    v0 INTEGER NOT NULL, v1 INTEGER NOT NULL, v2 INTEGER NOT NULL,
    v3 INTEGER NOT NULL, v4 INTEGER NOT NULL, v5 INTEGER NOT NULL,
    v6 INTEGER NOT NULL, v7 INTEGER NOT NULL, v8 INTEGER NOT NULL,
    PRIMARY KEY (kind, day, rep, currency, k1, k2)
) WITHOUT ROWID;

-- invoices: what the metrics read changed
CREATE TRIGGER summary_invoice_insert AFTER INSERT ON invoices BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, NEW.id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_invoice_update AFTER UPDATE OF
    buyer_id, invoice_date, due_date, amount_minor, currency, status, paid_at ON invoices
BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, NEW.id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
-- ...and the messages that carry it count its payment in full
CREATE TRIGGER summary_invoice_paid AFTER UPDATE OF status, paid_at ON invoices
WHEN OLD.status IS NOT NEW.status OR OLD.paid_at IS NOT NEW.paid_at
BEGIN
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 1, outbox_id, random() FROM outbox_invoices WHERE invoice_id = NEW.id
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_invoice_delete AFTER DELETE ON invoices BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, OLD.id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;

-- payments: their invoice owes less
CREATE TRIGGER summary_payment_insert AFTER INSERT ON payments
WHEN NEW.invoice_id IS NOT NULL
BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, NEW.invoice_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_payment_update AFTER UPDATE ON payments BEGIN
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 0, invoice_id, random() FROM (SELECT OLD.invoice_id AS invoice_id
            UNION SELECT NEW.invoice_id) WHERE invoice_id IS NOT NULL
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_payment_delete AFTER DELETE ON payments
WHEN OLD.invoice_id IS NOT NULL
BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, OLD.invoice_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;

-- buyers: a new sales rep takes the buyer's figures along
CREATE TRIGGER summary_buyer_rep AFTER UPDATE OF sales_rep ON buyers
WHEN OLD.sales_rep IS NOT NEW.sales_rep
BEGIN
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 0, id, random() FROM invoices WHERE buyer_id = NEW.id
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 1, id, random() FROM outbox WHERE buyer_id = NEW.id
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;

-- outbox: the message's funnel stages, and its invoices' first reminder
CREATE TRIGGER summary_outbox_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (1, NEW.id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_outbox_update AFTER UPDATE OF status, delivery, send_at, sent_at ON outbox
WHEN OLD.status IS NOT NEW.status OR OLD.delivery IS NOT NEW.delivery
    OR OLD.send_at IS NOT NEW.send_at OR OLD.sent_at IS NOT NEW.sent_at
BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (1, NEW.id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 0, invoice_id, random() FROM outbox_invoices WHERE outbox_id = NEW.id
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_outbox_delete AFTER DELETE ON outbox BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (1, OLD.id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_outbox_invoice_insert AFTER INSERT ON outbox_invoices BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (1, NEW.outbox_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, NEW.invoice_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_outbox_invoice_delete AFTER DELETE ON outbox_invoices BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (1, OLD.outbox_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, OLD.invoice_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;

-- reminders: whether a message is a reminder
CREATE TRIGGER summary_reminder_insert AFTER INSERT ON reminders BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (1, NEW.outbox_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
    INSERT INTO summary_dirty (kind, id, mark) VALUES (0, NEW.invoice_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_reminder_update AFTER UPDATE OF status, outbox_id, invoice_id ON reminders BEGIN
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 1, x, random() FROM (SELECT OLD.outbox_id AS x UNION SELECT NEW.outbox_id) WHERE true
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 0, x, random() FROM (SELECT OLD.invoice_id AS x UNION SELECT NEW.invoice_id) WHERE true
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;

-- inbox: an answer to a message
CREATE TRIGGER summary_inbox_insert AFTER INSERT ON inbox
WHEN NEW.outbox_id IS NOT NULL
BEGIN
    INSERT INTO summary_dirty (kind, id, mark) VALUES (1, NEW.outbox_id, random())
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
CREATE TRIGGER summary_inbox_update AFTER UPDATE OF outbox_id ON inbox BEGIN
    INSERT INTO summary_dirty (kind, id, mark)
        SELECT 1, x, random() FROM (SELECT OLD.outbox_id AS x UNION SELECT NEW.outbox_id)
            WHERE x IS NOT NULL
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
END;
