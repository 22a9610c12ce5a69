-- Test check (non-blocking): 出金 above 3,000 yen, one row per entry.
SELECT entry_id, amount FROM ledger.journal_entry_lines
WHERE source = $source AND business_date = $day AND rule = 'cash_movement:出金' AND amount > 3000
