-- The live store on PostgreSQL: the same concepts as the SQLite file (live/store.py), with a
-- routine column, since one database holds every routine served.

-- One row per routine: its write lock (a post holds it FOR UPDATE until it commits), how
-- many writes and erasures it has seen (replicas compare these to know what to read again)
-- and the key of its tombstones' pseudonyms.
CREATE TABLE routines (
    routine TEXT PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0,
    epoch BIGINT NOT NULL DEFAULT 0,
    pseudonym_key BYTEA NOT NULL
);

CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    routine TEXT NOT NULL,
    id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    data TEXT NOT NULL,
    content TEXT NOT NULL,
    client TEXT,
    UNIQUE (routine, id)
);
CREATE INDEX events_case ON events (routine, case_id, seq);

-- Append-only: an update is refused, and a delete too unless an erasure set
-- samverkan.erasing for its own transaction.
CREATE FUNCTION samverkan_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('samverkan.erasing', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the event store is append-only';
END;
$$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION samverkan_append_only();

CREATE TABLE erased (
    routine TEXT NOT NULL,
    case_key TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    PRIMARY KEY (routine, case_key)
);

-- The change log: its numbers come from the table's sequence, taken under the routine's
-- write lock, so they become visible in the order they were taken.
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    routine TEXT NOT NULL,
    case_id TEXT NOT NULL,
    at TEXT NOT NULL,
    obligation TEXT NOT NULL,
    rule TEXT NOT NULL,
    before TEXT,
    after TEXT,
    cause TEXT,
    named TEXT NOT NULL,
    deadline TEXT,
    record TEXT
);
CREATE INDEX changes_routine ON changes (routine, seq);
CREATE INDEX changes_case ON changes (routine, case_id, obligation, seq);

CREATE TABLE answers (
    routine TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    body BYTEA NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (routine, key)
);
