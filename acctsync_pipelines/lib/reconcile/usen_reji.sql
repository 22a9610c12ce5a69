-- USEN Reji, a window of business days ($days, $first_day, $last_day; lib/sources.window_params): per day,
-- store and measure, the close bundle's own figure, the normalized total and the journal total. All three
-- must be equal; the rows returned are those where they are not (see lib/reconcile/__init__.py).
--   sales           Σ slip lines                    = Σ sale/cancel/correction rows = Σ revenue lines (credit − debit)
--   tenders         Σ payments                      = Σ sale/cancel/correction rows = Σ settlement lines of sales entries (debit − credit)
--   cash_movements  Σ 入金 − Σ 出金                   = Σ cash_in − Σ cash_out        = cash account in cash-movement entries
--   over_short      実現金在高 − 理論現金在高           = Σ over_short rows             = cash account in the over/short entry
-- (Raw rows are read through their business_date too, so zone maps skip the rest of the year.)
WITH truth AS (
    SELECT bundle_id, business_date, store_code FROM raw.usen_reji_bundles
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date) AND is_truth
),
source_side AS (
    SELECT t.business_date, t.store_code, 'sales' AS measure, sum(ops.to_int(s.amount)) AS amount
    FROM truth t JOIN raw.usen_reji_slips s USING (bundle_id, business_date) WHERE s.business_date BETWEEN $first_day AND $last_day GROUP BY ALL
    UNION ALL
    SELECT t.business_date, t.store_code, 'tenders', sum(ops.to_int(p.amount))
    FROM truth t JOIN raw.usen_reji_payments p USING (bundle_id, business_date) WHERE p.business_date BETWEEN $first_day AND $last_day GROUP BY ALL
    UNION ALL
    SELECT t.business_date, t.store_code, 'cash_movements',
           sum(CASE m.direction WHEN '入金' THEN 1 ELSE -1 END * ops.to_int(m.amount))
    FROM truth t JOIN raw.usen_reji_cash_movements m USING (bundle_id, business_date) WHERE m.business_date BETWEEN $first_day AND $last_day GROUP BY ALL
    UNION ALL
    SELECT t.business_date, t.store_code, 'over_short', sum(ops.to_int(c.counted_cash) - ops.to_int(c.expected_cash))
    FROM truth t JOIN raw.usen_reji_close c USING (bundle_id, business_date) WHERE c.business_date BETWEEN $first_day AND $last_day GROUP BY ALL
),
normalized AS (
    SELECT business_date, store_code, m.measure, sum(n.amount) AS amount
    FROM staging.normalized_transactions n, (VALUES ('sales'), ('tenders')) m(measure)
    WHERE n.source = 'usen_reji' AND n.business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, n.business_date) AND n.doc_kind IN ('sale', 'cancel', 'correction')
    GROUP BY ALL
    UNION ALL
    SELECT business_date, store_code, 'cash_movements', sum(CASE doc_kind WHEN 'cash_in' THEN amount ELSE -amount END)
    FROM staging.normalized_transactions
    WHERE source = 'usen_reji' AND business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, business_date) AND doc_kind IN ('cash_in', 'cash_out')
    GROUP BY ALL
    UNION ALL
    SELECT business_date, store_code, 'over_short', sum(amount)
    FROM staging.normalized_transactions
    WHERE source = 'usen_reji' AND business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, business_date) AND doc_kind = 'over_short'
    GROUP BY ALL
),
lines AS (
    SELECT l.* REPLACE (l.source_rule AS rule), CASE side WHEN 'debit' THEN amount ELSE -amount END AS debit_net,
           l.account = (SELECT account FROM cfg_accounts WHERE key = 'cash') AS on_cash
    FROM ops.journal_lines_by_source_rule('usen_reji', $first_day, $last_day) l
    WHERE list_contains($days, l.business_date)
),
journal AS (
    SELECT business_date, store_code, 'sales' AS measure, -sum(debit_net) AS amount
    FROM lines WHERE rule LIKE 'sales_rate:%' GROUP BY ALL
    UNION ALL
    SELECT business_date, store_code, 'tenders', sum(debit_net)
    FROM lines WHERE (entry_id LIKE '%:sales' OR entry_id LIKE '%:slip:%') AND rule NOT LIKE 'sales_rate:%'
    GROUP BY ALL
    UNION ALL
    SELECT business_date, store_code, 'cash_movements', sum(debit_net)
    FROM lines WHERE entry_id LIKE '%:cash:%' AND on_cash GROUP BY ALL
    UNION ALL
    SELECT business_date, store_code, 'over_short', sum(debit_net)
    FROM lines WHERE entry_id LIKE '%:over_short' AND on_cash GROUP BY ALL
),
keys AS (
    SELECT business_date, store_code, measure FROM source_side
    UNION SELECT business_date, store_code, measure FROM normalized
    UNION SELECT business_date, store_code, measure FROM journal
),
figures AS (
    SELECT k.business_date, k.store_code AS scope, k.measure,
           coalesce(s.amount, 0) AS source_total,
           coalesce(n.amount, 0) AS normalized_total,
           coalesce(j.amount, 0) AS journal_total
    FROM keys k
    LEFT JOIN source_side s USING (business_date, store_code, measure)
    LEFT JOIN normalized n USING (business_date, store_code, measure)
    LEFT JOIN journal j USING (business_date, store_code, measure)
)
SELECT * FROM figures
WHERE NOT (source_total = normalized_total AND normalized_total = journal_total)
ORDER BY business_date, scope, measure
