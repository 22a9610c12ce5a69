-- USEN Reji journal for a window of business days, per ../shared/spec/accounting.md.
-- Parameters: $days, $first_day, $last_day (one day is a window of one),
-- $granularity ('daily_summary' | 'per_slip'), $rounding.
-- Signed amounts are built first (positive = the side named); a negative line flips side, so no
-- amount is ever negative. Tax is computed once per rate per document (the slip, or the store-day).
INSERT INTO ledger.journal_entry_lines
WITH n AS (
    SELECT * FROM staging.normalized_transactions WHERE source = 'usen_reji' AND business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date)
),
acct AS (SELECT * FROM cfg_accounts PIVOT (any_value(account) FOR key IN
    ('cash', 'sales', 'cash_short', 'cash_over', 'suspense_received', 'suspense_paid'))),
sale_rows AS (
    SELECT n.*,
           CASE WHEN $granularity = 'per_slip'
                THEN 'usen_reji:' || store_code || ':' || strftime(business_date, '%Y-%m-%d') || ':slip:' || doc_id
                ELSE 'usen_reji:' || store_code || ':' || strftime(business_date, '%Y-%m-%d') || ':sales' END AS entry_id,
           CASE WHEN $granularity = 'per_slip' THEN doc_id ELSE revision END AS source_ref,
           CASE WHEN $granularity = 'per_slip'
                THEN 'USENレジ ' || department || ' 伝票' || doc_id
                     || CASE doc_kind WHEN 'cancel' THEN ' 取消(元' || original_doc_id || ')'
                                      WHEN 'correction' THEN ' 訂正(元' || original_doc_id || ')' ELSE '' END
                ELSE 'USENレジ ' || department || ' 日計' END AS doc_label
    FROM n WHERE doc_kind IN ('sale', 'cancel', 'correction')
),
tender_lines AS (
    SELECT s.entry_id, s.business_date, s.store_code, s.department, s.source_ref, s.revision,
           'debit' AS side, t.account, t.sub_account, 'out_of_scope' AS tax_category,
           sum(s.amount) AS signed_amount, 0::BIGINT AS signed_tax,
           any_value(s.doc_label) || ' ' || s.tender || ' ' || s.tax_rate || '%' AS description,
           'tender:' || s.tender AS rule, 1.0 AS confidence, NULL AS review_reason
    FROM sale_rows s JOIN cfg_usen_tenders t USING (tender)
    GROUP BY s.entry_id, s.business_date, s.store_code, s.department, s.source_ref, s.revision, s.tender, s.tax_rate,
             t.account, t.sub_account
),
revenue_lines AS (
    SELECT s.entry_id, s.business_date, s.store_code, s.department, s.source_ref, s.revision,
           'credit' AS side, (SELECT sales FROM acct) AS account, '' AS sub_account, r.sales AS tax_category,
           sum(s.amount) AS signed_amount, ops.inner_tax(sum(s.amount), s.tax_rate, $rounding) AS signed_tax,
           any_value(s.doc_label) || ' 売上 ' || s.tax_rate || '%' AS description,
           'sales_rate:' || s.tax_rate AS rule, 1.0 AS confidence, NULL AS review_reason
    FROM sale_rows s JOIN cfg_tax_rates r ON r.rate = s.tax_rate
    GROUP BY s.entry_id, s.business_date, s.store_code, s.department, s.source_ref, s.revision, s.tax_rate, r.sales
),
movements AS (
    SELECT n.*,
           'usen_reji:' || store_code || ':' || strftime(business_date, '%Y-%m-%d') || ':cash:' || doc_id AS entry_id,
           CASE doc_kind WHEN 'cash_in' THEN '入金' ELSE '出金' END AS direction,
           (SELECT min(priority) FROM cfg_usen_cash_rules r
             WHERE r.direction = CASE n.doc_kind WHEN 'cash_in' THEN '入金' ELSE '出金' END
               AND r.reason = n.reason) AS rule_priority
    FROM n WHERE doc_kind IN ('cash_in', 'cash_out')
),
-- Rules a person taught through the review queue (acctsync review set-account --remember), keyed on
-- direction/reason. They come after the configured rules and never touch an entry posted before they existed.
learned AS (
    SELECT rule_id, key_value, account, sub_account, tax_category, created_at
    FROM ledger.learned_rules WHERE source = 'usen_reji' AND key_kind = 'cash_reason'
),
movement_rows AS (
    SELECT m.*, l.rule_id AS learned_rule_id,
           coalesce(r.account, l.account) AS rule_account,
           coalesce(r.sub_account, l.sub_account) AS rule_sub_account,
           coalesce(r.tax_category, l.tax_category) AS rule_tax
    FROM movements m LEFT JOIN cfg_usen_cash_rules r ON r.priority = m.rule_priority
    LEFT JOIN learned l ON m.rule_priority IS NULL AND l.key_value = m.direction || '/' || coalesce(m.reason, '')
                       AND ops.learned_rule_applies(m.entry_id, l.created_at)
),
-- Each tax category's rate, joined once: ops.inner_tax repeats its arguments, so a subquery passed
-- to it is planned several times over (that alone cost ~80 ms per day).
category_rates AS (
    SELECT category, min(rate) AS rate
    FROM (SELECT sales AS category, rate FROM cfg_tax_rates UNION ALL SELECT purchase, rate FROM cfg_tax_rates)
    WHERE category <> 'out_of_scope'
    GROUP BY category
),
movement_lines AS (
    -- the drawer side
    SELECT entry_id, business_date, store_code, department, doc_id AS source_ref, revision,
           CASE direction WHEN '入金' THEN 'debit' ELSE 'credit' END AS side,
           (SELECT cash FROM acct) AS account, '' AS sub_account, 'out_of_scope' AS tax_category,
           amount AS signed_amount, 0::BIGINT AS signed_tax,
           'USENレジ ' || department || ' ' || direction || ' ' || coalesce(reason, '') || coalesce(' ' || nullif(description, ''), '') AS description,
           'cash_movement:' || direction AS rule, 1.0 AS confidence, NULL AS review_reason
    FROM movement_rows
    UNION ALL
    -- the reason side
    SELECT entry_id, business_date, store_code, department, doc_id, revision,
           CASE direction WHEN '入金' THEN 'credit' ELSE 'debit' END,
           coalesce(rule_account, CASE direction WHEN '入金' THEN (SELECT suspense_received FROM acct)
                                                ELSE (SELECT suspense_paid FROM acct) END),
           coalesce(rule_sub_account, ''), coalesce(rule_tax, 'out_of_scope'),
           amount,
           ops.inner_tax(amount, cr.rate, $rounding),
           'USENレジ ' || department || ' ' || direction || ' ' || coalesce(reason, '') || coalesce(' ' || nullif(description, ''), ''),
           CASE WHEN rule_priority IS NOT NULL THEN 'cash_rule:' || rule_priority || ':' || direction || '/' || reason
                WHEN learned_rule_id IS NOT NULL THEN 'learned:' || learned_rule_id
                ELSE 'cash_rule:default' END,
           CASE WHEN rule_account IS NULL THEN 0.0 ELSE 1.0 END,
           CASE WHEN rule_account IS NULL THEN 'no cash movement rule for ' || direction || ' reason ''' || coalesce(reason, '') || '''' END
    FROM movement_rows LEFT JOIN category_rates cr ON cr.category = movement_rows.rule_tax
),
over_short_lines AS (
    SELECT 'usen_reji:' || store_code || ':' || strftime(business_date, '%Y-%m-%d') || ':over_short' AS entry_id,
           business_date, store_code, department, doc_id AS source_ref, revision,
           'debit' AS side, (SELECT cash FROM acct) AS account, '' AS sub_account, 'out_of_scope' AS tax_category,
           amount AS signed_amount, 0::BIGINT AS signed_tax,
           'USENレジ ' || department || ' 現金過不足' AS description, 'over_short' AS rule, 1.0 AS confidence,
           NULL AS review_reason
    FROM n WHERE doc_kind = 'over_short'
    UNION ALL
    SELECT 'usen_reji:' || store_code || ':' || strftime(business_date, '%Y-%m-%d') || ':over_short',
           business_date, store_code, department, doc_id, revision,
           'credit', CASE WHEN amount > 0 THEN (SELECT cash_over FROM acct) ELSE (SELECT cash_short FROM acct) END, '',
           'out_of_scope', amount, 0::BIGINT,
           'USENレジ ' || department || ' 現金過不足', 'over_short', 1.0, NULL
    FROM n WHERE doc_kind = 'over_short'
),
signed AS (
    SELECT * FROM tender_lines UNION ALL SELECT * FROM revenue_lines
    UNION ALL SELECT * FROM movement_lines UNION ALL SELECT * FROM over_short_lines
),
lines AS (
    SELECT entry_id, business_date, store_code, department, source_ref, revision,
           CASE WHEN signed_amount < 0 THEN CASE side WHEN 'debit' THEN 'credit' ELSE 'debit' END ELSE side END AS side,
           account, sub_account, tax_category, abs(signed_amount) AS amount, abs(signed_tax) AS tax_amount,
           description, rule, confidence,
           CASE WHEN review_reason IS NOT NULL THEN review_reason
                WHEN account IN (SELECT account FROM cfg_suspense) THEN 'suspense account ' || account END AS review_reason
    FROM signed WHERE signed_amount <> 0
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY entry_id
                                 ORDER BY side DESC, account, sub_account, tax_category, description)::INTEGER AS line_no
    FROM lines
)
SELECT entry_id, line_no, 'usen_reji' AS source, business_date, side, account, sub_account,
       coalesce(department, '') AS department, tax_category, amount, tax_amount, description, source_ref, rule,
       confidence,
       CASE WHEN bool_or(review_reason IS NOT NULL) OVER (PARTITION BY entry_id) THEN 'needs_review' ELSE 'ready' END,
       review_reason, false AS qualified_invoice, store_code, revision,
       ops.entry_content_hash(line_no, side, account, sub_account, department, tax_category, amount, tax_amount,
                              description, false) OVER (PARTITION BY entry_id) AS content_hash
FROM numbered
