-- Summary tables: the collection figures as running sums, so that the
-- dashboard's overview reads a few thousand rows rather than every invoice
-- and message (see tagada_core::metrics::summary for what the rows hold).
--
-- The triggers below mark each invoice (kind 0) and message (kind 1) whose
-- facts change, whatever writes them; the application folds the marks into
-- the sums. A mark is a fresh number at each change, so a mark read before
-- a change is not cleared by the fold that read it.

-- A message's answers (whether a reminder was replied to).
CREATE INDEX inbox_outbox ON inbox (outbox_id) WHERE outbox_id IS NOT NULL;

CREATE TABLE summary_meta (
    id      SMALLINT PRIMARY KEY CHECK (id = 1),
    zone    TEXT NOT NULL,
    format  INTEGER NOT NULL,
    version BIGINT NOT NULL
);

CREATE SEQUENCE summary_mark_seq;

CREATE TABLE summary_dirty (
    kind SMALLINT NOT NULL,
    id   BIGINT NOT NULL,
    mark BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);

-- What each owner contributed last (tagada_core::metrics::SummaryBasis).
CREATE TABLE summary_bases (
    kind  SMALLINT NOT NULL,
    id    BIGINT NOT NULL,
    basis TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);

CREATE TABLE summary_sums (
    kind     SMALLINT NOT NULL,
    day      BIGINT NOT NULL,
    rep      TEXT NOT NULL,
    currency TEXT NOT NULL,
    k1       BIGINT NOT NULL,
    k2       BIGINT NOT NULL,
    v0 BIGINT NOT NULL, v1 BIGINT NOT NULL, v2 BIGINT NOT NULL,
    v3 BIGINT NOT NULL, v4 BIGINT NOT NULL, v5 BIGINT NOT NULL,
    v6 BIGINT NOT NULL, v7 BIGINT NOT NULL, v8 BIGINT NOT NULL,
    PRIMARY KEY (kind, day, rep, currency, k1, k2)
);

CREATE FUNCTION summary_mark(k SMALLINT, i BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO summary_dirty (kind, id, mark) VALUES (k, i, nextval('summary_mark_seq'))
        ON CONFLICT (kind, id) DO UPDATE SET mark = excluded.mark;
$$;

CREATE FUNCTION summary_invoice_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM summary_mark(0::smallint, OLD.id);
        RETURN NULL;
    END IF;
    PERFORM summary_mark(0::smallint, NEW.id);
    -- the messages that carry it count its payment in full
    IF TG_OP = 'UPDATE' AND (OLD.status IS DISTINCT FROM NEW.status
                             OR OLD.paid_at IS DISTINCT FROM NEW.paid_at) THEN
        PERFORM summary_mark(1::smallint, outbox_id) FROM outbox_invoices WHERE invoice_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER summary_invoice_insert AFTER INSERT OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION summary_invoice_changed();
CREATE TRIGGER summary_invoice_update AFTER UPDATE OF
    buyer_id, invoice_date, due_date, amount_minor, currency, status, paid_at ON invoices
    FOR EACH ROW EXECUTE FUNCTION summary_invoice_changed();

-- payments: their invoice owes less
CREATE FUNCTION summary_payment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.invoice_id IS NOT NULL THEN
        PERFORM summary_mark(0::smallint, OLD.invoice_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.invoice_id IS NOT NULL THEN
        PERFORM summary_mark(0::smallint, NEW.invoice_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER summary_payment AFTER INSERT OR UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION summary_payment_changed();

-- buyers: a new sales rep takes the buyer's figures along
CREATE FUNCTION summary_buyer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sales_rep IS DISTINCT FROM NEW.sales_rep THEN
        PERFORM summary_mark(0::smallint, id) FROM invoices WHERE buyer_id = NEW.id;
        PERFORM summary_mark(1::smallint, id) FROM outbox WHERE buyer_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER summary_buyer_rep AFTER UPDATE OF sales_rep ON buyers
    FOR EACH ROW EXECUTE FUNCTION summary_buyer_changed();

-- outbox: the message's funnel stages, and its invoices' first reminder
CREATE FUNCTION summary_outbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM summary_mark(1::smallint, OLD.id);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM summary_mark(1::smallint, NEW.id);
        RETURN NULL;
    END IF;
    IF OLD.status IS DISTINCT FROM NEW.status OR OLD.delivery IS DISTINCT FROM NEW.delivery
       OR OLD.send_at IS DISTINCT FROM NEW.send_at OR OLD.sent_at IS DISTINCT FROM NEW.sent_at THEN
        PERFORM summary_mark(1::smallint, NEW.id);
        PERFORM summary_mark(0::smallint, invoice_id) FROM outbox_invoices WHERE outbox_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER summary_outbox AFTER INSERT OR DELETE ON outbox
    FOR EACH ROW EXECUTE FUNCTION summary_outbox_changed();
CREATE TRIGGER summary_outbox_update AFTER UPDATE OF status, delivery, send_at, sent_at ON outbox
    FOR EACH ROW EXECUTE FUNCTION summary_outbox_changed();

-- which invoices a message carries; reminders: whether it is a reminder
CREATE FUNCTION summary_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM summary_mark(1::smallint, OLD.outbox_id);
        PERFORM summary_mark(0::smallint, OLD.invoice_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM summary_mark(1::smallint, NEW.outbox_id);
        PERFORM summary_mark(0::smallint, NEW.invoice_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER summary_outbox_invoices AFTER INSERT OR UPDATE OR DELETE ON outbox_invoices
    FOR EACH ROW EXECUTE FUNCTION summary_link_changed();
CREATE TRIGGER summary_reminders AFTER INSERT OR DELETE ON reminders
    FOR EACH ROW EXECUTE FUNCTION summary_link_changed();
CREATE TRIGGER summary_reminders_update AFTER UPDATE OF status, outbox_id, invoice_id ON reminders
    FOR EACH ROW EXECUTE FUNCTION summary_link_changed();

-- inbox: an answer to a message
CREATE FUNCTION summary_inbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.outbox_id IS NOT NULL THEN
        PERFORM summary_mark(1::smallint, OLD.outbox_id);
    END IF;
    IF NEW.outbox_id IS NOT NULL THEN
        PERFORM summary_mark(1::smallint, NEW.outbox_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER summary_inbox AFTER INSERT ON inbox
    FOR EACH ROW EXECUTE FUNCTION summary_inbox_changed();
CREATE TRIGGER summary_inbox_update AFTER UPDATE OF outbox_id ON inbox
    FOR EACH ROW EXECUTE FUNCTION summary_inbox_changed();
