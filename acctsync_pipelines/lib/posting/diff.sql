-- What to send to $target for one source and day: the day's postable entries against the net of
-- what the posting log says is posted. One row per action, in the order they are to be claimed.
-- Parameters: $target, $source, $day.
WITH current AS (
    SELECT l.entry_id, any_value(l.content_hash) AS content_hash,
           bool_and(l.review_status = 'ready') OR bool_or(a.entry_id IS NOT NULL) AS postable
    FROM ledger.journal_entry_lines l
    LEFT JOIN ledger.review_approvals a USING (entry_id, content_hash)
    WHERE l.source = $source AND l.business_date = $day
    GROUP BY l.entry_id
),
posted AS (
    SELECT entry_id, posted_hash, last_seq
    FROM ledger.posted_state s
    WHERE s.target = $target AND s.net_posts > 0
      AND s.entry_id IN (SELECT entry_id FROM ledger.postings WHERE target = $target AND source = $source
                                                               AND business_date = $day)
),
last_seq AS (
    SELECT entry_id, max(action_seq) AS last_seq FROM ledger.postings
    WHERE target = $target AND source = $source AND business_date = $day GROUP BY entry_id
),
actions AS (
    -- vanished, or changed and the new version may be posted: reverse what is posted
    SELECT p.entry_id, 'reverse' AS action, p.posted_hash AS content_hash, 1 AS step
    FROM posted p LEFT JOIN current c USING (entry_id)
    WHERE c.entry_id IS NULL OR (c.content_hash <> p.posted_hash AND c.postable)
    UNION ALL
    -- new, or changed: post the current version
    SELECT c.entry_id, 'post', c.content_hash, 2
    FROM current c LEFT JOIN posted p USING (entry_id)
    WHERE c.postable AND (p.entry_id IS NULL OR p.posted_hash <> c.content_hash)
)
SELECT a.entry_id, a.action, a.content_hash,
       (coalesce(s.last_seq, 0) + row_number() OVER (PARTITION BY a.entry_id ORDER BY a.step))::INTEGER AS action_seq
FROM actions a LEFT JOIN last_seq s USING (entry_id)
ORDER BY a.entry_id, a.step
