-- What correcting an Amazon Business line can teach: an item's expense account, keyed on its ASIN or,
-- without one, on its whole title as the keyword (the source's journal.sql reads ledger.learned_rules of
-- kinds asin and title_keyword). Payment and difference lines are decided elsewhere.
-- Parameters: $entry_id, $line_no. One row: key_kind, key_value, key_label, cannot_learn (why not).
WITH line AS (
    SELECT * FROM ledger.journal_entry_lines WHERE entry_id = $entry_id AND line_no = $line_no
),
item AS (
    -- the item the expense line was booked from (its description and amount are the item's)
    SELECT nullif(trim(any_value(i.asin)), '') AS asin, nullif(trim(any_value(i.title)), '') AS title
    FROM staging.amazon_business_lines i JOIN line l
      ON i.entry_id = l.entry_id AND abs(i.amount) = l.amount
     AND 'Amazon ' || CASE WHEN i.transaction_type <> 'CHARGE' THEN '返金 ' ELSE '' END
         || coalesce(i.title, i.asin, i.line_key) = l.description
)
SELECT CASE WHEN i.asin IS NOT NULL THEN 'asin' WHEN i.title IS NOT NULL THEN 'title_keyword' END AS key_kind,
       coalesce(i.asin, i.title) AS key_value,
       CASE WHEN i.asin IS NOT NULL THEN 'ASIN ' || i.asin ELSE 'title ''' || i.title || '''' END AS key_label,
       CASE
           WHEN l.rule LIKE 'instrument:%' THEN
               'its account comes from the payment instrument; classify it in sources.amazon_business.payment_instruments'
           WHEN l.rule = 'difference' THEN
               'it holds the difference between payments and items, which goes away when the missing part arrives'
           WHEN l.rule LIKE 'config:%' THEN
               'your rule ' || l.rule || ' (sources.amazon_business.rules) decides it, and configured rules come '
               || 'before learned ones; change that rule instead'
           WHEN i.asin IS NULL AND i.title IS NULL THEN 'its item has neither an ASIN nor a title'
       END AS cannot_learn
FROM line l LEFT JOIN item i ON true
