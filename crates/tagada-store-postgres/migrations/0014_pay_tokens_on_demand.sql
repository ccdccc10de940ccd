-- Pay tokens are issued when an invoice's link is first needed (a planned
-- message, its page in the dashboard or the API), no longer when the invoice
-- is stored: an imported history of settled invoices then stores and indexes
-- none. Tokens already issued stay as they are (links already sent keep
-- working); the index covers issued tokens only.
ALTER TABLE invoices ALTER COLUMN pay_token DROP DEFAULT;
DROP INDEX IF EXISTS invoices_pay_token;
CREATE UNIQUE INDEX invoices_pay_token ON invoices (pay_token) WHERE pay_token IS NOT NULL;
