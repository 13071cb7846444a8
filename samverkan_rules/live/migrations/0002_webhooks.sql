-- Webhook deliveries, shared by the replicas: whichever holds the lease delivers from where
-- the one before it stopped (serve/webhooks.py keeps the same in webhooks.db with SQLite).
CREATE TABLE webhook_cursors (
    subscription TEXT NOT NULL,
    routine TEXT NOT NULL,
    after BIGINT NOT NULL,
    PRIMARY KEY (subscription, routine)
);

CREATE TABLE webhook_dead_letters (
    subscription TEXT NOT NULL,
    routine TEXT NOT NULL,
    seq BIGINT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (subscription, routine, seq)
);
