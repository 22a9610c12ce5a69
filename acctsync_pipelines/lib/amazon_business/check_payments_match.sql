-- Per day of the window ($days, $first_day, $last_day): what the instrument lines book equals what the
-- day's booked (not skipped) transactions paid or refunded. A row = a mismatch.
WITH paid AS (
    SELECT business_date,
           sum(CAST(round(CASE kind WHEN 'CHARGE' THEN abs(amount_value) ELSE -abs(amount_value) END)
                    AS BIGINT)) AS transactions_total
    FROM ab_txn_parsed t
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
      AND NOT EXISTS (SELECT 1 FROM staging.amazon_business_skipped s
                      WHERE s.business_date = t.business_date AND s.transaction_id = t.transaction_id)
    GROUP BY business_date
),
-- Instrument lines: booked by an instrument class or a learned tender rule; a line a person corrected
-- (or a forgotten rule pinned) counts by the rule that had decided it.
decided AS (
    SELECT business_date, side, amount, source_rule AS rule
    FROM ops.journal_lines_by_source_rule($source, $first_day, $last_day)
    WHERE list_contains($days, business_date)
),
booked AS (
    SELECT business_date, sum(CASE side WHEN 'credit' THEN amount ELSE -amount END) AS instruments_booked
    FROM decided
    WHERE rule LIKE 'instrument:%'
       OR rule IN (SELECT 'learned:' || rule_id FROM ledger.learned_rules WHERE source = $source AND key_kind = 'tender')
    GROUP BY business_date
)
SELECT business_date, coalesce(p.transactions_total, 0) AS transactions_total,
       coalesce(b.instruments_booked, 0) AS instruments_booked
FROM paid p FULL JOIN booked b USING (business_date)
WHERE coalesce(p.transactions_total, 0) <> coalesce(b.instruments_booked, 0)
ORDER BY business_date
