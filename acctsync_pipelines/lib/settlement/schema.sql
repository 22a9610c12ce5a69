-- Settlement of receivables: bank statement lines, what each deposit matched, which receivables each
-- settlement entry cleared, and the reports built on them. Applied (idempotently) on every connect.

-- The bank exports read by the last settlement/matches run.
CREATE TABLE IF NOT EXISTS raw.bank_statement_files (
    source_file VARCHAR NOT NULL PRIMARY KEY,   -- relative to ACCTSYNC_HOME
    digest      VARCHAR NOT NULL,               -- sha256 of the file's bytes
    line_count  INTEGER NOT NULL,
    first_date  DATE,
    last_date   DATE,
    read_at     TIMESTAMPTZ NOT NULL
);

-- One row per bank statement line, per value date; a line in two overlapping exports is kept once.
CREATE TABLE IF NOT EXISTS raw.bank_statement_lines (
    line_id      VARCHAR NOT NULL PRIMARY KEY,  -- md5(date, description, amounts, balance, occurrence): stable
    value_date   DATE    NOT NULL,
    description  VARCHAR NOT NULL,              -- verbatim
    payer_key    VARCHAR NOT NULL,              -- NFKC, upper case, no spaces: what payer texts are found in
    deposit      BIGINT  NOT NULL,
    withdrawal   BIGINT  NOT NULL,
    balance      BIGINT,
    occurrence   INTEGER NOT NULL,              -- nth identical line in its export (same day, text, amounts)
    source_file  VARCHAR NOT NULL,
    source_row   INTEGER NOT NULL,
    loaded_at    TIMESTAMPTZ NOT NULL
);

-- The configuration the last settlement/matches run used (the report views read it).
CREATE TABLE IF NOT EXISTS ops.settlement_config (
    receivable_account VARCHAR NOT NULL,
    bank_account       VARCHAR NOT NULL,
    bank_sub_account   VARCHAR NOT NULL,
    fee_account        VARCHAR NOT NULL,
    lookback_days      INTEGER NOT NULL,
    booked_window_days INTEGER NOT NULL,
    start_date         DATE    NOT NULL         -- settlement.start_date: receivables paid before it are not tracked
);

