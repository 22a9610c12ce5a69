-- Entries whose debits and credits differ, for one source and a window of days ($source, $days, $first_day,
-- $last_day), with their business_date first.
SELECT business_date, entry_id,
       sum(amount) FILTER (WHERE side = 'debit') AS debit_total,
       sum(amount) FILTER (WHERE side = 'credit') AS credit_total
FROM ledger.journal_entry_lines
WHERE source = $source AND business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, business_date)
GROUP BY business_date, entry_id
HAVING coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0)
    <> coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0)
ORDER BY business_date, entry_id
