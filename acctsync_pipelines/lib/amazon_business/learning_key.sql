-- What correcting an Amazon Business line can teach (the review queue's set-account --remember):
-- an expense line teaches a rule keyed on its ASIN (or, without one, its title as a keyword);
-- instrument lines, the split-payment difference and lines a configured rule decided teach nothing.
-- Same contract as lib/review/learning_keys/<source>.sql: parameters $entry_id, $line_no;
-- one row: key_kind, key_value, key_label, cannot_learn (why not).
WITH line AS (
    SELECT * FROM ledger.journal_entry_lines WHERE entry_id = $entry_id AND line_no = $line_no
),
item AS (
    SELECT i.*
    FROM staging.amazon_business_lines i JOIN line l ON i.entry_id = l.entry_id
    WHERE l.rule NOT LIKE 'instrument:%' AND l.rule <> 'difference'
      AND l.description = 'Amazon ' || CASE WHEN i.transaction_type <> 'CHARGE' THEN '返金 ' ELSE '' END
                          || coalesce(i.title, i.asin, i.line_key)
    ORDER BY i.item_no
    LIMIT 1
)
SELECT CASE WHEN i.entry_id IS NOT NULL AND l.rule NOT LIKE 'config:%'
            THEN CASE WHEN i.asin IS NOT NULL THEN 'asin' ELSE 'title_keyword' END END AS key_kind,
       coalesce(i.asin, i.title) AS key_value,
       CASE WHEN i.asin IS NOT NULL THEN 'ASIN ' || i.asin || ' (' || coalesce(i.title, '') || ')'
            WHEN i.title IS NOT NULL THEN 'title ''' || i.title || '''' END AS key_label,
       CASE WHEN l.rule LIKE 'instrument:%'
                THEN 'its account comes from the configuration (sources.amazon_business.payment_instruments: '
                     || substr(l.rule, 12) || '); change it there'
            WHEN l.rule = 'difference'
                THEN 'it is the difference between the order''s payments and its items, not an account choice; '
                     || 'it goes when the missing part of the split payment arrives'
            WHEN l.rule LIKE 'config:%'
                THEN 'sources.amazon_business.rules has a rule for it (' || l.rule
                     || '), and configured rules come before learned ones; change that rule instead'
            WHEN i.entry_id IS NULL THEN 'its item is not in staging.amazon_business_lines (run its day again)'
       END AS cannot_learn
FROM line l LEFT JOIN item i ON true
