-- USEN Reji close bundles, verbatim (text as in the file, headers renamed to acctsync's names).
-- Every bundle ever read is kept: earlier 締め回数 stay as history, is_truth marks the latest.
CREATE TABLE IF NOT EXISTS raw.usen_reji_bundles (
    bundle_id     VARCHAR NOT NULL PRIMARY KEY,   -- folder name <store>_<YYYYMMDD>_<close_seq>
    store_code    VARCHAR NOT NULL,
    business_date DATE    NOT NULL,
    close_seq     INTEGER NOT NULL,
    folder        VARCHAR NOT NULL,
    digest        VARCHAR NOT NULL,               -- sha256 over the bundle's files
    is_truth      BOOLEAN NOT NULL,
    loaded_at     TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS raw.usen_reji_close (
    bundle_id VARCHAR NOT NULL, business_date DATE NOT NULL, source_file VARCHAR NOT NULL, source_row INTEGER NOT NULL,
    store_code VARCHAR, store_name VARCHAR, business_date_text VARCHAR, close_seq VARCHAR, closed_at VARCHAR,
    float_amount VARCHAR, expected_cash VARCHAR, counted_cash VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.usen_reji_slips (
    bundle_id VARCHAR NOT NULL, business_date DATE NOT NULL, source_file VARCHAR NOT NULL, source_row INTEGER NOT NULL,
    slip_no VARCHAR, slip_kind VARCHAR, original_slip_no VARCHAR, issued_at VARCHAR, line_no VARCHAR,
    product_code VARCHAR, product_name VARCHAR, category VARCHAR, tax_rate VARCHAR, unit_price VARCHAR,
    quantity VARCHAR, discount VARCHAR, amount VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.usen_reji_payments (
    bundle_id VARCHAR NOT NULL, business_date DATE NOT NULL, source_file VARCHAR NOT NULL, source_row INTEGER NOT NULL,
    slip_no VARCHAR, tender VARCHAR, tender_name VARCHAR, amount VARCHAR, tendered VARCHAR, change VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.usen_reji_cash_movements (
    bundle_id VARCHAR NOT NULL, business_date DATE NOT NULL, source_file VARCHAR NOT NULL, source_row INTEGER NOT NULL,
    movement_no VARCHAR, moved_at VARCHAR, direction VARCHAR, reason VARCHAR, amount VARCHAR, memo VARCHAR
);
