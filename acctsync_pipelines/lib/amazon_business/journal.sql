-- Amazon Business journal for a window of business days, per ../shared/spec/accounting.md.
-- Parameters: $days, $first_day, $last_day (one day is a window of one), $rounding.
-- One entry per order and transaction type: a debit per item on its inferred expense account, a
-- credit per payment instrument class (split payments: the expense once, the credit split), and,
-- when payments and items differ (a part not yet seen), the difference on 仮払金 for review.
-- Refunds carry negative amounts, which flip every side. Expense account per item, in this order:
-- 1. the user's rules (cfg_ab_rules, first match); 2. ledger.learned_rules (same ASIN, then the
-- longest title keyword); 3. defaults by UNSPSC prefix or category, else the default account.
INSERT INTO ledger.journal_entry_lines
WITH s AS (SELECT * FROM cfg_ab_settings),
acct AS (SELECT * FROM cfg_accounts PIVOT (any_value(account) FOR key IN ('suspense_paid'))),
items AS (
    SELECT * FROM staging.amazon_business_lines
    WHERE business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date) AND amount <> 0
),
user_pick AS (
    SELECT i.entry_id, i.item_no, r.priority, r.kind, r.value, r.account, r.sub_account, r.tax_category, r.confidence
    FROM items i JOIN cfg_ab_rules r ON CASE r.kind
        WHEN 'title_keyword' THEN contains(lower(coalesce(i.title, '')), lower(r.value))
        WHEN 'asin' THEN upper(coalesce(i.asin, '')) = upper(trim(r.value))
        WHEN 'unspsc' THEN starts_with(trim(coalesce(i.unspsc, '')), r.value)
        WHEN 'seller' THEN lower(trim(coalesce(i.seller_name, ''))) = lower(trim(r.value))
        WHEN 'gl_code' THEN trim(coalesce(i.gl_code, '')) = trim(r.value)
        ELSE false END
    QUALIFY row_number() OVER (PARTITION BY i.entry_id, i.item_no ORDER BY r.priority) = 1
),
learned_pick AS (
    SELECT i.entry_id, i.item_no, lr.rule_id, lr.key_kind, lr.account, lr.sub_account, lr.tax_category,
           CASE lr.key_kind WHEN 'asin' THEN s.learned_asin ELSE s.learned_title END AS confidence
    FROM items i CROSS JOIN s
    JOIN ledger.learned_rules lr
      ON lr.source = 'amazon_business' AND trim(lr.key_value) <> ''
     AND ((lr.key_kind = 'asin' AND upper(coalesce(i.asin, '')) = upper(trim(lr.key_value)))
       OR (lr.key_kind = 'title_keyword' AND contains(lower(coalesce(i.title, '')), lower(trim(lr.key_value)))))
     AND ops.learned_rule_applies(i.entry_id, lr.created_at)
    QUALIFY row_number() OVER (PARTITION BY i.entry_id, i.item_no
                               ORDER BY CASE lr.key_kind WHEN 'asin' THEN 0 ELSE 1 END,
                                        length(trim(lr.key_value)) DESC, lr.created_at DESC, lr.rule_id) = 1
),
default_pick AS (
    SELECT i.entry_id, i.item_no, d.priority, d.kind, d.value, d.account, d.sub_account
    FROM items i JOIN cfg_ab_default_rules d ON CASE d.kind
        WHEN 'unspsc' THEN starts_with(trim(coalesce(i.unspsc, '')), d.value)
        WHEN 'category' THEN lower(trim(coalesce(i.category, ''))) = lower(trim(d.value))
        ELSE false END
    QUALIFY row_number() OVER (PARTITION BY i.entry_id, i.item_no ORDER BY d.priority) = 1
),
decided AS (
    SELECT i.*, r.purchase AS rate_category,
           CASE WHEN u.priority IS NOT NULL THEN 'config' WHEN l.rule_id IS NOT NULL THEN 'learned'
                ELSE 'default' END AS step,
           CASE WHEN u.priority IS NOT NULL THEN u.account WHEN l.rule_id IS NOT NULL THEN l.account
                WHEN d.priority IS NOT NULL THEN d.account ELSE s.default_account END AS account,
           CASE WHEN u.priority IS NOT NULL THEN u.sub_account WHEN l.rule_id IS NOT NULL THEN l.sub_account
                WHEN d.priority IS NOT NULL THEN d.sub_account ELSE s.default_sub_account END AS sub_account,
           coalesce(CASE WHEN u.priority IS NOT NULL THEN u.tax_category
                         WHEN l.rule_id IS NOT NULL THEN l.tax_category END, r.purchase) AS tax_category,
           CASE WHEN u.priority IS NOT NULL THEN u.confidence WHEN l.rule_id IS NOT NULL THEN l.confidence
                ELSE s.default_confidence END AS confidence,
           CASE WHEN u.priority IS NOT NULL THEN 'config:' || u.priority || ':' || u.kind || '=' || u.value
                WHEN l.rule_id IS NOT NULL THEN 'learned:' || l.rule_id
                WHEN d.priority IS NOT NULL THEN 'default:' || d.kind || '=' || d.value
                ELSE 'default:otherwise' END AS rule,
           s.review_threshold
    FROM items i CROSS JOIN s
    LEFT JOIN user_pick u ON u.entry_id = i.entry_id AND u.item_no = i.item_no
    LEFT JOIN learned_pick l ON l.entry_id = i.entry_id AND l.item_no = i.item_no
    LEFT JOIN default_pick d ON d.entry_id = i.entry_id AND d.item_no = i.item_no
    LEFT JOIN cfg_tax_rates r ON r.rate = i.tax_rate
),
-- Tax once per rate per document: the seller's invoice (or the seller) within the order's entry.
-- The invoice's own tax for the rate is used when its total for the rate is exactly these items.
taxable AS (
    SELECT *, coalesce(invoice_number, 'seller:' || lower(trim(coalesce(seller_name, '')))) AS tax_doc
    FROM decided WHERE tax_rate <> 0 AND tax_category = rate_category
),
tax_docs AS (
    SELECT entry_id, tax_doc, tax_rate, abs(sum(amount)) AS doc_amount,
           CASE WHEN count(invoice_number) = count(*) AND count(DISTINCT invoice_rate_tax) = 1
                     AND any_value(invoice_rate_total) = abs(sum(amount))
                THEN any_value(invoice_rate_tax)
                ELSE abs(ops.inner_tax(sum(amount), tax_rate, $rounding)) END AS doc_tax
    FROM taxable GROUP BY entry_id, tax_doc, tax_rate
),
tax_shares AS (
    SELECT t.entry_id, t.item_no, t.tax_doc, t.tax_rate, g.doc_tax,
           CASE WHEN g.doc_amount = 0 THEN 0 ELSE (g.doc_tax * abs(t.amount)) // g.doc_amount END AS base,
           CASE WHEN g.doc_amount = 0 THEN 0 ELSE (g.doc_tax * abs(t.amount)) % g.doc_amount END AS remainder
    FROM taxable t JOIN tax_docs g USING (entry_id, tax_doc, tax_rate)
),
line_tax AS (
    SELECT entry_id, item_no,
           base + CASE WHEN row_number() OVER w <= doc_tax - sum(base) OVER (PARTITION BY entry_id, tax_doc, tax_rate)
                       THEN 1 ELSE 0 END AS tax
    FROM tax_shares
    WINDOW w AS (PARTITION BY entry_id, tax_doc, tax_rate ORDER BY remainder DESC, item_no)
),
expense_lines AS (
    SELECT d.entry_id, d.order_id AS source_ref, d.transaction_id AS revision, 'debit' AS side, d.account,
           d.sub_account, d.tax_category, d.amount AS signed_amount, sign(d.amount) * coalesce(t.tax, 0) AS signed_tax,
           'Amazon ' || CASE WHEN d.transaction_type <> 'CHARGE' THEN '返金 ' ELSE '' END
               || coalesce(d.title, d.asin, d.line_key) AS description,
           d.rule, d.confidence,
           CASE WHEN d.step = 'default'
                    THEN 'account ' || d.account || ' is a default guess (' || d.rule || '); confirm or correct it'
                WHEN d.confidence < d.review_threshold
                    THEN 'confidence ' || d.confidence || ' is below the review threshold ' || d.review_threshold
                         || ' (' || d.rule || ')' END AS review_reason,
           d.registration_number IS NOT NULL AS qualified_invoice, 1 AS part, d.item_no AS part_no
    FROM decided d LEFT JOIN line_tax t USING (entry_id, item_no)
),
payments AS (
    SELECT 'amazon_business:' || doc_id || ':' || CASE doc_kind WHEN 'purchase' THEN 'charge' ELSE doc_kind END
               || ':' || strftime(business_date, '%Y-%m-%d') AS entry_id, *
    FROM staging.normalized_transactions
    WHERE source = 'amazon_business' AND business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date) AND tender IS NOT NULL
),
instrument_accounts AS (SELECT DISTINCT priority, name, account, sub_account FROM cfg_ab_instruments WHERE NOT exclude),
-- An instrument no class matches may be decided by a rule taught in review (key_kind 'tender', on its
-- trimmed paymentInstrumentType), which never touches an entry posted before it existed.
payment_lines AS (
    SELECT p.entry_id, any_value(p.doc_id) AS source_ref, string_agg(DISTINCT p.revision, ',') AS revision,
           'credit' AS side, coalesce(a.account, lr.account, s.unknown_account) AS account,
           coalesce(a.sub_account, lr.sub_account, s.unknown_sub_account) AS sub_account, 'out_of_scope' AS tax_category,
           sum(p.amount) AS signed_amount, 0::BIGINT AS signed_tax,
           'Amazon ' || any_value(p.doc_id) || ' ' || string_agg(DISTINCT coalesce(p.tender_name, ''), '/') AS description,
           CASE WHEN lr.rule_id IS NOT NULL THEN 'learned:' || lr.rule_id ELSE 'instrument:' || p.tender END AS rule,
           CASE WHEN a.name IS NULL AND lr.rule_id IS NULL THEN 0.0 ELSE 1.0 END AS confidence,
           CASE WHEN a.name IS NULL AND lr.rule_id IS NULL
                THEN 'unknown payment instrument ' || string_agg(DISTINCT '''' || coalesce(p.tender_name, '') || '''', ', ')
                     || '; classify it in sources.amazon_business.payment_instruments' END AS review_reason,
           false AS qualified_invoice, 3 AS part, coalesce(min(a.priority), 999) AS part_no
    FROM payments p CROSS JOIN s LEFT JOIN instrument_accounts a ON a.name = p.tender
    LEFT JOIN ledger.learned_rules lr
      ON a.name IS NULL AND lr.source = 'amazon_business' AND lr.key_kind = 'tender'
     AND lr.key_value = trim(coalesce(p.tender_name, '')) AND ops.learned_rule_applies(p.entry_id, lr.created_at)
    GROUP BY p.entry_id, p.tender, a.name, a.account, a.sub_account, s.unknown_account, s.unknown_sub_account,
             lr.rule_id, lr.account, lr.sub_account
),
totals AS (
    SELECT entry_id, any_value(source_ref) AS source_ref, string_agg(DISTINCT revision, ',') AS revision,
           coalesce(sum(signed_amount) FILTER (WHERE part = 1), 0) AS items_total,
           coalesce(sum(signed_amount) FILTER (WHERE part = 3), 0) AS paid_total
    FROM (SELECT * FROM expense_lines UNION ALL SELECT * FROM payment_lines)
    GROUP BY entry_id
),
difference_lines AS (
    SELECT entry_id, source_ref, revision, 'debit' AS side, (SELECT suspense_paid FROM acct) AS account,
           '' AS sub_account, 'out_of_scope' AS tax_category, paid_total - items_total AS signed_amount,
           0::BIGINT AS signed_tax, 'Amazon ' || source_ref || ' 支払と明細の差額' AS description,
           'difference' AS rule, 0.0 AS confidence,
           'payments total ' || paid_total || ' but the items total ' || items_total
               || '; a part of a split payment (associatedTransactionDetails) or an item may be missing'
               AS review_reason,
           false AS qualified_invoice, 2 AS part, 0 AS part_no
    FROM totals WHERE paid_total <> items_total
),
signed AS (
    SELECT * FROM expense_lines UNION ALL SELECT * FROM difference_lines UNION ALL SELECT * FROM payment_lines
),
lines AS (
    SELECT entry_id, source_ref,
           CASE WHEN signed_amount < 0 THEN CASE side WHEN 'debit' THEN 'credit' ELSE 'debit' END ELSE side END AS side,
           account, sub_account, tax_category, abs(signed_amount) AS amount, abs(signed_tax) AS tax_amount,
           description, rule, confidence, qualified_invoice, part, part_no,
           CASE WHEN review_reason IS NOT NULL THEN review_reason
                WHEN account IN (SELECT account FROM cfg_suspense) THEN 'suspense account ' || account END AS review_reason
    FROM signed WHERE signed_amount <> 0
),
entry_revision AS (
    -- the transactions the entry was built from
    SELECT entry_id, string_agg(DISTINCT transaction_id, ',' ORDER BY transaction_id) AS revision
    FROM (SELECT entry_id, transaction_id FROM items UNION ALL SELECT entry_id, revision FROM payments)
    GROUP BY entry_id
),
-- the entry's business day (part of its id): every entry has items or payments
entry_day AS (
    SELECT DISTINCT entry_id, business_date FROM (SELECT entry_id, business_date FROM items
                                                 UNION ALL SELECT entry_id, business_date FROM payments)
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY entry_id
                                 ORDER BY side DESC, part, part_no, account, sub_account)::INTEGER AS line_no
    FROM lines
)
SELECT n.entry_id, line_no, 'amazon_business' AS source, d.business_date, side, account, sub_account,
       '' AS department, tax_category, amount, tax_amount, description, source_ref, rule, confidence,
       CASE WHEN bool_or(review_reason IS NOT NULL) OVER (PARTITION BY entry_id) THEN 'needs_review' ELSE 'ready' END,
       review_reason, qualified_invoice, NULL AS store_code,
       r.revision,
       ops.entry_content_hash(line_no, side, account, sub_account, '', tax_category, amount, tax_amount,
                              description, qualified_invoice) OVER (PARTITION BY entry_id) AS content_hash
FROM numbered n LEFT JOIN entry_revision r USING (entry_id) JOIN entry_day d USING (entry_id)
