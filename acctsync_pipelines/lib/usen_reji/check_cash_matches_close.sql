-- Per store and day of the window ($days, $first_day, $last_day; business_date first): movement
-- of the cash account booked vs what the close reports
-- (理論現金在高 − 釣銭準備金, plus 現金過不足 = 実現金在高 − 理論現金在高). Rows = mismatches.
WITH truth AS (
    SELECT bundle_id, business_date, store_code FROM raw.usen_reji_bundles
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date) AND is_truth
),
reported AS (
    SELECT t.business_date, t.store_code,
           ops.to_int(c.expected_cash) - ops.to_int(c.float_amount)
             + (ops.to_int(c.counted_cash) - ops.to_int(c.expected_cash)) AS cash_reported
    FROM truth t JOIN raw.usen_reji_close c USING (bundle_id)
    WHERE c.business_date BETWEEN $first_day AND $last_day AND list_contains($days, c.business_date)
),
booked AS (
    SELECT business_date, store_code, sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS cash_booked
    FROM ledger.journal_entry_lines
    WHERE source = 'usen_reji' AND business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date)
      AND account = (SELECT account FROM cfg_accounts WHERE key = 'cash')
    GROUP BY business_date, store_code
)
SELECT business_date, store_code, cash_reported, coalesce(cash_booked, 0) AS cash_booked
FROM reported LEFT JOIN booked USING (business_date, store_code)
WHERE cash_reported IS DISTINCT FROM coalesce(cash_booked, 0)
ORDER BY business_date, store_code
