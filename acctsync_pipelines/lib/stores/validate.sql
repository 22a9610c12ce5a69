-- Problems that stop a day's STORES records from being booked (the day fails, nothing of it posts),
-- for a window of days.
-- One row per problem: where (input, position, record), the JSON path, the value, and what is wrong.
-- Parameters: $days, $first_day, $last_day (one day is a window of one).
-- The record lists every check reads are MATERIALIZED: each pinned body is parsed once per list, not once per check.
-- A record pinned on several days of the window is checked once (the same version is pinned on each).
WITH pinned AS (
    SELECT d.kind, d.record_id, d.source_file, d.source_index, s.body
    FROM (SELECT DISTINCT kind, record_id, revision, source_file, source_index
          FROM raw.stores_day_records
          WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)) d
    JOIN raw.stores_snapshots s USING (kind, record_id, revision)
),
orders AS MATERIALIZED (
    SELECT source_file, 'orders[' || source_index || ']' AS position,
           'order ' || coalesce(body ->> 'number', record_id) AS record, body
    FROM pinned WHERE kind = 'order'
),
remittances AS MATERIALIZED (
    SELECT source_file, 'remittances[' || source_index || ']' AS position, 'remittance ' || record_id AS record, body,
           coalesce(json_type(body, '$.fee_detail') = 'OBJECT', false) AS has_fee_detail
    FROM pinned WHERE kind = 'remittance'
),
tax_details AS MATERIALIZED (
    SELECT source_file, position, record, body, unnest(json_extract(body, '$.tax_details[*]')) AS td,
           generate_subscripts(json_extract(body, '$.tax_details[*]'), 1) - 1 AS i
    FROM orders
),
transactions AS MATERIALIZED (
    SELECT source_file, position, record, unnest(json_extract(body, '$.transactions[*]')) AS tx,
           generate_subscripts(json_extract(body, '$.transactions[*]'), 1) - 1 AS i
    FROM orders
),
deliveries AS MATERIALIZED (
    SELECT source_file, position, record, unnest(json_extract(body, '$.deliveries[*]')) AS dl,
           generate_subscripts(json_extract(body, '$.deliveries[*]'), 1) - 1 AS i
    FROM orders
),
order_sums AS (
    SELECT source_file, position, record, any_value(body) AS body,
           sum(TRY_CAST(td ->> 'sales_amount' AS BIGINT)) AS rate_sales,
           sum(TRY_CAST(td ->> 'cancel_amount' AS BIGINT)) AS rate_cancel
    FROM tax_details GROUP BY ALL
),
cancel_times AS (
    SELECT o.source_file, o.position, o.record, TRY_CAST(o.body ->> 'cancel_amount' AS BIGINT) AS cancel_amount,
           coalesce(d.stamps, 0) + coalesce(t.stamps, 0) AS stamps
    FROM orders o
    LEFT JOIN (SELECT source_file, position, count(*) FILTER (WHERE dl ->> 'canceled_at' IS NOT NULL) AS stamps
               FROM deliveries GROUP BY ALL) d USING (source_file, position)
    LEFT JOIN (SELECT source_file, position,
                      count(*) FILTER (WHERE TRY_CAST(tx ->> 'amount' AS BIGINT) < 0 AND tx ->> 'paid_at' IS NOT NULL)
                          AS stamps
               FROM transactions GROUP BY ALL) t USING (source_file, position)
),
-- Whole-yen fields, checked with constant JSON paths (one list per record kind).
order_numbers AS (
    SELECT source_file, position, record,
           unnest(['sales_amount', 'cancel_amount', 'sales_tax', 'cancel_tax']) AS field,
           unnest(json_type(body, ['$.sales_amount', '$.cancel_amount', '$.sales_tax', '$.cancel_tax'])) AS type,
           unnest(json_extract(body, ['$.sales_amount', '$.cancel_amount', '$.sales_tax', '$.cancel_tax'])) AS value
    FROM orders
),
detail_numbers AS (
    SELECT source_file, position, record, i,
           unnest(['sales_amount', 'cancel_amount', 'sales_tax', 'cancel_tax']) AS field,
           unnest(json_type(td, ['$.sales_amount', '$.cancel_amount', '$.sales_tax', '$.cancel_tax'])) AS type,
           unnest(json_extract(td, ['$.sales_amount', '$.cancel_amount', '$.sales_tax', '$.cancel_tax'])) AS value
    FROM tax_details
),
transaction_numbers AS (
    SELECT source_file, position, record, i,
           unnest(['amount', 'payment_fee']) AS field,
           unnest(json_type(tx, ['$.amount', '$.payment_fee'])) AS type,
           unnest(json_extract(tx, ['$.amount', '$.payment_fee'])) AS value
    FROM transactions
),
remittance_numbers AS (
    SELECT source_file, position, record,
           unnest(['transfer_amount', 'transfer_fee', 'sales_amount', 'payment_fee', 'speedcash_payment_fee',
                   'chargeback_amount', 'deduction_amount', 'campaign_coupon_fee']) AS field,
           unnest(json_type(body, ['$.transfer_amount', '$.transfer_fee', '$.sales_amount', '$.payment_fee',
                                   '$.speedcash_payment_fee', '$.chargeback_amount', '$.deduction_amount',
                                   '$.campaign_coupon_fee'])) AS type,
           unnest(json_extract(body, ['$.transfer_amount', '$.transfer_fee', '$.sales_amount', '$.payment_fee',
                                      '$.speedcash_payment_fee', '$.chargeback_amount', '$.deduction_amount',
                                      '$.campaign_coupon_fee'])) AS value
    FROM remittances
),
problems AS (
    SELECT source_file, position, record, '$.number' AS path, body ->> 'number' AS value,
           'the order has no number' AS problem
    FROM orders WHERE coalesce(body ->> 'number', '') = ''
    UNION ALL
    SELECT source_file, position, record, '$.ordered_at', body ->> 'ordered_at',
           'ordered_at is not a date-time (YYYY-MM-DDThh:mm:ss+09:00)'
    FROM orders WHERE TRY_CAST(body ->> 'ordered_at' AS TIMESTAMPTZ) IS NULL
    UNION ALL
    SELECT source_file, position, record, '$.' || field, value::VARCHAR, field || ' is not a list'
    FROM (SELECT source_file, position, record,
                 unnest(['tax_details', 'transactions', 'deliveries']) AS field,
                 unnest(json_type(body, ['$.tax_details', '$.transactions', '$.deliveries'])) AS type,
                 unnest(json_extract(body, ['$.tax_details', '$.transactions', '$.deliveries'])) AS value
          FROM orders)
    WHERE type NOT IN ('ARRAY', 'NULL')
    UNION ALL
    SELECT source_file, position, record, '$.' || field, value::VARCHAR, field || ' is not a whole number of yen'
    FROM order_numbers WHERE coalesce(type, 'NULL') NOT IN ('UBIGINT', 'BIGINT')
    UNION ALL
    SELECT source_file, position, record, '$.tax_details', (body -> 'tax_details')::VARCHAR,
           'the order has sales but no tax_details'
    FROM orders
    WHERE TRY_CAST(body ->> 'sales_amount' AS BIGINT) <> 0
      AND coalesce(json_array_length(body, '$.tax_details'), 0) = 0
    UNION ALL
    SELECT source_file, position, record, '$.tax_details[' || i || '].tax_rate', (td -> 'tax_rate')::VARCHAR,
           'tax rate ' || coalesce((td ->> 'tax_rate'), 'null') || ' is not one of the configured rates (tax.rates: '
               || (SELECT string_agg(rate::VARCHAR || '%', ', ' ORDER BY rate) FROM cfg_tax_rates) || ')'
    FROM tax_details
    WHERE round(TRY_CAST(td ->> 'tax_rate' AS DOUBLE) * 100) IS NULL
       OR round(TRY_CAST(td ->> 'tax_rate' AS DOUBLE) * 100)::INTEGER NOT IN (SELECT rate FROM cfg_tax_rates)
    UNION ALL
    SELECT source_file, position, record, '$.tax_details[' || i || '].' || field, value::VARCHAR,
           field || ' is not a whole number of yen'
    FROM detail_numbers WHERE coalesce(type, 'NULL') NOT IN ('UBIGINT', 'BIGINT')
    UNION ALL
    SELECT source_file, position, record, '$.tax_details[*].sales_amount', rate_sales::VARCHAR,
           'the rates'' sales_amount add up to ' || rate_sales || ', the order''s sales_amount is '
               || coalesce(body ->> 'sales_amount', 'missing')
    FROM order_sums WHERE rate_sales IS DISTINCT FROM TRY_CAST(body ->> 'sales_amount' AS BIGINT)
    UNION ALL
    SELECT source_file, position, record, '$.tax_details[*].cancel_amount', rate_cancel::VARCHAR,
           'the rates'' cancel_amount add up to ' || rate_cancel || ', the order''s cancel_amount is '
               || coalesce(body ->> 'cancel_amount', 'missing')
    FROM order_sums WHERE rate_cancel IS DISTINCT FROM TRY_CAST(body ->> 'cancel_amount' AS BIGINT)
    UNION ALL
    SELECT source_file, position, record, '$.transactions[' || i || '].' || field, value::VARCHAR,
           field || ' is not a whole number of yen'
    FROM transaction_numbers
    WHERE coalesce(type, 'NULL') NOT IN ('UBIGINT', 'BIGINT') AND NOT (field = 'payment_fee' AND type IS NULL)
    UNION ALL
    SELECT source_file, position, record, '$.transactions[' || i || '].paid_at', tx ->> 'paid_at',
           'paid_at is not a date-time'
    FROM transactions
    WHERE tx ->> 'paid_at' IS NOT NULL AND TRY_CAST(tx ->> 'paid_at' AS TIMESTAMPTZ) IS NULL
    UNION ALL
    SELECT source_file, position, record, '$.deliveries[' || i || '].shipped_at', dl ->> 'shipped_at',
           'shipped_at is not a date-time'
    FROM deliveries WHERE dl ->> 'shipped_at' IS NOT NULL AND TRY_CAST(dl ->> 'shipped_at' AS TIMESTAMPTZ) IS NULL
    UNION ALL
    SELECT source_file, position, record, '$.deliveries[' || i || '].canceled_at', dl ->> 'canceled_at',
           'canceled_at is not a date-time'
    FROM deliveries WHERE dl ->> 'canceled_at' IS NOT NULL AND TRY_CAST(dl ->> 'canceled_at' AS TIMESTAMPTZ) IS NULL
    UNION ALL
    SELECT source_file, position, record, '$.cancel_amount', cancel_amount::VARCHAR,
           'the order is cancelled but no delivery has canceled_at and no refund has paid_at: its day is unknown'
    FROM cancel_times WHERE cancel_amount <> 0 AND stamps = 0
    UNION ALL
    SELECT source_file, position, record, '$.' || field, value::VARCHAR, field || ' is not a whole number of yen'
    FROM remittance_numbers WHERE coalesce(type, 'NULL') NOT IN ('UBIGINT', 'BIGINT')
    UNION ALL
    SELECT source_file, position, record, '$.transfer_amount', body ->> 'transfer_amount',
           'transfer_amount is not sales_amount − payment_fee − transfer_fee − speedcash_payment_fee − '
               || 'chargeback_amount − deduction_amount ('
               || (TRY_CAST(body ->> 'sales_amount' AS BIGINT) - TRY_CAST(body ->> 'payment_fee' AS BIGINT)
                   - TRY_CAST(body ->> 'transfer_fee' AS BIGINT) - TRY_CAST(body ->> 'speedcash_payment_fee' AS BIGINT)
                   - TRY_CAST(body ->> 'chargeback_amount' AS BIGINT) - TRY_CAST(body ->> 'deduction_amount' AS BIGINT))
               || ')'
    FROM remittances
    WHERE TRY_CAST(body ->> 'transfer_amount' AS BIGINT)
          <> TRY_CAST(body ->> 'sales_amount' AS BIGINT) - TRY_CAST(body ->> 'payment_fee' AS BIGINT)
             - TRY_CAST(body ->> 'transfer_fee' AS BIGINT) - TRY_CAST(body ->> 'speedcash_payment_fee' AS BIGINT)
             - TRY_CAST(body ->> 'chargeback_amount' AS BIGINT) - TRY_CAST(body ->> 'deduction_amount' AS BIGINT)
    UNION ALL
    SELECT source_file, position, record, '$.fee_detail', (body -> 'fee_detail')::VARCHAR,
           'fee_detail''s taxable_deduction_amount + non_taxable_deduction_amount is not deduction_amount ('
               || (body ->> 'deduction_amount') || ')'
    FROM remittances
    WHERE has_fee_detail
      AND coalesce(TRY_CAST(body -> 'fee_detail' ->> 'taxable_deduction_amount' AS BIGINT), 0)
          + coalesce(TRY_CAST(body -> 'fee_detail' ->> 'non_taxable_deduction_amount' AS BIGINT), 0)
          IS DISTINCT FROM TRY_CAST(body ->> 'deduction_amount' AS BIGINT)
)
SELECT source_file, position, record, path, value, problem
FROM problems
ORDER BY source_file, position, path
LIMIT 50
