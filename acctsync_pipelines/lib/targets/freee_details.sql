-- The freee documents for the post actions in temp table freee_actions(entry_id, action_seq):
-- one row per deal detail, deal payment or manual-journal line. Parameters: $target, $cash_account,
-- $receivable_account, $payable_account, $cash_item.
--
-- An entry is a deal when one side is all revenue (sales_*) or all expense (purchase_* / exempt) and
-- the other side only settles it: cash (a payment from the cash 口座) or the receivable / payable
-- account (left 未決済; freee books it to the account's corresponding 売掛金 / 未払金). A deal detail
-- carries the revenue or expense line's account and tax and the settling line's tender as 品目, so
-- each revenue line is split across the settling lines: both sides are laid end to end and a detail
-- is the overlap of a revenue interval and a settling interval, which keeps both totals to the yen.
-- Settling lines are laid in the order of the revenue line they name (the same last word of the
-- description, e.g. '10%'), then by line number: with USEN's per tender × rate lines each detail is
-- then exactly one tender at one rate; when nothing matches, only the attribution moves, not a total.
-- The tax of each revenue or expense line, computed once per rate per document, is split across its
-- details to the yen (largest remainder).
-- Everything else is a manual journal (振替伝票), line for line.
WITH lines AS (
    SELECT pl.*
    FROM ledger.posted_lines pl JOIN freee_actions a USING (entry_id, action_seq)
    WHERE pl.target = $target AND pl.action = 'post'
),
shape AS (
    SELECT entry_id, action_seq,
           CASE
               WHEN bool_and(CASE side WHEN 'credit' THEN tax_category LIKE 'sales%'
                                       ELSE account IN ($cash_account, $receivable_account) END)
                    AND bool_or(side = 'credit') THEN 'income'
               WHEN bool_and(CASE side WHEN 'debit' THEN tax_category LIKE 'purchase%' OR tax_category = 'exempt'
                                       ELSE account IN ($cash_account, $payable_account) END)
                    AND bool_or(side = 'debit') THEN 'expense'
           END AS deal_type
    FROM lines GROUP BY entry_id, action_seq
),
deal_lines AS (
    SELECT l.*, s.deal_type,
           (s.deal_type = 'income' AND l.side = 'credit') OR (s.deal_type = 'expense' AND l.side = 'debit') AS is_document
    FROM lines l JOIN shape s USING (entry_id, action_seq)
    WHERE s.deal_type IS NOT NULL
),
ordered AS (
    SELECT l.*,
           CASE WHEN l.is_document THEN l.line_no
                ELSE coalesce((SELECT min(d.line_no) FROM deal_lines d
                               WHERE d.entry_id = l.entry_id AND d.action_seq = l.action_seq AND d.is_document
                                 AND regexp_extract(d.description, '(\S+)$') = regexp_extract(l.description, '(\S+)$')),
                              2147483647) END AS lay_order
    FROM deal_lines l
),
intervals AS (
    SELECT *,
           sum(amount) OVER w - amount AS lo,
           sum(amount) OVER w AS hi
    FROM ordered
    WINDOW w AS (PARTITION BY entry_id, action_seq, is_document ORDER BY lay_order, line_no)
),
pieces AS (
    SELECT d.entry_id, d.action_seq, d.deal_type, d.line_no AS document_line, s.line_no AS settling_line,
           d.account, d.tax_category, d.department, d.amount AS document_amount, d.tax_amount AS document_tax,
           d.description, d.source_ref,
           s.account AS settling_account, s.sub_account AS settling_sub_account,
           least(d.hi, s.hi) - greatest(d.lo, s.lo) AS amount
    FROM intervals d JOIN intervals s
      ON s.entry_id = d.entry_id AND s.action_seq = d.action_seq AND NOT s.is_document
     AND least(d.hi, s.hi) > greatest(d.lo, s.lo)
    WHERE d.is_document
),
taxed AS (
    SELECT *,
           (document_tax * amount) // document_amount AS base_vat,
           (document_tax * amount) % document_amount AS remainder,
           document_tax - sum((document_tax * amount) // document_amount)
               OVER (PARTITION BY entry_id, action_seq, document_line) AS short,
           row_number() OVER (PARTITION BY entry_id, action_seq, document_line
                              ORDER BY (document_tax * amount) % document_amount DESC, settling_line) AS rank
    FROM pieces
)
SELECT entry_id, action_seq, 'deal' AS kind, deal_type, 'detail' AS row_kind,
       row_number() OVER (PARTITION BY entry_id, action_seq ORDER BY document_line, settling_line) AS row_no,
       CASE deal_type WHEN 'income' THEN 'credit' ELSE 'debit' END AS entry_side,
       account, tax_category, amount, base_vat + CASE WHEN rank <= short THEN 1 ELSE 0 END AS vat,
       department,
       item_name,
       description || coalesce(' ' || item_name, '') || ' [' || source_ref || ']' AS description
FROM (SELECT *,
             -- the tender of a sale; the sub-account of a payable (a cash purchase carries none)
             CASE WHEN deal_type = 'income' AND settling_account = $cash_account THEN $cash_item
                  ELSE nullif(settling_sub_account, '') END AS item_name
      FROM taxed)
UNION ALL
-- the cash part of a deal, settled at once
SELECT entry_id, action_seq, 'deal', any_value(deal_type), 'payment', 1, NULL, NULL, NULL, sum(amount), 0, NULL, NULL, NULL
FROM deal_lines
WHERE NOT is_document AND account = $cash_account
GROUP BY entry_id, action_seq
UNION ALL
SELECT l.entry_id, l.action_seq, 'manual_journal', NULL, 'detail', l.line_no, l.side, l.account, l.tax_category,
       l.amount, l.tax_amount, l.department, nullif(l.sub_account, ''),
       l.description || ' [' || l.source_ref || ']'
FROM lines l JOIN shape s USING (entry_id, action_seq)
WHERE s.deal_type IS NULL
ORDER BY entry_id, action_seq, row_kind, row_no
