-- Amazon Business → staging for a window of business days ($days, $first_day, $last_day; one day is a
-- window of one).
-- A document is an order's transactions of one type on the day (entry amazon_business:<order>:<type>:<day>).
-- Parts of a split payment repeat the order's items: each item (line_key) is kept once; each part's
-- amount becomes a payment row of its instrument. Excluded instruments (Amazon Pay), other
-- currencies, undelivered charges and report rows without a payment go to
-- staging.amazon_business_skipped instead.
DELETE FROM staging.amazon_business_skipped WHERE business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, business_date);
DELETE FROM staging.amazon_business_lines WHERE business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, business_date);

CREATE OR REPLACE TEMP TABLE _ab_day_txn AS
WITH t AS (SELECT * FROM ab_txn_parsed WHERE business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, business_date)),
undelivered AS (
    SELECT business_date, transaction_id,
           string_agg(coalesce(product_title, asin, order_id, '?'), ' / ' ORDER BY line_no) AS items
    FROM ab_line_parsed WHERE business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date) AND kind = 'CHARGE' AND NOT delivered
    GROUP BY business_date, transaction_id
),
orders AS (
    SELECT business_date, transaction_id, string_agg(DISTINCT order_id, ',' ORDER BY order_id) AS order_ids
    FROM ab_line_parsed WHERE business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date) GROUP BY business_date, transaction_id
)
SELECT t.*, o.order_ids,
       CASE WHEN t.instrument_excluded
                THEN 'excluded payment instrument ''' || t.payment_instrument_type || ''' (class ' || t.instrument
                     || '): not booked'
            WHEN t.currency_code <> 'JPY'
                THEN 'currency ' || t.currency_code || ': only JPY is booked; book it by hand'
            WHEN u.transaction_id IS NOT NULL THEN 'not delivered yet: ' || u.items
            WHEN t.input = 'csv' AND trim(coalesce(t.amount, '')) = ''
                THEN 'no payment yet (the Orders report''s payment amount is empty)'
       END AS skip_reason
FROM t LEFT JOIN undelivered u USING (business_date, transaction_id)
LEFT JOIN orders o USING (business_date, transaction_id);

INSERT INTO staging.amazon_business_skipped
SELECT business_date, transaction_id, transaction_type, order_ids, amount, currency_code, payment_instrument_type,
       skip_reason, source_file, source_row
FROM _ab_day_txn WHERE skip_reason IS NOT NULL;

CREATE OR REPLACE TEMP TABLE _ab_day_lines AS
SELECT l.*,
       'amazon_business:' || trim(l.order_id) || ':' || lower(l.kind) || ':' || strftime(l.business_date, '%Y-%m-%d')
           AS entry_id,
       CAST(CASE l.kind WHEN 'CHARGE' THEN abs(l.total_value) ELSE -abs(l.total_value) END AS BIGINT) AS signed_amount
FROM ab_line_parsed l JOIN _ab_day_txn t USING (business_date, transaction_id)
WHERE t.skip_reason IS NULL;

INSERT INTO staging.amazon_business_lines
WITH items AS (
    SELECT * FROM _ab_day_lines
    QUALIFY row_number() OVER (PARTITION BY entry_id, line_key ORDER BY transaction_id, line_no) = 1
),
invoice AS (
    SELECT * FROM raw.amazon_business_invoices WHERE business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date)
    QUALIFY row_number() OVER (PARTITION BY business_date, order_id, order_line_item_id, shipment_id, invoice_type
                               ORDER BY invoice_date DESC, invoice_number DESC) = 1
),
invoice_tax AS (
    SELECT business_date, invoice_number, ab_rate(rate) AS rate,
           CAST(round(abs(ab_money(inclusive_total))) AS BIGINT) AS rate_total,
           CAST(round(abs(ab_money(amount))) AS BIGINT) AS rate_tax
    FROM raw.amazon_business_invoice_taxes WHERE business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date)
)
SELECT i.business_date, i.entry_id,
       row_number() OVER (PARTITION BY i.entry_id ORDER BY i.line_key)::INTEGER AS item_no,
       trim(i.order_id), i.kind, i.line_key, nullif(trim(i.asin), ''), i.product_title, i.unspsc, i.category,
       i.seller_name,
       coalesce(CASE WHEN regexp_full_match(trim(v.issuer_registration_number), 'T[0-9]{13}')
                     THEN trim(v.issuer_registration_number) END,
                CASE WHEN regexp_full_match(trim(v.seller_registration_number), 'T[0-9]{13}')
                     THEN trim(v.seller_registration_number) END,
                s.registration_number) AS registration_number,
       nullif(trim(i.gl_value), ''), i.quantity, i.rate, i.signed_amount,
       v.invoice_number, x.rate_total, x.rate_tax, nullif(trim(i.refund_reason), ''),
       i.transaction_id, i.source_file, i.source_row
FROM items i
LEFT JOIN invoice v
       ON v.business_date = i.business_date AND v.order_id = i.order_id AND v.order_line_item_id = i.order_line_item_id AND v.shipment_id = i.shipment_id
      AND v.invoice_type = CASE i.kind WHEN 'CHARGE' THEN 'STANDARD' ELSE 'CREDIT_MEMO' END
LEFT JOIN invoice_tax x
       ON x.business_date = i.business_date AND x.invoice_number = v.invoice_number AND x.rate = i.rate
LEFT JOIN cfg_ab_sellers s ON lower(trim(s.seller)) = lower(trim(coalesce(v.seller_name, i.seller_name)));

INSERT INTO staging.normalized_transactions
SELECT 'amazon_business', business_date, NULL, NULL, order_id,
       CASE transaction_type WHEN 'CHARGE' THEN 'purchase' ELSE lower(transaction_type) END,
       NULL, NULL, NULL, tax_rate, amount, refund_reason, title, transaction_id, source_file, source_row::VARCHAR
FROM staging.amazon_business_lines WHERE business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, business_date);

-- Payments: each booked transaction's amount on its instrument. A transaction whose items belong to
-- several orders is shared out by the orders' item totals (the remainder to the largest).
INSERT INTO staging.normalized_transactions
WITH txn AS (SELECT * FROM _ab_day_txn WHERE skip_reason IS NULL),
weights AS (
    SELECT business_date, transaction_id, trim(order_id) AS order_id, sum(abs(signed_amount)) AS weight
    FROM _ab_day_lines GROUP BY ALL
),
shares AS (
    SELECT t.business_date, t.transaction_id, coalesce(w.order_id, t.transaction_id) AS doc_id,
           CAST(round(abs(t.amount_value)) AS BIGINT) AS paid, coalesce(w.weight, 0) AS weight,
           sum(coalesce(w.weight, 0)) OVER (PARTITION BY t.business_date, t.transaction_id) AS total_weight,
           row_number() OVER (PARTITION BY t.business_date, t.transaction_id ORDER BY w.weight DESC NULLS LAST, w.order_id) AS share_rank
    FROM txn t LEFT JOIN weights w USING (business_date, transaction_id)
),
floored AS (
    SELECT *, CASE WHEN total_weight = 0 THEN CASE WHEN share_rank = 1 THEN paid ELSE 0 END
                   ELSE (paid * weight) // total_weight END AS base
    FROM shares
),
allocated AS (
    SELECT *, base + CASE WHEN share_rank = 1 THEN paid - sum(base) OVER (PARTITION BY business_date, transaction_id) ELSE 0 END
               AS share
    FROM floored
)
SELECT 'amazon_business', t.business_date, NULL, NULL, a.doc_id,
       CASE t.kind WHEN 'CHARGE' THEN 'purchase' ELSE lower(t.kind) END,
       NULL, coalesce(t.instrument, 'unknown'), t.payment_instrument_type, NULL,
       CASE t.kind WHEN 'CHARGE' THEN a.share ELSE -a.share END,
       NULL, 'payment ' || coalesce(t.payment_instrument_type, '') || coalesce(' ' || t.payment_instrument_last4, ''),
       t.transaction_id, t.source_file, t.source_row::VARCHAR
FROM allocated a JOIN txn t USING (business_date, transaction_id)
WHERE a.share <> 0;
