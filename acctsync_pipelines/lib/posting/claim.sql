-- Claim the pending actions (temp table pending_actions, with their business_date) for $target, each
-- day's as its batch (temp table claim_batches: business_date, batch_id, target_ref): the posting log
-- rows and the lines exactly as they will be sent. Reversals copy the lines of the version that was
-- posted (pending_actions.reverses_seq), sides swapped. A batch's lines, and the lines a reversal copies,
-- are on the batch's day (a reversal is claimed on the day of the post it takes back), so every read of the
-- log is limited to the window's days. Parameters (named): target, source, days, first_day, last_day.
INSERT INTO ledger.postings
SELECT $target, $source, a.business_date, a.entry_id, a.action, a.content_hash, b.batch_id, now(), b.target_ref,
       a.action_seq
FROM pending_actions a JOIN claim_batches b USING (business_date);

INSERT INTO ledger.posted_lines
SELECT $target, b.batch_id, a.entry_id, 'post', a.action_seq, l.source, l.business_date, l.line_no, l.account,
       l.sub_account, l.department, l.side, l.amount, l.tax_category, l.tax_amount, l.description, l.source_ref,
       l.qualified_invoice, l.rule_is_guess
FROM pending_actions a
JOIN claim_batches b USING (business_date)
JOIN (SELECT *, (confidence < 1.0 OR review_status = 'needs_review') AS rule_is_guess
      FROM ledger.journal_entry_lines
      WHERE source = $source AND business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, business_date)) l USING (business_date, entry_id)
WHERE a.action = 'post';

INSERT INTO ledger.posted_lines
SELECT $target, b.batch_id, a.entry_id, 'reverse', a.action_seq, pl.source, pl.business_date, pl.line_no, pl.account,
       pl.sub_account, pl.department, CASE pl.side WHEN 'debit' THEN 'credit' ELSE 'debit' END, pl.amount,
       pl.tax_category, pl.tax_amount, '取消: ' || pl.description, pl.source_ref, pl.qualified_invoice, pl.guessed
FROM pending_actions a
JOIN claim_batches b USING (business_date)
JOIN ledger.posted_lines pl
  ON pl.target = $target AND pl.entry_id = a.entry_id AND pl.action_seq = a.reverses_seq
 AND pl.source = $source AND pl.business_date = a.business_date
 AND pl.business_date BETWEEN $first_day AND $last_day AND list_contains($days, pl.business_date)
WHERE a.action = 'reverse';

INSERT INTO ledger.posting_batches
SELECT $target, b.batch_id, $source, b.business_date, now(), b.target_ref,
       (SELECT count(*) FROM pending_actions a WHERE a.business_date = b.business_date),
       coalesce(n.lines, 0)
FROM claim_batches b
LEFT JOIN (SELECT batch_id, count(*) AS lines FROM ledger.posted_lines
           WHERE target = $target AND source = $source AND business_date BETWEEN $first_day AND $last_day
             AND list_contains($days, business_date)
           GROUP BY batch_id) n USING (batch_id)
ORDER BY b.business_date;
