-- Test check (non-blocking): 出金 above 3,000 yen, one row per entry.
SELECT business_date, entry_id, amount FROM ledger.journal_entry_lines
WHERE source = $source AND business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date) AND rule = 'cash_movement:出金' AND amount > 3000
