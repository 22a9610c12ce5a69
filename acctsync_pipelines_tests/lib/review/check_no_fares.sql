-- Test check (non-blocking) about the whole day: fails when the day paid any 交通費.
SELECT count(*) AS fares FROM ledger.journal_entry_lines
WHERE source = $source AND business_date = $day AND rule LIKE 'cash_rule:%/交通費'
HAVING count(*) > 0
