-- Pay pages and gateway links.
--
-- Every invoice gets an unguessable token for its pay page (`/pay/<token>`),
-- set when the invoice is inserted. It is kept in plain text: each reminder
-- renders it again, and the reminders themselves (with the link) are kept
-- in the outbox; it lets its holder see the amount due and pay, nothing else.
ALTER TABLE invoices ADD COLUMN pay_token TEXT;
UPDATE invoices SET pay_token = lower(hex(randomblob(16))) WHERE pay_token IS NULL;
CREATE UNIQUE INDEX invoices_pay_token ON invoices (pay_token);

-- Links created at Razorpay and Stripe, one per invoice and amount.
CREATE TABLE payment_links (
    id                INTEGER PRIMARY KEY,
    invoice_id        INTEGER NOT NULL REFERENCES invoices (id),
    gateway           TEXT NOT NULL,      -- razorpay | stripe
    remote_id         TEXT NOT NULL,      -- plink_... | cs_...
    reference_id      TEXT NOT NULL,
    url               TEXT NOT NULL,
    amount_minor      INTEGER NOT NULL,
    amount_paid_minor INTEGER NOT NULL DEFAULT 0,
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL,      -- open | partially_paid | paid | expired | cancelled
    order_id          TEXT,
    expires_at        INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (gateway, remote_id)
);
CREATE INDEX payment_links_invoice ON payment_links (invoice_id, gateway);
CREATE INDEX payment_links_order ON payment_links (gateway, order_id) WHERE order_id IS NOT NULL;
CREATE INDEX payment_links_reference ON payment_links (gateway, reference_id);
CREATE INDEX payment_links_open ON payment_links (status) WHERE status IN ('open', 'partially_paid');
