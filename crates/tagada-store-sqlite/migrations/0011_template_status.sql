-- What Meta last said of each WhatsApp template: written by a check of the
-- account's templates (`tagada templates check`, and `tagada serve` on a
-- schedule) and by the account's template status webhooks; the newest
-- word wins.

CREATE TABLE template_status (
    name       TEXT NOT NULL,
    language   TEXT NOT NULL,
    status     TEXT NOT NULL,
    category   TEXT,
    detail     TEXT,
    source     TEXT NOT NULL,          -- check | webhook
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (name, language)
);
