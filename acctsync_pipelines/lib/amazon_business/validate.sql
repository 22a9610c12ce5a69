-- Problems in the transactions of a window of days ($days, $first_day, $last_day) that are to be booked
-- (excluded instruments, other currencies, undelivered charges and report rows without a payment are
-- skipped, not validated). Columns: business_date, then those of candidate_problems.sql.
WITH t AS (
    SELECT * FROM ab_txn_parsed t
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
      AND NOT instrument_excluded AND currency_code = 'JPY'
      AND NOT (input = 'csv' AND trim(coalesce(amount, '')) = '')
      AND NOT (kind = 'CHARGE' AND EXISTS (SELECT 1 FROM ab_line_parsed l
                                           WHERE l.business_date = t.business_date
                                             AND l.transaction_id = t.transaction_id
                                             AND NOT l.delivered))
),
l AS (
    SELECT l.* FROM ab_line_parsed l JOIN t USING (business_date, transaction_id)
)
SELECT business_date, input, source_file, source_row, NULL::INTEGER AS line_no, 'transaction_type' AS field,
       transaction_type AS value, transaction_id, 'unknown transaction type; allowed: CHARGE, REFUND, OVERREFUND' AS problem
FROM t WHERE kind NOT IN ('CHARGE', 'REFUND', 'OVERREFUND')
UNION ALL
SELECT business_date, input, source_file, source_row, NULL, 'amount', amount, transaction_id, 'not an amount'
FROM t WHERE amount_value IS NULL
UNION ALL
SELECT business_date, input, source_file, source_row, NULL, 'amount', amount, transaction_id, 'not a whole yen amount'
FROM t WHERE amount_value <> round(amount_value)
UNION ALL
SELECT business_date, input, source_file, source_row, line_no, 'total_amount', total_amount, transaction_id,
       CASE WHEN total_value IS NULL THEN 'not an amount' ELSE 'not a whole yen amount' END
FROM l WHERE total_value IS NULL OR total_value <> round(total_value)
UNION ALL
SELECT business_date, input, source_file, source_row, line_no, 'order_id', order_id, transaction_id, 'missing order id'
FROM l WHERE coalesce(trim(order_id), '') = ''
UNION ALL
SELECT business_date, input, source_file, source_row, line_no, 'item_quantity', item_quantity, transaction_id, 'not a whole number'
FROM l WHERE nullif(trim(item_quantity), '') IS NOT NULL AND quantity IS NULL
UNION ALL
SELECT business_date, input, source_file, source_row, line_no, 'tax_rate', tax_rate, transaction_id,
       'unknown tax rate; configured rates: '
       || (SELECT string_agg(rate::VARCHAR || '%', ', ' ORDER BY rate) FROM cfg_tax_rates)
FROM l WHERE rate_given AND (rate IS NULL OR rate NOT IN (SELECT rate FROM cfg_tax_rates))
UNION ALL
SELECT business_date, input, source_file, source_row, line_no, 'tax_amount', tax_amount, transaction_id,
       CASE WHEN tax_value IS NULL THEN 'not an amount (needed to tell the tax rate, as the line has none)'
            ELSE 'matches no configured tax rate for the line total ' || total_amount
                 || ' (nearest: ' || nearest_rate || '%)' END
FROM l WHERE NOT rate_given AND total_value IS NOT NULL AND rate IS NULL
ORDER BY business_date, source_file, source_row, line_no NULLS FIRST, field
LIMIT 50
