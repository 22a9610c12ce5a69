-- For the settlement entries in $entries: the sale entries whose receivables they clear, how much of
-- each, and each sale entry's live document at freee (posted with target $deals_target). A store-day
-- booked as several entries (per_slip) is split across them in entry order, each up to its receivable.
-- Parameters: $entries, $receivable_account, $deals_target.
WITH allocated AS (
    SELECT entry_id AS settlement_entry, source, sub_account, store_code, department, sale_date, amount
    FROM ledger.settlement_allocations
    WHERE list_contains($entries, entry_id)
),
receivables AS (
    SELECT a.settlement_entry, a.source, a.sub_account, a.store_code, a.department, a.sale_date,
           a.amount AS allocated, l.entry_id AS sale_entry,
           sum(CASE l.side WHEN 'debit' THEN l.amount ELSE -l.amount END) AS receivable
    FROM allocated a
    JOIN ledger.journal_entry_lines l
      ON l.source = a.source AND l.business_date = a.sale_date AND l.account = $receivable_account
     AND l.sub_account = a.sub_account AND coalesce(l.store_code, '') = a.store_code AND l.department = a.department
    GROUP BY ALL
),
ordered AS (
    SELECT *,
           sum(receivable) OVER (item ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative,
           row_number() OVER item AS nth
    FROM receivables
    WINDOW item AS (PARTITION BY settlement_entry, source, sub_account, store_code, department, sale_date
                    ORDER BY sale_entry)
),
shares AS (
    SELECT settlement_entry, sale_entry, sale_date,
           CASE WHEN allocated < 0 THEN CASE WHEN nth = 1 THEN allocated ELSE 0 END
                ELSE greatest(0, least(receivable, allocated - (cumulative - receivable))) END AS share
    FROM ordered
),
documents AS (
    SELECT entry_id,
           arg_max(document_kind, action_seq * 1000 + attempt) AS kind,
           arg_max(target_ref, action_seq * 1000 + attempt) AS ref,
           arg_max(operation, action_seq * 1000 + attempt) AS operation
    FROM ledger.posting_results
    WHERE target = $deals_target AND status = 'done'
    GROUP BY entry_id
)
SELECT s.settlement_entry, s.sale_entry, s.sale_date, sum(s.share)::BIGINT AS amount,
       CASE WHEN d.operation NOT LIKE 'delete%' THEN d.kind END AS kind,
       CASE WHEN d.operation NOT LIKE 'delete%' THEN d.ref END AS ref
FROM shares s LEFT JOIN documents d ON d.entry_id = s.sale_entry
WHERE s.share <> 0
GROUP BY s.settlement_entry, s.sale_entry, s.sale_date, d.operation, d.kind, d.ref
ORDER BY s.settlement_entry, s.sale_entry
