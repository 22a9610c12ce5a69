-- Per order event and tax rate: 売上高 booked, and its output tax, equal the order's tax_details
-- (sales_amount / sales_tax for the sale, less cancel_amount / cancel_tax where cancelled).
-- Parameters: $source and a window of days ($days, $first_day, $last_day). Rows are failures.
WITH expected AS (
    SELECT business_date,
           'stores:' || doc_id || ':' || event || ':' || strftime(business_date, '%Y-%m-%d') AS entry_id,
           tax_rate, taxable_amount, tax_amount
    FROM staging.stores_output_tax
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
),
booked AS (
    SELECT business_date, entry_id, TRY_CAST(split_part(source_rule, ':', 2) AS INTEGER) AS tax_rate,
           sum(CASE side WHEN 'credit' THEN amount ELSE -amount END) AS amount,
           sum(CASE side WHEN 'credit' THEN tax_amount ELSE -tax_amount END) AS tax
    FROM ops.journal_lines_by_source_rule($source, $first_day, $last_day)
    WHERE source_rule LIKE 'sales_rate:%' AND list_contains($days, business_date)
    GROUP BY ALL
)
SELECT business_date, entry_id, tax_rate,
       coalesce(e.taxable_amount, 0) AS expected_sales, coalesce(b.amount, 0) AS booked_sales,
       coalesce(e.tax_amount, 0) AS expected_tax, coalesce(b.tax, 0) AS booked_tax
FROM expected e FULL JOIN booked b USING (business_date, entry_id, tax_rate)
WHERE coalesce(e.taxable_amount, 0) <> coalesce(b.amount, 0) OR coalesce(e.tax_amount, 0) <> coalesce(b.tax, 0)
ORDER BY business_date, entry_id, tax_rate
