-- Per remittance transferred on the day: the bank debit is transfer_amount and the receivable
-- cleared is sales_amount − payment_fee. Parameters: $source, $day. Rows are failures.
WITH remittances AS (
    SELECT 'stores:remittance:' || d.record_id AS entry_id,
           TRY_CAST(s.body ->> 'transfer_amount' AS BIGINT) AS transfer_amount,
           TRY_CAST(s.body ->> 'sales_amount' AS BIGINT) - TRY_CAST(s.body ->> 'payment_fee' AS BIGINT) AS cleared
    FROM raw.stores_day_records d
    JOIN raw.stores_snapshots s USING (kind, record_id, revision)
    WHERE d.business_date = $day AND d.kind = 'remittance'
),
booked AS (
    SELECT entry_id,
           sum(CASE WHEN source_rule = 'payout:transfer_amount' THEN CASE side WHEN 'debit' THEN amount ELSE -amount END END) AS bank,
           sum(CASE WHEN source_rule = 'payout:receivable' THEN CASE side WHEN 'credit' THEN amount ELSE -amount END END) AS cleared
    FROM ops.journal_lines_by_source_rule($source, $day, $day)
    WHERE entry_id LIKE 'stores:remittance:%'
    GROUP BY entry_id
)
SELECT entry_id, r.transfer_amount, coalesce(b.bank, 0) AS booked_bank,
       r.cleared AS expected_cleared, coalesce(b.cleared, 0) AS booked_cleared
FROM remittances r LEFT JOIN booked b USING (entry_id)
WHERE coalesce(b.bank, 0) <> r.transfer_amount OR coalesce(b.cleared, 0) <> r.cleared
ORDER BY entry_id
