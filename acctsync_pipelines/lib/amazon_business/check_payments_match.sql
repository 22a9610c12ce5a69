-- For one day ($day): what the instrument lines book equals what the day's booked (not skipped)
-- transactions paid or refunded. A row = a mismatch.
WITH paid AS (
    SELECT coalesce(sum(CAST(round(CASE kind WHEN 'CHARGE' THEN abs(amount_value) ELSE -abs(amount_value) END)
                             AS BIGINT)), 0) AS transactions_total
    FROM ab_txn_parsed t
    WHERE business_date = $day
      AND NOT EXISTS (SELECT 1 FROM staging.amazon_business_skipped s
                      WHERE s.business_date = $day AND s.transaction_id = t.transaction_id)
),
booked AS (
    SELECT coalesce(sum(CASE side WHEN 'credit' THEN amount ELSE -amount END), 0) AS instruments_booked
    FROM ledger.journal_entry_lines
    WHERE source = $source AND business_date = $day AND rule LIKE 'instrument:%'
)
SELECT transactions_total, instruments_booked FROM paid, booked WHERE transactions_total <> instruments_booked
