-- After posting a source's window of days ($source, $days, $first_day, $last_day) to $target: what the
-- posting log says is posted, net of reversals, against the journal. Compared per day, account,
-- sub-account and tax category over the entries whose posted state must equal the journal: every
-- postable entry of the day, and
-- every entry posted earlier that has since vanished (net zero). Entries waiting for review are
-- left out on both sides (an earlier posted version of one stays posted until it is approved).
WITH current_entries AS (
    SELECT l.entry_id,
           bool_and(l.review_status = 'ready') OR bool_or(a.entry_id IS NOT NULL) AS postable
    FROM ledger.journal_entry_lines l
    LEFT JOIN ledger.review_approvals a USING (entry_id, content_hash)
    WHERE l.source = $source AND l.business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, l.business_date)
    GROUP BY l.entry_id
),
logged AS (
    SELECT DISTINCT entry_id FROM ledger.postings
    WHERE target = $target AND source = $source AND business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
),
in_scope AS (
    SELECT entry_id FROM current_entries WHERE postable
    UNION
    SELECT entry_id FROM logged WHERE entry_id NOT IN (SELECT entry_id FROM current_entries)
),
journal AS (
    SELECT business_date, account, sub_account, tax_category,
           sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS net,
           sum(CASE side WHEN 'debit' THEN tax_amount ELSE -tax_amount END) AS tax_net
    FROM ledger.journal_entry_lines
    WHERE source = $source AND business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
      AND entry_id IN (SELECT entry_id FROM in_scope)
    GROUP BY ALL
),
posted AS (
    SELECT business_date, account, sub_account, tax_category,
           sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) AS net,
           sum(CASE side WHEN 'debit' THEN tax_amount ELSE -tax_amount END) AS tax_net
    FROM ledger.posted_lines
    WHERE target = $target AND source = $source AND business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date)
      AND entry_id IN (SELECT entry_id FROM in_scope)
    GROUP BY ALL
)
SELECT business_date, $target AS target, account, sub_account, tax_category,
       coalesce(j.net, 0) AS journal_net, coalesce(p.net, 0) AS posted_net,
       coalesce(j.tax_net, 0) AS journal_tax_net, coalesce(p.tax_net, 0) AS posted_tax_net
FROM journal j FULL JOIN posted p USING (business_date, account, sub_account, tax_category)
WHERE coalesce(j.net, 0) <> coalesce(p.net, 0) OR coalesce(j.tax_net, 0) <> coalesce(p.tax_net, 0)
ORDER BY business_date, account, sub_account, tax_category
