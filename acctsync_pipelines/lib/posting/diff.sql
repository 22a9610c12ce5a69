-- What to send to $target for one source and a window of days: each day's postable entries against the
-- net of what the posting log says is posted on that day. One row per action, in the order they are to
-- be claimed (a reversal with the action_seq of the post it takes back). Parameters: $target, $source, $days,
-- $first_day, $last_day (one day is a window of one).
WITH current AS (
    SELECT l.business_date, l.entry_id, any_value(l.content_hash) AS content_hash,
           bool_and(l.review_status = 'ready') OR bool_or(a.entry_id IS NOT NULL) AS postable
    FROM ledger.journal_entry_lines l
    LEFT JOIN ledger.review_approvals a USING (entry_id, content_hash)
    WHERE l.source = $source AND l.business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, l.business_date)
    GROUP BY l.business_date, l.entry_id
),
day_postings AS (
    -- What the log says of each entry posted on the window's days, from those days' rows (zone maps on
    -- business_date).
    SELECT business_date, entry_id,
           arg_max(content_hash, action_seq) FILTER (WHERE action = 'post') AS posted_hash,
           max(action_seq) FILTER (WHERE action = 'post') AS posted_seq,
           sum(CASE action WHEN 'post' THEN 1 ELSE -1 END) AS net_posts
    FROM ledger.postings
    WHERE target = $target AND source = $source AND business_date BETWEEN $first_day AND $last_day
      AND list_contains($days, business_date)
    GROUP BY business_date, entry_id
),
posted AS (
    SELECT business_date, entry_id, posted_hash, posted_seq FROM day_postings WHERE net_posts > 0
),
actions AS (
    -- vanished, or changed and the new version may be posted: reverse what is posted
    SELECT p.business_date, p.entry_id, 'reverse' AS action, p.posted_hash AS content_hash, p.posted_seq, 1 AS step
    FROM posted p LEFT JOIN current c USING (business_date, entry_id)
    WHERE c.entry_id IS NULL OR (c.content_hash <> p.posted_hash AND c.postable)
    UNION ALL
    -- new, or changed: post the current version
    SELECT c.business_date, c.entry_id, 'post', c.content_hash, NULL, 2
    FROM current c LEFT JOIN posted p USING (business_date, entry_id)
    WHERE c.postable AND (p.entry_id IS NULL OR p.posted_hash <> c.content_hash)
),
history AS (
    -- An entry's actions are numbered across all days (the log's key is target, entry_id, action_seq): an
    -- entry whose source moves it to another day (a STORES remittance with a new transfer date) goes on
    -- numbering there. Where it is still posted on a day outside the window, it cannot be posted again
    -- before that day takes it back (posted_elsewhere: posting.py refuses the day, naming it).
    SELECT entry_id, max(action_seq) AS last_seq,
           min(business_date) FILTER (WHERE net_posts > 0 AND NOT list_contains($days, business_date))
               AS posted_elsewhere
    FROM (SELECT entry_id, business_date, max(action_seq) AS action_seq,
                 sum(CASE action WHEN 'post' THEN 1 ELSE -1 END) AS net_posts
          FROM ledger.postings
          WHERE target = $target AND source = $source AND entry_id IN (SELECT entry_id FROM actions)
          GROUP BY entry_id, business_date)
    GROUP BY entry_id
)
SELECT a.business_date, a.entry_id, a.action, a.content_hash,
       (coalesce(h.last_seq, 0)
        + row_number() OVER (PARTITION BY a.entry_id ORDER BY a.step, a.business_date))::INTEGER AS action_seq,
       a.posted_seq AS reverses_seq,
       CASE a.action WHEN 'post' THEN h.posted_elsewhere END AS posted_elsewhere
FROM actions a LEFT JOIN history h USING (entry_id)
ORDER BY a.business_date, a.entry_id, a.step
