-- Amazon Business, verbatim: one row per transaction (a charge or refund on one payment instrument)
-- and per transaction line item, as the API, the transactions JSON or the Orders report gave them.
-- business_date is the Asia/Tokyo day of the transaction (for linked split-payment parts, of the
-- earliest part), which is the day the purchase is booked on.
CREATE TABLE IF NOT EXISTS raw.amazon_business_transactions (
    business_date           DATE    NOT NULL,
    transaction_id          VARCHAR NOT NULL,
    transaction_type        VARCHAR,            -- CHARGE | REFUND | OVERREFUND
    transaction_date        VARCHAR,
    feed_date               VARCHAR,
    amount                  VARCHAR,
    currency                VARCHAR,
    payment_instrument_type VARCHAR,
    payment_instrument_last4 VARCHAR,
    associated_ids          VARCHAR[],          -- associatedTransactionDetails: the other parts of a split payment
    invoice_number          VARCHAR,
    charge_identifier       VARCHAR,
    legal_entity_name       VARCHAR,
    input                   VARCHAR NOT NULL,   -- api | json | csv
    source_file             VARCHAR NOT NULL,   -- inbox-relative file, or the API call
    source_row              INTEGER NOT NULL,   -- 1-based position in the file's transactions / CSV line
    payload                 JSON,               -- the transaction object as received (API, JSON)
    loaded_at               TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS raw.amazon_business_line_items (
    business_date        DATE    NOT NULL,
    transaction_id       VARCHAR NOT NULL,
    line_no              INTEGER NOT NULL,      -- 1-based position in transactionLineItems
    line_key             VARCHAR NOT NULL,      -- identifies the same item across the parts of a split payment
    order_id             VARCHAR,
    order_line_item_id   VARCHAR,
    shipment_id          VARCHAR,
    shipment_date        VARCHAR,
    asin                 VARCHAR,
    product_title        VARCHAR,
    unspsc               VARCHAR,
    category             VARCHAR,
    item_quantity        VARCHAR,
    total_amount         VARCHAR,
    tax_amount           VARCHAR,
    tax_rate             VARCHAR,
    seller_name          VARCHAR,
    refund_reason        VARCHAR,
    gl_code              VARCHAR,               -- the Orders report's column (the API has businessOrderInfo)
    business_order_info  JSON,
    order_status         VARCHAR,               -- Orders report only
    source_file          VARCHAR NOT NULL,
    source_row           INTEGER NOT NULL
);
-- 適格請求書 details per order line item (getInvoiceDetailsByOrderLineItems, or a JSON file's
-- invoiceDetailsByOrderLineItems), kept for the business day whose line items they describe.
CREATE TABLE IF NOT EXISTS raw.amazon_business_invoices (
    business_date                DATE    NOT NULL,
    order_id                     VARCHAR NOT NULL,
    order_line_item_id           VARCHAR NOT NULL,
    shipment_id                  VARCHAR NOT NULL,
    invoice_number               VARCHAR NOT NULL,
    invoice_type                 VARCHAR,       -- STANDARD | CREDIT_MEMO
    invoice_date                 VARCHAR,
    issuer_name                  VARCHAR,
    issuer_registration_number   VARCHAR,
    seller_name                  VARCHAR,
    seller_registration_number   VARCHAR,
    invoice_total                VARCHAR,
    source_file                  VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS raw.amazon_business_invoice_taxes (
    business_date   DATE    NOT NULL,
    invoice_number  VARCHAR NOT NULL,
    rate            VARCHAR,
    inclusive_total VARCHAR,
    amount          VARCHAR,
    source_file     VARCHAR NOT NULL
);

-- The inbox files read, and what each holds, kept while the file is unchanged: a run reads only new or
-- changed files (size, mtime, then sha256) and forgets files that left the inbox. A day's raw rows are
-- built from these exactly as from a fresh read of every file.
CREATE TABLE IF NOT EXISTS raw.amazon_business_files (
    source_file   VARCHAR NOT NULL,         -- inbox-relative path
    size_bytes    BIGINT  NOT NULL,
    mtime_ns      BIGINT  NOT NULL,
    digest        VARCHAR NOT NULL,         -- sha256 of the file's bytes
    parse_key     VARCHAR NOT NULL,         -- the reader's version and the Orders report column mapping
    error         VARCHAR,                  -- why the file cannot be read (it then fails every day), else NULL
    transactions  INTEGER NOT NULL,
    read_at       TIMESTAMPTZ NOT NULL
);
-- Each file's transactions, line items and invoice details as read (text; no business day yet).
CREATE TABLE IF NOT EXISTS raw.amazon_business_file_transactions (
    source_file             VARCHAR NOT NULL,
    input                   VARCHAR NOT NULL,   -- json | csv
    source_row              INTEGER NOT NULL,
    transaction_id          VARCHAR,
    transaction_type        VARCHAR,
    transaction_date        VARCHAR,
    feed_date               VARCHAR,
    amount                  VARCHAR,
    currency                VARCHAR,
    payment_instrument_type VARCHAR,
    payment_instrument_last4 VARCHAR,
    associated_ids          VARCHAR[],
    invoice_number          VARCHAR,
    charge_identifier       VARCHAR,
    legal_entity_name       VARCHAR,
    payload                 JSON,
    disagreeing_amounts     VARCHAR             -- Orders report: the payment amounts its rows disagree on
);
CREATE TABLE IF NOT EXISTS raw.amazon_business_file_line_items (
    source_file          VARCHAR NOT NULL,
    source_row           INTEGER NOT NULL,
    transaction_id       VARCHAR,
    line_no              INTEGER NOT NULL,
    line_key             VARCHAR,
    order_id             VARCHAR,
    order_line_item_id   VARCHAR,
    shipment_id          VARCHAR,
    shipment_date        VARCHAR,
    asin                 VARCHAR,
    product_title        VARCHAR,
    unspsc               VARCHAR,
    category             VARCHAR,
    item_quantity        VARCHAR,
    total_amount         VARCHAR,
    tax_amount           VARCHAR,
    tax_rate             VARCHAR,
    seller_name          VARCHAR,
    refund_reason        VARCHAR,
    gl_code              VARCHAR,
    business_order_info  JSON,
    order_status         VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.amazon_business_file_invoices (
    source_file                  VARCHAR NOT NULL,
    order_id                     VARCHAR,
    order_line_item_id           VARCHAR,
    shipment_id                  VARCHAR,
    invoice_number               VARCHAR,
    invoice_type                 VARCHAR,
    invoice_date                 VARCHAR,
    issuer_name                  VARCHAR,
    issuer_registration_number   VARCHAR,
    seller_name                  VARCHAR,
    seller_registration_number   VARCHAR,
    invoice_total                VARCHAR,
    details                      JSON           -- the invoiceDetails entry (its tax list)
);

-- One row per expense line booked (split-payment parts share their items: each item once).
CREATE TABLE IF NOT EXISTS staging.amazon_business_lines (
    business_date        DATE    NOT NULL,
    entry_id             VARCHAR NOT NULL,
    item_no              INTEGER NOT NULL,
    order_id             VARCHAR NOT NULL,
    transaction_type     VARCHAR NOT NULL,
    line_key             VARCHAR NOT NULL,
    asin                 VARCHAR,
    title                VARCHAR,
    unspsc               VARCHAR,
    category             VARCHAR,
    seller_name          VARCHAR,
    registration_number  VARCHAR,               -- the seller's 適格請求書発行事業者 number, when known
    gl_code              VARCHAR,
    quantity             INTEGER,
    tax_rate             INTEGER NOT NULL,
    amount               BIGINT  NOT NULL,      -- JPY, tax-inclusive, signed (refunds negative)
    invoice_number       VARCHAR,
    invoice_rate_total   BIGINT,                -- the invoice's tax-inclusive total at this rate, if known
    invoice_rate_tax     BIGINT,                -- the invoice's tax at this rate, if known
    refund_reason        VARCHAR,
    transaction_id       VARCHAR NOT NULL,
    source_file          VARCHAR NOT NULL,
    source_row           INTEGER NOT NULL,
    PRIMARY KEY (entry_id, item_no)
);

-- Transactions not booked, with the reason (Amazon Pay, not delivered, not JPY).
CREATE TABLE IF NOT EXISTS staging.amazon_business_skipped (
    business_date           DATE    NOT NULL,
    transaction_id          VARCHAR NOT NULL,
    transaction_type        VARCHAR,
    order_ids               VARCHAR,
    amount                  VARCHAR,
    currency                VARCHAR,
    payment_instrument_type VARCHAR,
    reason                  VARCHAR NOT NULL,
    source_file             VARCHAR NOT NULL,
    source_row              INTEGER NOT NULL
);
