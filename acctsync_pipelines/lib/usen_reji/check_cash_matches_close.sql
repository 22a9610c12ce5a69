-- Per store and day ($day): movement of the cash account booked vs what the close reports
-- (理論現金在高 − 釣銭準備金, plus 現金過不足 = 実現金在高 − 理論現金在高). Rows = mismatches.
WITH truth AS (SELECT bundle_id, store_code FROM raw.usen_reji_bundles WHERE business_date = $day AND is_truth),
reported AS (
    SELECT t.store_code,
           ops.to_int(c.expected_cash) - ops.to_int(c.float_amount)
             + (ops.to_int(c.counted_cash) - ops.to_int(c.expected_cash)) AS cash_reported
    FROM truth t JOIN raw.usen_reji_close c USING (bundle_id)
    WHERE c.business_date = $day
),
booked AS (
    SELECT store_code, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS cash_booked
    FROM ledger.journal_entry_lines
    WHERE source = 'usen_reji' AND business_date = $day
      AND account = (SELECT account FROM cfg_accounts WHERE key = 'cash')
    GROUP BY store_code
)
SELECT store_code, cash_reported, coalesce(cash_booked, 0) AS cash_booked
FROM reported LEFT JOIN booked USING (store_code)
WHERE cash_reported IS DISTINCT FROM coalesce(cash_booked, 0)
ORDER BY store_code
