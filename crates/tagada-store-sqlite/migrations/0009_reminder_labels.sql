-- What the metrics group reminders by: the cadence step's name and the
-- buyer's segment when the reminder was planned (earlier rows: unknown).
ALTER TABLE reminders ADD COLUMN step_name TEXT;
ALTER TABLE reminders ADD COLUMN segment TEXT;
