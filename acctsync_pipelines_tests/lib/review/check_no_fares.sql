-- Test check (non-blocking) about the whole day: fails when the day paid any 交通費.
SELECT business_date, count(*) AS fares FROM ledger.journal_entry_lines
WHERE source = $source AND business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date) AND rule LIKE 'cash_rule:%/交通費'
GROUP BY business_date HAVING count(*) > 0
