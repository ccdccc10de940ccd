-- Among messages due at the same time, the largest debt goes first; and the
-- recipients messaged in the last 24 hours are counted against the sending
-- number's messaging limit.
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
-- claims: status = 'pending' AND not_before <= ? ORDER BY send_at, priority DESC, id
CREATE INDEX outbox_claim_order ON outbox (status, send_at, priority DESC, id);
-- the 24-hour recipient count
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE status = 'sent';
