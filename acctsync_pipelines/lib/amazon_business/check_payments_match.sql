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
-- Instrument lines: booked by an instrument class or a learned tender rule; a line a person corrected
-- (or a forgotten rule pinned) counts by the rule that had decided it.
decided AS (
    SELECT side, amount, source_rule AS rule FROM ops.journal_lines_by_source_rule($source, $day, $day)
),
booked AS (
    SELECT coalesce(sum(CASE side WHEN 'credit' THEN amount ELSE -amount END), 0) AS instruments_booked
    FROM decided
    WHERE rule LIKE 'instrument:%'
       OR rule IN (SELECT 'learned:' || rule_id FROM ledger.learned_rules WHERE source = $source AND key_kind = 'tender')
)
SELECT transactions_total, instruments_booked FROM paid, booked WHERE transactions_total <> instruments_booked