CREATE TABLE IF NOT EXISTS ops.settlement_rules (
    rule             VARCHAR NOT NULL PRIMARY KEY,
    priority         INTEGER NOT NULL,          -- order in the configuration
    stores           VARCHAR[] NOT NULL,        -- empty: every store
    per_store        BOOLEAN NOT NULL,
    cycle_kind       VARCHAR NOT NULL CHECK (cycle_kind IN ('monthly', 'days_after')),
    days_after       INTEGER,
    close_day        INTEGER,                   -- 31 = end of month
    pay_day          INTEGER,                   -- 31 = end of month
    months_after     INTEGER,
    fee_rate         DOUBLE  NOT NULL,
    tolerance_yen    BIGINT  NOT NULL,
    tolerance_rate   DOUBLE  NOT NULL,
    fee_tax_category VARCHAR NOT NULL,
    window_days      INTEGER NOT NULL,
    grace_days       INTEGER NOT NULL,
    partial_payments BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS ops.settlement_rule_accounts (
    rule        VARCHAR NOT NULL,
    sub_account VARCHAR NOT NULL,
    PRIMARY KEY (rule, sub_account)
);

CREATE TABLE IF NOT EXISTS ops.settlement_payers (
    rule      VARCHAR NOT NULL,
    payer     VARCHAR NOT NULL,                 -- as configured
    payer_key VARCHAR NOT NULL                  -- normalised like raw.bank_statement_lines.payer_key
);

-- What each deposit is: booked by a source already, matched to receivables, waiting for review, or unmatched.
CREATE TABLE IF NOT EXISTS ledger.deposit_matches (
    line_id          VARCHAR NOT NULL PRIMARY KEY,
    value_date       DATE    NOT NULL,
    amount           BIGINT  NOT NULL,
    description      VARCHAR NOT NULL,
    status           VARCHAR NOT NULL CHECK (status IN ('booked', 'matched', 'partial', 'review', 'unmatched')),
    match_kind       VARCHAR,                   -- exact | fee | partial | booked
    rule             VARCHAR,
    entry_id         VARCHAR,                   -- the settlement entry (matched, partial, review)
    booked_entry_id  VARCHAR,                   -- the source's entry that already booked this deposit
    booked_ref       VARCHAR,                   -- that entry's bank line (entry_id#line_no)
    gross            BIGINT,                    -- receivables cleared
    fee              BIGINT,                    -- gross − deposit, booked to the fee account
    first_cycle_date DATE,                      -- payment dates of the cycles it pays
    last_cycle_date  DATE,
    candidates       INTEGER NOT NULL DEFAULT 0,
    reason           VARCHAR,                   -- why review or unmatched
    source_file      VARCHAR NOT NULL,
    source_row       INTEGER NOT NULL,
    matched_at       TIMESTAMPTZ NOT NULL
);

-- Which receivables (source, sub-account, store, sale day) each settlement entry clears, and how much.
CREATE TABLE IF NOT EXISTS ledger.settlement_allocations (
    line_id       VARCHAR NOT NULL,
    entry_id      VARCHAR NOT NULL,
    value_date    DATE    NOT NULL,
    source        VARCHAR NOT NULL,
    sub_account   VARCHAR NOT NULL,
    store_code    VARCHAR NOT NULL,             -- '' when the source has none
    department    VARCHAR NOT NULL,
    sale_date     DATE    NOT NULL,
    rule          VARCHAR NOT NULL,
    expected_date DATE    NOT NULL,
    amount        BIGINT  NOT NULL,             -- signed: a refund day is a negative receivable
    PRIMARY KEY (line_id, source, sub_account, store_code, department, sale_date)
);

-- Bank statement text → yen: full-width digits, thousands separators, ¥ / 円 and ▲ (minus) allowed;
-- '' → 0; NULL when it is not a whole number of yen.
CREATE OR REPLACE MACRO ops.settlement_yen_text(x) AS
    regexp_replace(translate(trim(coalesce(x, '')), '０１２３４５６７８９－▲△，．＋', '0123456789---,.+'),
                   '[,¥￥円\s+]', '', 'g');
CREATE OR REPLACE MACRO ops.settlement_yen(x) AS
    CASE WHEN ops.settlement_yen_text(x) = '' THEN 0
         WHEN TRY_CAST(ops.settlement_yen_text(x) AS DECIMAL(18, 2))
              = floor(TRY_CAST(ops.settlement_yen_text(x) AS DECIMAL(18, 2)))
         THEN CAST(TRY_CAST(ops.settlement_yen_text(x) AS DECIMAL(18, 2)) AS BIGINT)
    END;

-- 和暦 dates as banks print them: R7.6.15, R07/06/15, 令和7年6月15日, H31.4.30; NULL otherwise.
CREATE OR REPLACE MACRO ops.settlement_wareki(x) AS
    try(make_date(
        CASE regexp_extract(trim(x), '^(R|令和|H|平成)', 1) WHEN 'R' THEN 2018 WHEN '令和' THEN 2018
                                                            WHEN 'H' THEN 1988 WHEN '平成' THEN 1988 END
        + TRY_CAST(regexp_extract(trim(x), '^(R|令和|H|平成)\s*(\d{1,2})[./年-](\d{1,2})[./月-](\d{1,2})日?$', 2) AS INTEGER),
        TRY_CAST(regexp_extract(trim(x), '^(R|令和|H|平成)\s*(\d{1,2})[./年-](\d{1,2})[./月-](\d{1,2})日?$', 3) AS INTEGER),
        TRY_CAST(regexp_extract(trim(x), '^(R|令和|H|平成)\s*(\d{1,2})[./年-](\d{1,2})[./月-](\d{1,2})日?$', 4) AS INTEGER)));

-- The first day of the month a monthly cycle pays a sale day in.
CREATE OR REPLACE MACRO ops.settlement_pay_month(sale_date, close_day, months_after) AS
    CAST(date_trunc('month', sale_date)
         + to_months(CASE WHEN close_day >= 31 OR day(sale_date) <= close_day THEN 0 ELSE 1 END + months_after)
         AS DATE);

-- The day a sale day's receivable is expected in the bank under a rule's cycle.
CREATE OR REPLACE MACRO ops.settlement_due_date(sale_date, cycle_kind, days_after, close_day, pay_day, months_after) AS
    CASE cycle_kind
        WHEN 'days_after' THEN sale_date + CAST(days_after AS INTEGER)
        ELSE ops.settlement_pay_month(sale_date, close_day, months_after)
             + CAST(least(pay_day, day(last_day(ops.settlement_pay_month(sale_date, close_day, months_after)))) - 1
                    AS INTEGER)
    END;

-- Every open receivable item: per source, sub-account, store and sale day, what was charged to
-- accounts.receivable, what settlement entries cleared, and what remains. Sub-accounts a source
-- clears itself (a payout entry that debits the bank, e.g. STORES remittances) are never matched
-- here. A STORES remittance whose order ids were read (/remittances/{id}/order_ids) clears exactly
-- its orders' receivables (an order booked later, e.g. shipped after the transfer, is cleared once
-- booked); other payouts are applied oldest first, for ageing only, to what the listed ones leave;
-- so are sub-accounts no rule settles.
CREATE OR REPLACE VIEW reports.open_receivables AS
WITH cfg AS (SELECT * FROM ops.settlement_config LIMIT 1),
bank_entries AS (
    SELECT DISTINCT l.entry_id
    FROM ledger.journal_entry_lines l JOIN cfg ON l.account = cfg.bank_account
    WHERE l.side = 'debit' AND l.source <> 'settlement'
),
ar AS (
    SELECT l.entry_id, l.source, l.sub_account, coalesce(l.store_code, '') AS store_code, l.department,
           l.business_date, l.source_ref,
           CASE l.side WHEN 'debit' THEN l.amount ELSE -l.amount END AS signed_amount,
           b.entry_id IS NOT NULL AS paid_by_source
    FROM ledger.journal_entry_lines l
    JOIN cfg ON l.account = cfg.receivable_account
    LEFT JOIN bank_entries b ON b.entry_id = l.entry_id
    WHERE l.source <> 'settlement'
),
charges AS (
    SELECT source, sub_account, store_code, department, business_date AS sale_date, sum(signed_amount) AS charged
    FROM ar WHERE NOT paid_by_source GROUP BY ALL
),
payouts AS (
    SELECT entry_id, source, sub_account, -sum(signed_amount) AS paid FROM ar WHERE paid_by_source GROUP BY ALL
),
-- STORES order number → the booked remittance that lists the order (one, should two list it), from
-- the newest order id list read for each remittance.
newest_lists AS (
    SELECT record_id AS remittance_id, body
    FROM raw.stores_snapshots
    WHERE kind = 'remittance_order_ids'
    QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY loaded_at DESC, revision) = 1
),
listed_ids AS (
    SELECT remittance_id, unnest(json_extract_string(body, '$.order_ids[*]')) AS order_id FROM newest_lists
),
listed_orders AS (
    SELECT o.body ->> 'number' AS source_ref, min(p.entry_id) AS payout_entry
    FROM listed_ids x
    JOIN payouts p ON p.source = 'stores' AND p.entry_id = 'stores:remittance:' || x.remittance_id
    JOIN raw.stores_snapshots o ON o.kind = 'order' AND o.record_id = x.order_id
    GROUP BY 1
),
by_order AS (
    SELECT a.source, a.sub_account, a.store_code, a.department, a.business_date AS sale_date,
           sum(a.signed_amount) AS cleared_by_order
    FROM ar a
    JOIN listed_orders x ON a.source = 'stores' AND a.source_ref = x.source_ref
    JOIN payouts p ON p.entry_id = x.payout_entry AND p.sub_account = a.sub_account
    WHERE NOT a.paid_by_source
    GROUP BY ALL
),
source_payouts AS (
    SELECT source, sub_account,
           coalesce(sum(paid) FILTER (WHERE entry_id NOT IN (SELECT payout_entry FROM listed_orders)), 0) AS paid
    FROM payouts GROUP BY ALL
),
settled AS (
    SELECT source, sub_account, store_code, department, sale_date, sum(amount) AS settled
    FROM ledger.settlement_allocations GROUP BY ALL
),
items AS (
    SELECT c.source, c.sub_account, c.store_code, c.department, c.sale_date, c.charged,
           coalesce(s.settled, 0) AS settled, coalesce(b.cleared_by_order, 0) AS by_order,
           coalesce(p.paid, 0) AS source_paid,
           p.source IS NOT NULL AS cleared_by_source, r.rule AS configured_rule,
           CASE WHEN p.source IS NULL THEN r.rule END AS rule,
           CASE WHEN p.source IS NULL AND r.rule IS NOT NULL THEN
                   ops.settlement_due_date(c.sale_date, r.cycle_kind, r.days_after, r.close_day, r.pay_day, r.months_after)
           END AS expected_date,
           r.grace_days, r.window_days
    FROM charges c
    LEFT JOIN settled s USING (source, sub_account, store_code, department, sale_date)
    LEFT JOIN by_order b USING (source, sub_account, store_code, department, sale_date)
    LEFT JOIN source_payouts p USING (source, sub_account)
    LEFT JOIN (ops.settlement_rule_accounts ra JOIN ops.settlement_rules r USING (rule))
           ON ra.sub_account = c.sub_account AND (len(r.stores) = 0 OR list_contains(r.stores, c.store_code))
),
oldest_first AS (
    SELECT *,
           sum(greatest(charged - settled - by_order, 0)) OVER (
               PARTITION BY source, sub_account, rule IS NULL ORDER BY sale_date, store_code, department
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_open,
           source_paid + sum(greatest(settled + by_order - charged, 0)) OVER (
               PARTITION BY source, sub_account, rule IS NULL) AS credits
    FROM items
)
SELECT source, sub_account, store_code, department, sale_date, rule, configured_rule, expected_date, grace_days,
       charged, settled,
       CASE WHEN rule IS NULL THEN charged - settled
                 - least(greatest(charged - settled - by_order, 0), greatest(cumulative_open - credits, 0)) ELSE 0 END
           AS cleared_by_source,
       CASE WHEN rule IS NULL THEN least(greatest(charged - settled - by_order, 0), greatest(cumulative_open - credits, 0))
            ELSE charged - settled END AS remaining,
       by_order AS cleared_by_orders
FROM oldest_first
-- a receivable a rule expected paid before settlement began was paid outside acctsync's view
WHERE rule IS NULL OR expected_date + window_days >= (SELECT start_date FROM ops.settlement_config LIMIT 1);

-- Open receivables by tender (sub-account) and store, aged as of the last bank statement date:
-- by days since the sale, and past their payment date plus the rule's grace days.
CREATE OR REPLACE VIEW reports.unsettled_receivables AS
WITH as_of AS (SELECT coalesce((SELECT max(last_date) FROM raw.bank_statement_files), current_date) AS as_of_date),
open AS (
    SELECT o.*, a.as_of_date, greatest(a.as_of_date - o.sale_date, 0) AS age_days
    FROM reports.open_receivables o CROSS JOIN as_of a
    WHERE o.remaining <> 0
)
SELECT source, sub_account AS tender, store_code, department, rule, as_of_date,
       sum(remaining) AS open_amount,
       coalesce(sum(remaining) FILTER (WHERE expected_date >= as_of_date), 0) AS not_yet_due,
       coalesce(sum(remaining) FILTER (WHERE age_days <= 30), 0) AS age_0_30,
       coalesce(sum(remaining) FILTER (WHERE age_days BETWEEN 31 AND 60), 0) AS age_31_60,
       coalesce(sum(remaining) FILTER (WHERE age_days BETWEEN 61 AND 90), 0) AS age_61_90,
       coalesce(sum(remaining) FILTER (WHERE age_days > 90), 0) AS age_over_90,
       coalesce(sum(remaining) FILTER (WHERE expected_date + grace_days < as_of_date), 0) AS overdue,
       count(*) AS open_days,
       min(sale_date) AS oldest_sale_date,
       min(expected_date) FILTER (WHERE expected_date >= as_of_date) AS next_payment_date
FROM open
GROUP BY source, sub_account, store_code, department, rule, as_of_date
ORDER BY source, tender, store_code, department;

-- Deposits that match nothing: no rule's payer, nothing due, or more than everything due.
CREATE OR REPLACE VIEW reports.unmatched_deposits AS
SELECT b.value_date, b.deposit AS amount, b.description, m.reason, b.source_file, b.source_row, b.line_id
FROM raw.bank_statement_lines b
JOIN ledger.deposit_matches m USING (line_id)
WHERE m.status = 'unmatched'
ORDER BY b.value_date, b.source_file, b.source_row;
