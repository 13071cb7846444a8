-- The content digest of each routine version from the first time it judged the store's
-- events (live/store.py keeps the same in each SQLite file): a version is immutable once it
-- has judged events, and a replica started with other content under the same number is
-- refused.
CREATE TABLE routine_versions (
    routine TEXT NOT NULL,
    version TEXT NOT NULL,
    digest TEXT NOT NULL,
    first_at TEXT NOT NULL,
    PRIMARY KEY (routine, version)
);
