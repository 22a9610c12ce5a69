-- What correcting an Amazon Business line can teach (the source's journal.sql reads ledger.learned_rules):
-- an item's expense account, keyed on its ASIN or, without one, on its whole title as the keyword; a
-- payment in an instrument no class of sources.amazon_business.payment_instruments matches, keyed on its
-- trimmed paymentInstrumentType (key_kind 'tender'). Configured instruments and the difference line are
-- decided elsewhere. Parameters: $entry_id, $line_no. One row: key_kind, key_value, key_label, cannot_learn.
WITH line AS (
    -- a line a person corrected is judged by the rule that had decided it
    SELECT l.*,
           coalesce((SELECT arg_max(o.guessed_rule, o.set_at) FROM ledger.review_overrides o
                     WHERE o.entry_id = l.entry_id AND o.line_no = l.line_no AND o.rule = l.rule), l.rule) AS decided_by
    FROM ledger.journal_entry_lines l WHERE l.entry_id = $entry_id AND l.line_no = $line_no
),
item AS (
    -- the item the expense line was booked from (its description and amount are the item's)
    SELECT nullif(trim(any_value(i.asin)), '') AS asin, nullif(trim(any_value(i.title)), '') AS title
    FROM staging.amazon_business_lines i JOIN line l
      ON i.entry_id = l.entry_id AND abs(i.amount) = l.amount
     AND 'Amazon ' || CASE WHEN i.transaction_type <> 'CHARGE' THEN '返金 ' ELSE '' END
         || coalesce(i.title, i.asin, i.line_key) = l.description
),
-- the unclassified instruments the payment line was booked for: those no learned rule decides, or the
-- one whose learned rule decided it
instrument AS (
    SELECT min(name) AS name, count(*) AS names
    FROM (SELECT DISTINCT trim(coalesce(n.tender_name, '')) AS name
          FROM staging.normalized_transactions n JOIN line l
            ON n.source = 'amazon_business' AND n.business_date = l.business_date AND n.doc_id = l.source_ref
           AND 'amazon_business:' || n.doc_id || ':' || CASE n.doc_kind WHEN 'purchase' THEN 'charge' ELSE n.doc_kind END
               || ':' || strftime(n.business_date, '%Y-%m-%d') = l.entry_id
          LEFT JOIN ledger.learned_rules r
            ON r.source = 'amazon_business' AND r.key_kind = 'tender' AND r.key_value = trim(coalesce(n.tender_name, ''))
           AND ops.learned_rule_applies(l.entry_id, r.created_at)
          WHERE n.tender = 'unknown'
            AND ((l.decided_by = 'instrument:unknown' AND r.rule_id IS NULL) OR l.decided_by = 'learned:' || r.rule_id))
),
learned_kind AS (
    SELECT any_value(r.key_kind) AS kind FROM ledger.learned_rules r JOIN line l ON l.decided_by = 'learned:' || r.rule_id
)
SELECT CASE WHEN m.names = 1 AND m.name <> '' THEN 'tender'
            WHEN m.names = 0 AND i.asin IS NOT NULL THEN 'asin'
            WHEN m.names = 0 AND i.title IS NOT NULL THEN 'title_keyword' END AS key_kind,
       CASE WHEN m.names >= 1 THEN m.name ELSE coalesce(i.asin, i.title) END AS key_value,
       CASE WHEN m.names >= 1 THEN 'payment instrument ''' || m.name || ''''
            WHEN i.asin IS NOT NULL THEN 'ASIN ' || i.asin ELSE 'title ''' || i.title || '''' END AS key_label,
       CASE
           WHEN m.names > 1 THEN 'it stands for several unclassified payment instruments at once'
           WHEN m.names = 1 AND m.name = '' THEN 'its payment instrument has no name'
           WHEN m.names = 1 THEN NULL
           WHEN l.decided_by LIKE 'instrument:%' OR k.kind = 'tender' THEN
               'its account comes from the payment instrument; classify it in sources.amazon_business.payment_instruments'
           WHEN l.decided_by = 'difference' THEN
               'it holds the difference between payments and items, which goes away when the missing part arrives'
           WHEN l.decided_by LIKE 'config:%' THEN
               'your rule ' || l.decided_by || ' (sources.amazon_business.rules) decides it, and configured rules come '
               || 'before learned ones; change that rule instead'
           WHEN i.asin IS NULL AND i.title IS NULL THEN 'its item has neither an ASIN nor a title'
       END AS cannot_learn
FROM line l LEFT JOIN item i ON true LEFT JOIN instrument m ON true LEFT JOIN learned_kind k ON true
