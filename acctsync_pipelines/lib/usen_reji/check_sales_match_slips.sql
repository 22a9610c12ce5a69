-- Per store and day ($day): net sales booked vs the truth bundle's slip lines. Rows = mismatches.
WITH truth AS (SELECT bundle_id, store_code FROM raw.usen_reji_bundles WHERE business_date = $day AND is_truth),
slips AS (
    SELECT t.store_code, coalesce(sum(ops.to_int(s.amount)), 0) AS slip_total
    FROM truth t LEFT JOIN raw.usen_reji_slips s ON s.bundle_id = t.bundle_id AND s.business_date = $day
    GROUP BY t.store_code
),
booked AS (
    SELECT store_code, sum(CASE side WHEN 'credit' THEN amount ELSE -amount END) AS sales_booked
    FROM ledger.journal_entry_lines
    WHERE source = 'usen_reji' AND business_date = $day AND rule LIKE 'sales_rate:%'
    GROUP BY store_code
)
SELECT store_code, slip_total, coalesce(sales_booked, 0) AS sales_booked
FROM slips LEFT JOIN booked USING (store_code)
WHERE slip_total <> coalesce(sales_booked, 0)
ORDER BY store_code
