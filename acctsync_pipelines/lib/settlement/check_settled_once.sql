-- Receivables cleared beyond what they hold now: their sale day was re-run with less (or is gone)
-- after settlement days cleared them. Each row names those settlement days: re-run them, and they are
-- matched again against the receivables as they are now. Rows are warnings; matching never clears
-- such a receivable further. About the whole ledger: reported on the window's last day ($last_day).
WITH settled AS (
    SELECT source, sub_account, store_code, department, sale_date, sum(amount) AS settled,
           array_to_string(list_sort(list(DISTINCT strftime(value_date, '%Y-%m-%d'))), ', ') AS settlement_days
    FROM ledger.settlement_allocations
    GROUP BY source, sub_account, store_code, department, sale_date
)
SELECT $last_day::DATE AS business_date, s.source, s.sub_account, s.store_code, s.department, s.sale_date, coalesce(o.charged, 0) AS charged_now,
       s.settled, s.settlement_days,
       CASE WHEN o.sale_date IS NULL THEN 'the receivable is gone (its sale day was re-run, or the rule changed)'
            ELSE 'settled more than the receivable holds now' END AS problem
FROM settled s
LEFT JOIN reports.open_receivables o USING (source, sub_account, store_code, department, sale_date)
WHERE o.sale_date IS NULL
   OR (o.charged >= 0 AND (s.settled > o.charged OR s.settled < 0))
   OR (o.charged < 0 AND (s.settled < o.charged OR s.settled > 0))
ORDER BY s.sale_date, s.source, s.sub_account, s.store_code
