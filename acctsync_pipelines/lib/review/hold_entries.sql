-- Hold entries of one source-day for review after a non-blocking check failed: every line of them waits,
-- and the first line says why. Parameters: $source, $day, $all_entries (true: the whole day) or the
-- $entries named, $reason. Returns the number of lines updated.
UPDATE ledger.journal_entry_lines AS l
SET review_status = 'needs_review',
    review_reason = CASE WHEN l.line_no = f.first_line THEN coalesce(l.review_reason || '; ', '') || $reason
                         ELSE l.review_reason END
FROM (SELECT entry_id, min(line_no) AS first_line FROM ledger.journal_entry_lines
      WHERE source = $source AND business_date = $day
        AND ($all_entries OR list_contains($entries::VARCHAR[], entry_id))
      GROUP BY entry_id) AS f
WHERE l.entry_id = f.entry_id
