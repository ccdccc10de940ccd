-- Who may use the JSON API and the dashboard. Tokens and session ids are
-- kept as SHA-256 hashes, passwords as argon2 PHC strings: nothing here
-- lets anyone in.

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,        -- admin | accountant | sales_rep
    rep          TEXT,                 -- the sales rep's name, for sales_rep
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    rep           TEXT,
    created_at    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE sessions (
    session_hash TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    csrf_hash    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
