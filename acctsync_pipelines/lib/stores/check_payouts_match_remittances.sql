-- Per remittance transferred on a day of the window: the bank debit is transfer_amount and the receivable
-- cleared is sales_amount − payment_fee. Parameters: $source, $days, $first_day, $last_day. Rows are failures.
WITH remittances AS (
    SELECT d.business_date, 'stores:remittance:' || d.record_id AS entry_id,
           TRY_CAST(s.body ->> 'transfer_amount' AS BIGINT) AS transfer_amount,
           TRY_CAST(s.body ->> 'sales_amount' AS BIGINT) - TRY_CAST(s.body ->> 'payment_fee' AS BIGINT) AS cleared
    FROM raw.stores_day_records d
    JOIN raw.stores_snapshots s USING (kind, record_id, revision)
    WHERE d.business_date BETWEEN $first_day AND $last_day AND list_contains($days, d.business_date)
      AND d.kind = 'remittance'
),
booked AS (
    SELECT business_date, entry_id,
           sum(CASE WHEN source_rule = 'payout:transfer_amount' THEN CASE side WHEN 'debit' THEN amount ELSE -amount END END) AS bank,
           sum(CASE WHEN source_rule = 'payout:receivable' THEN CASE side WHEN 'credit' THEN amount ELSE -amount END END) AS cleared
    FROM ops.journal_lines_by_source_rule($source, $first_day, $last_day)
    WHERE entry_id LIKE 'stores:remittance:%' AND list_contains($days, business_date)
    GROUP BY business_date, entry_id
)
SELECT business_date, entry_id, r.transfer_amount, coalesce(b.bank, 0) AS booked_bank,
       r.cleared AS expected_cleared, coalesce(b.cleared, 0) AS booked_cleared
FROM remittances r LEFT JOIN booked b USING (business_date, entry_id)
WHERE coalesce(b.bank, 0) <> r.transfer_amount OR coalesce(b.cleared, 0) <> r.cleared
ORDER BY business_date, entry_id
