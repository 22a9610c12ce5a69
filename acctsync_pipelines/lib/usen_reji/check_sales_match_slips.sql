-- Per store and day of the window ($days, $first_day, $last_day): net sales booked vs the truth bundle's
-- slip lines. Rows = mismatches, with their business_date first.
WITH truth AS (
    SELECT bundle_id, business_date, store_code FROM raw.usen_reji_bundles
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date) AND is_truth
),
slips AS (
    SELECT t.business_date, t.store_code, coalesce(sum(ops.to_int(s.amount)), 0) AS slip_total
    FROM truth t LEFT JOIN raw.usen_reji_slips s
      ON s.bundle_id = t.bundle_id AND s.business_date BETWEEN $first_day AND $last_day
          AND list_contains($days, s.business_date)
    GROUP BY t.business_date, t.store_code
),
booked AS (
    SELECT business_date, store_code, sum(CASE side WHEN 'credit' THEN amount ELSE -amount END) AS sales_booked
    FROM ops.journal_lines_by_source_rule('usen_reji', $first_day, $last_day)
    WHERE list_contains($days, business_date) AND source_rule LIKE 'sales_rate:%'
    GROUP BY business_date, store_code
)
SELECT business_date, store_code, slip_total, coalesce(sales_booked, 0) AS sales_booked
FROM slips LEFT JOIN booked USING (business_date, store_code)
WHERE slip_total <> coalesce(sales_booked, 0)
ORDER BY business_date, store_code
