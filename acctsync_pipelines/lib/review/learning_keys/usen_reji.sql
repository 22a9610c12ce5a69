-- What correcting a USEN Reji line can teach (review set-account --remember): the reason side of a
-- 入金 / 出金 teaches a rule keyed on 'direction/reason'; every other line's account is fixed by the
-- configuration, which a learned rule never overrides. Needs cfg_usen_cash_rules.
-- Parameters: $entry_id, $line_no. One row: key_kind, key_value, key_label, cannot_learn (why not).
WITH line AS (
    SELECT * FROM ledger.journal_entry_lines WHERE entry_id = $entry_id AND line_no = $line_no
),
movement AS (
    SELECT CASE n.doc_kind WHEN 'cash_in' THEN '入金' ELSE '出金' END AS direction, coalesce(n.reason, '') AS reason
    FROM staging.normalized_transactions n JOIN line l
      ON n.source = 'usen_reji' AND n.business_date = l.business_date AND n.store_code = l.store_code
     AND n.doc_id = l.source_ref AND n.doc_kind IN ('cash_in', 'cash_out')
    WHERE l.entry_id LIKE '%:cash:%' AND l.rule NOT LIKE 'cash_movement:%'
)
SELECT CASE WHEN m.direction IS NOT NULL THEN 'cash_reason' END AS key_kind,
       m.direction || '/' || m.reason AS key_value,
       m.direction || ' reason ''' || m.reason || '''' AS key_label,
       CASE
           WHEN m.direction IS NULL THEN
               'its account comes from the configuration ('
               || CASE WHEN l.rule LIKE 'tender:%' THEN 'sources.usen_reji.tenders: ' || substr(l.rule, 8)
                       WHEN l.rule LIKE 'sales_rate:%' THEN 'accounts.sales'
                       WHEN l.rule LIKE 'cash_movement:%' THEN 'accounts.cash'
                       WHEN l.rule = 'over_short' THEN 'accounts.cash_over / accounts.cash_short'
                       ELSE 'rule ' || l.rule END
               || '); change it there'
           WHEN EXISTS (SELECT 1 FROM cfg_usen_cash_rules r WHERE r.direction = m.direction AND r.reason = m.reason) THEN
               'sources.usen_reji.cash_movement_rules has a rule for ' || m.direction || ' reason ''' || m.reason
               || ''', and configured rules come before learned ones; change that rule instead'
       END AS cannot_learn
FROM line l LEFT JOIN movement m ON true
