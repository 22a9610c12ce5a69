-- Entries whose debits and credits differ, for one source and day ($source, $day).
SELECT entry_id,
       sum(amount) FILTER (WHERE side = 'debit') AS debit_total,
       sum(amount) FILTER (WHERE side = 'credit') AS credit_total
FROM ledger.journal_entry_lines
WHERE source = $source AND business_date = $day
GROUP BY entry_id
HAVING coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0)
    <> coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0)
ORDER BY entry_id
