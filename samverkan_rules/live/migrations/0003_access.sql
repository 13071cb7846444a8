-- The access log, shared by the replicas (serve/access.py keeps the same in access.db with
-- SQLite): who read or changed which case, the case named by a keyed pseudonym.
CREATE TABLE access_key (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    key BYTEA NOT NULL
);

CREATE TABLE access (
    seq BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    client TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    routine TEXT,
    case_key TEXT NOT NULL,
    status INTEGER NOT NULL
);
CREATE INDEX access_case ON access (case_key, seq);

-- Secrets every replica must share, made once by the first to ask: the key calendar links
-- are made from (feeds.key beside an SQLite store), so a link opens on any replica.
CREATE TABLE service_keys (
    name TEXT PRIMARY KEY,
    key TEXT NOT NULL
);
