-- Claim the pending actions (temp table pending_actions) for $target as batch $batch_id: the
-- posting log rows and the lines exactly as they will be sent. Reversals copy the lines of the
-- version that was posted, sides swapped. Parameters: $target, $source, $day, $batch_id, $target_ref.
INSERT INTO ledger.postings
SELECT $target, $source, $day, entry_id, action, content_hash, $batch_id, now(), $target_ref, action_seq
FROM pending_actions;

INSERT INTO ledger.posted_lines
SELECT $target, $batch_id, a.entry_id, 'post', a.action_seq, l.source, l.business_date, l.line_no, l.account,
       l.sub_account, l.department, l.side, l.amount, l.tax_category, l.tax_amount, l.description, l.source_ref,
       l.qualified_invoice, l.rule_is_guess
FROM pending_actions a
JOIN (SELECT *, (confidence < 1.0 OR review_status = 'needs_review') AS rule_is_guess
      FROM ledger.journal_entry_lines WHERE source = $source AND business_date = $day) l USING (entry_id)
WHERE a.action = 'post';

INSERT INTO ledger.posted_lines
SELECT $target, $batch_id, a.entry_id, 'reverse', a.action_seq, pl.source, pl.business_date, pl.line_no, pl.account,
       pl.sub_account, pl.department, CASE pl.side WHEN 'debit' THEN 'credit' ELSE 'debit' END, pl.amount,
       pl.tax_category, pl.tax_amount, '取消: ' || pl.description, pl.source_ref, pl.qualified_invoice, pl.guessed
FROM pending_actions a
JOIN ledger.postings last_post
  ON last_post.target = $target AND last_post.entry_id = a.entry_id AND last_post.action = 'post'
 AND last_post.action_seq = (SELECT max(action_seq) FROM ledger.postings x
                             WHERE x.target = $target AND x.entry_id = a.entry_id AND x.action = 'post'
                               AND x.action_seq < a.action_seq)
JOIN ledger.posted_lines pl
  ON pl.target = $target AND pl.entry_id = a.entry_id AND pl.action_seq = last_post.action_seq
WHERE a.action = 'reverse';

INSERT INTO ledger.posting_batches
SELECT $target, $batch_id, $source, $day, now(), $target_ref,
       (SELECT count(*) FROM pending_actions),
       (SELECT count(*) FROM ledger.posted_lines WHERE target = $target AND batch_id = $batch_id);
