-- Settlement for the day, step 3: say why each deposit still pending matches nothing, then write one
-- settlement entry per settled deposit: Dr bank (the deposit) + Dr fee (what the payer kept) /
-- Cr receivable per sub-account and store (what it clears). Parameters: day, rounding.
INSERT INTO ledger.deposit_matches
    (line_id, value_date, amount, description, status, candidates, reason, source_file, source_row, matched_at)
WITH due AS (SELECT rule, sum(amount) AS due FROM day_batches GROUP BY rule),
named AS (
    SELECT d.line_id, string_agg(pr.rule, ', ' ORDER BY pr.rule) AS rules, count(pr.rule) AS rule_count,
           coalesce(sum(u.due), 0) AS due
    FROM pending_deposits d
    LEFT JOIN day_payer_rules pr USING (line_id)
    LEFT JOIN due u ON u.rule = pr.rule
    GROUP BY d.line_id
)
SELECT d.line_id, d.value_date, d.amount, d.description, 'unmatched', 0,
       CASE WHEN n.rule_count = 0 THEN 'no settlement rule''s payer text is in the description, and no source booked this amount to the bank'
            WHEN n.due = 0 THEN 'payer of ' || n.rules || ', but nothing it settles is open and due'
            ELSE 'payer of ' || n.rules || ': fits no cycle and is more than everything due (' || n.due || ')'
       END,
       d.source_file, d.source_row, now()
FROM pending_deposits d JOIN named n USING (line_id);

INSERT INTO ledger.journal_entry_lines
WITH cfg AS (SELECT * FROM ops.settlement_config),
settled AS (
    SELECT m.*, r.fee_tax_category
    FROM ledger.deposit_matches m LEFT JOIN ops.settlement_rules r USING (rule)
    WHERE m.value_date = $day AND m.status IN ('matched', 'partial', 'review')
),
cleared AS (
    SELECT entry_id, rule, sub_account, store_code, department, sum(amount) AS amount,
           min(sale_date) AS first_sale, max(sale_date) AS last_sale
    FROM ledger.settlement_allocations
    WHERE value_date = $day
    GROUP BY entry_id, rule, sub_account, store_code, department
),
per_entry AS (
    SELECT entry_id,
           CASE WHEN count(DISTINCT department) = 1 THEN any_value(department) ELSE '' END AS department,
           CASE WHEN count(DISTINCT store_code) = 1 THEN nullif(any_value(store_code), '') END AS store_code
    FROM cleared GROUP BY entry_id
),
signed AS (
    SELECT s.entry_id, 'debit' AS side, cfg.bank_account AS account, cfg.bank_sub_account AS sub_account,
           '' AS department, p.store_code, 'out_of_scope' AS tax_category, s.amount AS signed_amount,
           0::BIGINT AS signed_tax, '入金 ' || s.description AS description, 1 AS kind_order
    FROM settled s CROSS JOIN cfg JOIN per_entry p USING (entry_id)
    UNION ALL
    SELECT s.entry_id, 'debit', cfg.fee_account, '', p.department, p.store_code, s.fee_tax_category, s.fee,
           ops.inner_tax(s.fee, (SELECT min(t.rate) FROM cfg_tax_rates t
                                 WHERE s.fee_tax_category IN (t.sales, t.purchase)
                                   AND s.fee_tax_category NOT IN ('out_of_scope', 'exempt')), $rounding),
           '決済手数料 ' || s.rule || ' ' || s.description, 2
    FROM settled s CROSS JOIN cfg JOIN per_entry p USING (entry_id)
    WHERE s.fee <> 0
    UNION ALL
    SELECT c.entry_id, 'credit', cfg.receivable_account, c.sub_account, c.department, nullif(c.store_code, ''),
           'out_of_scope', c.amount, 0::BIGINT,
           '入金消込 ' || c.rule || ' ' || c.sub_account || ' ' || strftime(c.first_sale, '%m/%d')
               || CASE WHEN c.last_sale > c.first_sale THEN '-' || strftime(c.last_sale, '%m/%d') ELSE '' END,
           3
    FROM cleared c CROSS JOIN cfg
),
lines AS (
    SELECT x.*,
           CASE WHEN x.signed_amount < 0 THEN CASE x.side WHEN 'debit' THEN 'credit' ELSE 'debit' END ELSE x.side END
               AS posted_side,
           abs(x.signed_amount) AS amount, abs(x.signed_tax) AS tax_amount
    FROM signed x WHERE x.signed_amount <> 0
),
numbered AS (
    SELECT l.*, row_number() OVER (PARTITION BY l.entry_id
                                   ORDER BY l.posted_side DESC, l.kind_order, l.account, l.sub_account,
                                            l.department, l.description)::INTEGER AS line_no
    FROM lines l
)
SELECT n.entry_id, n.line_no, 'settlement', $day, n.posted_side, n.account, n.sub_account, n.department,
       n.tax_category, n.amount, n.tax_amount, n.description, s.source_file || ':' || s.source_row,
       'settlement:' || s.rule || ':' || s.match_kind,
       CASE s.status WHEN 'review' THEN 0.5 ELSE 1.0 END,
       CASE s.status WHEN 'review' THEN 'needs_review' ELSE 'ready' END,
       CASE s.status WHEN 'review' THEN s.reason END,
       false, n.store_code, s.source_file,
       md5(string_agg(concat_ws('|', n.line_no, n.posted_side, n.account, n.sub_account, n.department, n.tax_category,
                                n.amount, n.tax_amount, n.description), '\n' ORDER BY n.line_no)
           OVER (PARTITION BY n.entry_id))
FROM numbered n JOIN settled s USING (entry_id);
