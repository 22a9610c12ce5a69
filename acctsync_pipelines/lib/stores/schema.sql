-- STORES retail API v202211: every record ever read, verbatim, and where and when it was seen.
-- A record is an order, a remittance, a remittance's order ids or a sales channel (店舗).

-- What was read: an inbox file (path under ACCTSYNC_HOME) or an API endpoint ('api:<path>').
CREATE TABLE IF NOT EXISTS raw.stores_inputs (
    source_file  VARCHAR NOT NULL PRIMARY KEY,
    digest       VARCHAR NOT NULL,       -- sha256 of the file's bytes ('' for the API)
    size_bytes   BIGINT,
    mtime_ns     BIGINT,
    records      INTEGER NOT NULL,
    observed_at  TIMESTAMPTZ NOT NULL,   -- file modification time, or when the API last answered
    loaded_at    TIMESTAMPTZ NOT NULL
);

-- One row per distinct version of a record: the JSON exactly as the source gave it.
CREATE TABLE IF NOT EXISTS raw.stores_snapshots (
    kind           VARCHAR NOT NULL,     -- order | remittance | remittance_order_ids | sales_channel
    record_id      VARCHAR NOT NULL,     -- the record's id (remittance_id for remittance_order_ids)
    revision       VARCHAR NOT NULL,     -- sha256 of the record's JSON (first 16 hex digits)
    body           JSON    NOT NULL,
    event_times    TIMESTAMPTZ[],        -- orders: ordered_at, readied_at, shipped_at, canceled_at, paid_at
    first_event_at TIMESTAMPTZ,
    last_event_at  TIMESTAMPTZ,          -- orders only move forward: the latest event orders snapshots
    loaded_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, record_id, revision)
);

-- Which version of a record each input holds (the API keeps the version it answered last).
CREATE TABLE IF NOT EXISTS raw.stores_sightings (
    source_file  VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,
    record_id    VARCHAR NOT NULL,
    revision     VARCHAR NOT NULL,
    source_index INTEGER NOT NULL,       -- position in the input's list (orders[i], remittances[i])
    observed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_file, kind, record_id)
);

-- The records a business day was booked from: the newest version of every order with an event on
-- the day, and of every remittance transferred on it. Replaced whenever the day's raw stage runs.
CREATE TABLE IF NOT EXISTS raw.stores_day_records (
    business_date DATE    NOT NULL,
    kind          VARCHAR NOT NULL,
    record_id     VARCHAR NOT NULL,
    revision      VARCHAR NOT NULL,
    source_file   VARCHAR NOT NULL,
    source_index  INTEGER NOT NULL,
    PRIMARY KEY (business_date, kind, record_id)
);

-- The newest version of every record still held by an input: for orders the one with the latest
-- event, then the most recently observed; ties go to the later file name (pin_day.sql orders a window's
-- candidates the same way).
CREATE OR REPLACE VIEW raw.stores_latest AS
SELECT s.kind, s.record_id, s.revision, s.source_file, s.source_index, s.observed_at,
       r.body, r.event_times, r.first_event_at, r.last_event_at
FROM raw.stores_sightings s
JOIN raw.stores_snapshots r USING (kind, record_id, revision)
QUALIFY row_number() OVER (PARTITION BY s.kind, s.record_id
                           ORDER BY r.last_event_at DESC NULLS LAST, s.observed_at DESC, s.source_file DESC) = 1;

-- Vendor figures the journal must reproduce: output tax per order event and rate (tax_details),
-- written by the normalized stage beside staging.normalized_transactions.
CREATE TABLE IF NOT EXISTS staging.stores_output_tax (
    business_date  DATE    NOT NULL,
    doc_id         VARCHAR NOT NULL,     -- order number
    event          VARCHAR NOT NULL,     -- sale | cancel
    tax_rate       INTEGER NOT NULL,
    taxable_amount BIGINT  NOT NULL,     -- signed, tax-inclusive
    tax_amount     BIGINT  NOT NULL,     -- signed
    revision       VARCHAR,
    source_file    VARCHAR,
    PRIMARY KEY (business_date, doc_id, event, tax_rate)
);
