-- STORES journal for a window of business days, per ../shared/spec/accounting.md ("STORES").
-- Parameters: $days, $first_day, $last_day (one day is a window of one), $rounding.
-- Entries: stores:<order number>:sale:<day>, stores:<order number>:cancel:<day> (the day is part of the
-- id, so an event that moves to another day is a new entry and the old one is reversed on its day),
-- stores:remittance:<id> and stores:remittance:<id>:campaign_coupon.
-- Signed amounts are built first (positive = the side named): a negative line flips side, so no
-- amount is ever negative. Output tax on 売上高 is the vendor's own per-rate figure (tax_details);
-- other taxable lines get tax once per category per entry.
INSERT INTO ledger.journal_entry_lines
WITH n AS (
    SELECT * FROM staging.normalized_transactions
    WHERE source = 'stores' AND business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
),
acct AS (SELECT * FROM cfg_accounts PIVOT (any_value(account) FOR key IN
    ('receivable', 'suspense_received', 'suspense_paid'))),
bk AS (SELECT * FROM cfg_stores_booking),
order_rows AS (
    SELECT n.*,
           CASE WHEN doc_kind = 'payment_fee' THEN reason ELSE doc_kind END AS event,
           'stores:' || doc_id || ':' || CASE WHEN doc_kind = 'payment_fee' THEN reason ELSE doc_kind END
               || ':' || strftime(business_date, '%Y-%m-%d') AS entry_id,
           'STORES ' || CASE WHEN coalesce(department, '') IN ('', store_code)
                             THEN CASE WHEN store_code = 'ec' THEN 'EC' ELSE 'レジ' END ELSE department END
               || ' ' || doc_id
               || CASE WHEN doc_kind = 'cancel' OR (doc_kind = 'payment_fee' AND reason = 'cancel')
                       THEN ' 取消' ELSE '' END AS doc_label
    FROM n WHERE doc_kind IN ('sale', 'cancel', 'payment_fee')
),
-- A payment type the configuration does not map may be decided by a rule taught in review (key_kind
-- 'tender', acctsync review set-account --remember); it never touches an entry posted before it existed.
-- Its lines keep the type's name in their description, so forgetting the rule changes only accounts.
tenders AS (
    SELECT DISTINCT o.entry_id, o.tender, o.tender_name,
           CASE WHEN o.tender = 'custom' THEN coalesce(ct.account, pt.account) ELSE coalesce(pt.account, lr.account) END
               AS account,
           CASE WHEN o.tender = 'custom'
                THEN coalesce(ct.sub_account, nullif(pt.sub_account, ''), o.tender_name)
                WHEN pt.type IS NULL THEN lr.sub_account
                ELSE pt.sub_account END AS sub_account,
           CASE WHEN o.tender = 'custom' AND ct.name IS NOT NULL THEN 'custom_tender:' || o.tender_name
                WHEN lr.rule_id IS NOT NULL THEN 'learned:' || lr.rule_id
                ELSE 'payment_type:' || o.tender END AS rule
    FROM order_rows o
    LEFT JOIN cfg_stores_payment_types pt ON pt.type = o.tender
    LEFT JOIN cfg_stores_custom_tenders ct ON o.tender = 'custom' AND ct.name = o.tender_name
    LEFT JOIN ledger.learned_rules lr
      ON pt.type IS NULL AND o.tender <> 'custom' AND lr.source = 'stores' AND lr.key_kind = 'tender'
     AND lr.key_value = o.tender AND ops.learned_rule_applies(o.entry_id, lr.created_at)
    WHERE o.tender IS NOT NULL
),
-- The debit side of a sale (credit of its cancellation): what each tender owes.
tender_lines AS (
    SELECT o.entry_id, o.store_code, o.department, o.doc_id AS source_ref, o.revision,
           'debit' AS side,
           CASE WHEN o.tender = '(unmatched)'
                THEN CASE WHEN sum(o.amount) > 0 THEN (SELECT suspense_paid FROM acct)
                          ELSE (SELECT suspense_received FROM acct) END
                ELSE coalesce(t.account, (SELECT receivable FROM acct)) END AS account,
           CASE WHEN o.tender = '(unmatched)' THEN '' ELSE coalesce(t.sub_account, o.tender) END AS sub_account,
           'out_of_scope' AS tax_category,
           sum(o.amount) AS signed_amount, 0::BIGINT AS signed_tax,
           any_value(o.doc_label) || ' ' || CASE WHEN o.tender = '(unmatched)' THEN '決済と売上の差額'
                                                 WHEN t.rule LIKE 'learned:%' THEN o.tender
                                                 ELSE coalesce(nullif(t.sub_account, ''), t.account, o.tender) END AS description,
           CASE WHEN o.tender = '(unmatched)' THEN 'unmatched' ELSE t.rule END AS rule,
           CASE WHEN o.tender <> '(unmatched)' AND t.account IS NULL THEN 0.0 ELSE 1.0 END AS confidence,
           CASE WHEN o.tender = '(unmatched)'
                THEN 'payments and refunds differ from the order''s sales and cancellations by ' || sum(o.amount) || ' yen'
                WHEN t.account IS NULL
                THEN 'payment type ''' || o.tender || ''' has no account (sources.stores.payment_types)' END AS review_reason
    FROM order_rows o
    LEFT JOIN tenders t
      ON t.entry_id = o.entry_id AND t.tender = o.tender AND t.tender_name IS NOT DISTINCT FROM o.tender_name
    WHERE o.doc_kind IN ('sale', 'cancel')
    GROUP BY o.entry_id, o.store_code, o.department, o.doc_id, o.revision, o.tender, o.tender_name,
             t.account, t.sub_account, t.rule
),
revenue_lines AS (
    SELECT o.entry_id, o.store_code, o.department, o.doc_id, o.revision,
           'credit' AS side, (SELECT account FROM bk WHERE key = 'sales') AS account, '' AS sub_account,
           r.sales AS tax_category, sum(o.amount) AS signed_amount,
           coalesce(any_value(x.tax_amount), ops.inner_tax(sum(o.amount), o.tax_rate, $rounding)) AS signed_tax,
           any_value(o.doc_label) || ' 売上 ' || o.tax_rate || '%' AS description,
           'sales_rate:' || o.tax_rate AS rule, 1.0 AS confidence, NULL AS review_reason
    FROM order_rows o
    JOIN cfg_tax_rates r ON r.rate = o.tax_rate
    LEFT JOIN staging.stores_output_tax x
      ON x.business_date = o.business_date AND x.doc_id = o.doc_id AND x.event = o.event AND x.tax_rate = o.tax_rate
    WHERE o.doc_kind IN ('sale', 'cancel')
    GROUP BY o.entry_id, o.store_code, o.department, o.doc_id, o.revision, o.tax_rate, r.sales
),
fee_lines AS (
    SELECT o.entry_id, o.store_code, o.department, o.doc_id, o.revision,
           'debit' AS side, f.account, f.sub_account, f.tax_category,
           sum(o.amount) AS signed_amount, NULL::BIGINT AS signed_tax,
           any_value(o.doc_label) || ' 決済手数料' AS description, 'payment_fee' AS rule, 1.0 AS confidence,
           NULL AS review_reason
    FROM order_rows o CROSS JOIN (SELECT * FROM bk WHERE key = 'payment_fee') f
    WHERE o.doc_kind = 'payment_fee'
    GROUP BY o.entry_id, o.store_code, o.department, o.doc_id, o.revision, o.tender, o.tender_name,
             f.account, f.sub_account, f.tax_category
    UNION ALL
    SELECT o.entry_id, o.store_code, o.department, o.doc_id, o.revision,
           'credit', coalesce(t.account, (SELECT receivable FROM acct)), coalesce(t.sub_account, o.tender),
           'out_of_scope', sum(o.amount), 0::BIGINT,
           any_value(o.doc_label) || ' 決済手数料 ' || CASE WHEN t.rule LIKE 'learned:%' THEN o.tender
                                                         ELSE coalesce(nullif(t.sub_account, ''), t.account, o.tender) END,
           CASE WHEN t.rule LIKE 'learned:%' THEN t.rule ELSE 'payment_fee' END,
           CASE WHEN t.account IS NULL THEN 0.0 ELSE 1.0 END,
           CASE WHEN t.account IS NULL
                THEN 'payment type ''' || o.tender || ''' has no account (sources.stores.payment_types)' END
    FROM order_rows o
    LEFT JOIN tenders t
      ON t.entry_id = o.entry_id AND t.tender = o.tender AND t.tender_name IS NOT DISTINCT FROM o.tender_name
    WHERE o.doc_kind = 'payment_fee'
    GROUP BY o.entry_id, o.store_code, o.department, o.doc_id, o.revision, o.tender, o.tender_name,
             t.account, t.sub_account, t.rule
),
payout_rows AS (
    SELECT n.*,
           CASE WHEN doc_kind = 'campaign_coupon' THEN 'stores:remittance:' || doc_id || ':campaign_coupon'
                ELSE 'stores:remittance:' || doc_id END AS entry_id,
           CASE reason
               WHEN 'transfer_amount' THEN 'bank'
               WHEN 'transfer_fee' THEN 'transfer_fee'
               WHEN 'speedcash_payment_fee' THEN 'speedcash_fee'
               WHEN 'chargeback_amount' THEN 'chargeback'
               WHEN 'deduction_amount' THEN 'deduction'
               WHEN 'taxable_deduction_amount' THEN 'taxable_deduction'
               WHEN 'non_taxable_deduction_amount' THEN 'non_taxable_deduction'
               WHEN 'receivable' THEN 'payout_receivable'
           END AS booking_key,
           CASE reason
               WHEN 'transfer_amount' THEN '振込金額'
               WHEN 'transfer_fee' THEN '振込手数料'
               WHEN 'speedcash_payment_fee' THEN 'スピードキャッシュ手数料'
               WHEN 'chargeback_amount' THEN 'チャージバック調整金'
               WHEN 'deduction_amount' THEN 'その他調整金'
               WHEN 'taxable_deduction_amount' THEN 'その他調整金(課税)'
               WHEN 'non_taxable_deduction_amount' THEN 'その他調整金(非課税)'
               WHEN 'receivable' THEN '売掛金消込(売上 − 決済手数料)'
               WHEN 'campaign_coupon_fee' THEN 'STORES負担クーポン'
           END AS label
    FROM n WHERE doc_kind IN ('payout', 'campaign_coupon')
),
payout_lines AS (
    SELECT p.entry_id, p.store_code, p.department, p.doc_id, p.revision,
           CASE WHEN p.reason = 'receivable' THEN 'credit' ELSE 'debit' END AS side,
           b.account, b.sub_account, b.tax_category, p.amount AS signed_amount, NULL::BIGINT AS signed_tax,
           'STORES入金 ' || strftime(p.business_date, '%Y-%m-%d') || ' ' || p.label AS description,
           'payout:' || p.reason AS rule,
           CASE WHEN p.reason = 'deduction_amount' THEN 0.5 ELSE 1.0 END AS confidence,
           CASE WHEN p.reason = 'deduction_amount'
                THEN 'deduction_amount ' || p.amount || ' has no fee_detail breakdown: its tax category is unknown' END
               AS review_reason
    FROM payout_rows p JOIN bk b ON b.key = p.booking_key
    WHERE p.doc_kind = 'payout'
    UNION ALL
    -- STORES負担クーポン: paid separately from the sales transfer
    SELECT p.entry_id, p.store_code, p.department, p.doc_id, p.revision, 'debit', b.account, b.sub_account,
           b.tax_category, p.amount, 0::BIGINT,
           'STORES入金 ' || strftime(p.business_date, '%Y-%m-%d') || ' ' || p.label, 'payout:campaign_coupon',
           1.0, NULL
    FROM payout_rows p JOIN bk b ON b.key = 'bank'
    WHERE p.doc_kind = 'campaign_coupon'
    UNION ALL
    SELECT p.entry_id, p.store_code, p.department, p.doc_id, p.revision, 'credit', b.account, b.sub_account,
           b.tax_category, p.amount, NULL::BIGINT,
           'STORES入金 ' || strftime(p.business_date, '%Y-%m-%d') || ' ' || p.label, 'payout:campaign_coupon',
           1.0, NULL
    FROM payout_rows p JOIN bk b ON b.key = 'campaign_coupon'
    WHERE p.doc_kind = 'campaign_coupon'
),
signed AS (
    SELECT * FROM tender_lines UNION ALL SELECT * FROM revenue_lines
    UNION ALL SELECT * FROM fee_lines UNION ALL SELECT * FROM payout_lines
),
lines AS (
    SELECT entry_id, store_code, department, source_ref, revision,
           CASE WHEN signed_amount < 0 THEN CASE side WHEN 'debit' THEN 'credit' ELSE 'debit' END ELSE side END AS side,
           account, sub_account, tax_category, abs(signed_amount) AS amount, abs(signed_tax) AS given_tax,
           description, rule, confidence,
           CASE WHEN review_reason IS NOT NULL THEN review_reason
                WHEN account IN (SELECT account FROM cfg_suspense) THEN 'suspense account ' || account END AS review_reason
    FROM signed WHERE signed_amount <> 0
),
-- Lines without a given tax: tax once per (entry, side, category), spread over its lines, the largest
-- line taking the rounding difference.
taxed AS (
    SELECT l.*,
           ops.inner_tax(sum(l.amount) OVER w, r.rate, $rounding) AS group_tax,
           ops.inner_tax(l.amount, r.rate, $rounding) AS own_tax,
           row_number() OVER (PARTITION BY l.entry_id, l.side, l.tax_category, l.given_tax IS NULL
                              ORDER BY l.amount DESC, l.description) AS size_rank
    FROM lines l
    LEFT JOIN (SELECT tax_category, max(rate) AS rate FROM (
                   SELECT sales AS tax_category, rate FROM cfg_tax_rates
                   UNION ALL SELECT purchase, rate FROM cfg_tax_rates) GROUP BY tax_category) r
      ON r.tax_category = l.tax_category
    WINDOW w AS (PARTITION BY l.entry_id, l.side, l.tax_category, l.given_tax IS NULL)
),
finished AS (
    SELECT *,
           coalesce(given_tax,
                    own_tax + CASE WHEN size_rank = 1
                                   THEN group_tax - sum(own_tax) OVER (PARTITION BY entry_id, side, tax_category,
                                                                                    given_tax IS NULL)
                                   ELSE 0 END) AS tax_amount
    FROM taxed
),
-- the entry's business day: an order event's is part of its id, a remittance is booked on one day
entry_day AS (
    SELECT DISTINCT entry_id, business_date FROM (SELECT entry_id, business_date FROM order_rows
                                                 UNION ALL SELECT entry_id, business_date FROM payout_rows)
),
numbered AS (
    SELECT *, row_number() OVER (PARTITION BY entry_id
                                 ORDER BY side DESC, account, sub_account, tax_category, description)::INTEGER AS line_no
    FROM finished
)
SELECT entry_id, line_no, 'stores' AS source, d.business_date, side, account, sub_account,
       coalesce(department, '') AS department, tax_category, amount, tax_amount, description, source_ref, rule,
       confidence,
       CASE WHEN bool_or(review_reason IS NOT NULL) OVER (PARTITION BY entry_id) THEN 'needs_review' ELSE 'ready' END,
       review_reason, false AS qualified_invoice, store_code, revision,
       md5(string_agg(concat_ws('|', line_no, side, account, sub_account, department, tax_category, amount, tax_amount, description),
                      '\n' ORDER BY line_no) OVER (PARTITION BY entry_id)) AS content_hash
FROM numbered JOIN entry_day d USING (entry_id)
