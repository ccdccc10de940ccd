-- The summary's invoice trigger split in two, so that a bulk import can set
-- aside the one on new invoices (and mark the loaded invoices in one
-- statement when it ends) while deleted invoices are still marked.
DROP TRIGGER summary_invoice_insert ON invoices;
CREATE TRIGGER summary_invoice_insert AFTER INSERT ON invoices
    FOR EACH ROW EXECUTE FUNCTION summary_invoice_changed();
CREATE TRIGGER summary_invoice_delete AFTER DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION summary_invoice_changed();
