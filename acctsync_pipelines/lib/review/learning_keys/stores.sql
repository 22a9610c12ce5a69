-- What correcting a STORES line can teach (review set-account --remember): the tender side of a sale, a
-- cancellation or a payment fee paid with a payment type sources.stores.payment_types does not map
-- teaches a rule keyed on the payment type (key_kind 'tender'; the source's journal.sql reads it). Every
-- other line's account is fixed by the configuration, which a learned rule never overrides.
-- Needs cfg_stores_payment_types. Parameters: $entry_id, $line_no.
-- One row: key_kind, key_value, key_label, cannot_learn (why not).
WITH line AS (
    -- a line a person corrected is judged by the rule that had decided it
    SELECT l.entry_id, l.line_no, l.business_date, l.source_ref, l.description,
           coalesce((SELECT arg_max(o.guessed_rule, o.set_at) FROM ledger.review_overrides o
                     WHERE o.entry_id = l.entry_id AND o.line_no = l.line_no AND o.rule = l.rule), l.rule) AS rule
    FROM ledger.journal_entry_lines l WHERE l.entry_id = $entry_id AND l.line_no = $line_no
),
-- the line was decided by a tender rule already: teaching again replaces that rule
relearned AS (
    SELECT r.key_value AS tender
    FROM ledger.learned_rules r JOIN line l ON l.rule = 'learned:' || r.rule_id
    WHERE r.source = 'stores' AND r.key_kind = 'tender'
),
-- the order's payment types the configuration does not map, which the line was booked for: the tender
-- line of a sale or cancellation names it in its rule, the payment fee's tender line in its description
unmapped AS (
    SELECT DISTINCT n.tender
    FROM staging.normalized_transactions n JOIN line l
      ON n.source = 'stores' AND n.business_date = l.business_date AND n.doc_id = l.source_ref
     AND n.doc_kind IN ('sale', 'cancel', 'payment_fee')
    WHERE n.tender NOT IN ('custom', '(unmatched)')
      AND n.tender NOT IN (SELECT type FROM cfg_stores_payment_types)
      AND (l.rule = 'payment_type:' || n.tender
           OR (l.rule = 'payment_fee' AND ends_with(l.description, ' 決済手数料 ' || n.tender)))
),
picked AS (
    SELECT min(tender) AS tender, count(*) AS tenders
    FROM (SELECT tender FROM relearned UNION SELECT tender FROM unmapped)
)
SELECT CASE WHEN p.tenders = 1 THEN 'tender' END AS key_kind,
       CASE WHEN p.tenders = 1 THEN p.tender END AS key_value,
       CASE WHEN p.tenders = 1 THEN 'payment type ''' || p.tender || '''' END AS key_label,
       CASE
           WHEN p.tenders > 1 THEN 'it stands for several payment types at once'
           WHEN p.tenders = 1 THEN NULL
           WHEN l.rule = 'payment_type:custom' THEN
               'its account comes from the configuration (sources.stores.payment_types: custom, with the '
               || 'tender''s name as sub-account); map the name in sources.stores.custom_tenders instead'
           WHEN l.rule = 'unmatched' THEN
               'it holds the difference between the order''s payments and its sales, which goes away when the '
               || 'order''s data is complete'
           ELSE 'its account comes from the configuration ('
               || CASE WHEN l.rule LIKE 'payment_type:%' THEN 'sources.stores.payment_types: ' || substr(l.rule, 14)
                       WHEN l.rule LIKE 'custom_tender:%' THEN 'sources.stores.custom_tenders: ' || substr(l.rule, 15)
                       WHEN l.rule LIKE 'sales_rate:%' THEN 'sources.stores.accounts.sales'
                       WHEN l.rule = 'payment_fee' AND ends_with(l.description, ' 決済手数料')
                           THEN 'sources.stores.accounts.payment_fee'
                       WHEN l.rule = 'payment_fee' THEN 'sources.stores.payment_types'
                       WHEN l.rule LIKE 'payout:%' THEN 'sources.stores.accounts, by kind of remittance amount'
                       ELSE 'rule ' || l.rule END
               || '); change it there'
       END AS cannot_learn
FROM line l LEFT JOIN picked p ON true
