-- Claimed batches ($target, each of $batch_ids) as 弥生インポート形式 rows (25 columns, in order), each with
-- its batch_id and its sort key (entry_id, action_seq, row_no). A batch's lines are on its business day, so
-- only the days $first_day..$last_day of the batches are read (zone maps). description and memo have every run of
-- whitespace ($spaces: a regex class of what Python's str.split() splits on) made one space, and none at
-- either end; yayoi_csv.sql cuts them to their byte limits and renders the CSV text.
-- An entry action of one debit and one credit line of equal amount is one row (flag 2000, タイプ 0);
-- any other entry is a 振替伝票 of one row per line (2110 first, 2100 middle, 2101 last, タイプ 3),
-- each row carrying one side and leaving the other blank (対象外, 0).
WITH lines AS (
    SELECT pl.*,
           count(*) OVER w AS line_count,
           row_number() OVER (w ORDER BY pl.line_no) AS row_in_entry,
           bool_or(pl.guessed) OVER w AS entry_guessed
    FROM ledger.posted_lines pl
    WHERE pl.target = $target AND pl.business_date BETWEEN $first_day AND $last_day
      AND list_contains($batch_ids, pl.batch_id)
    WINDOW w AS (PARTITION BY pl.batch_id, pl.entry_id, pl.action_seq)
),
taxed AS (
    SELECT l.*,
           coalesce(t.tax_string, l.tax_category)
             || CASE WHEN l.qualified_invoice AND l.tax_category LIKE 'purchase%' THEN $qualified_suffix ELSE '' END
             AS tax_string
    FROM lines l LEFT JOIN cfg_yayoi_tax t ON t.category = l.tax_category
),
pairs AS (
    -- simple entries: one row with both sides
    SELECT d.batch_id, d.entry_id, d.action_seq, 1 AS row_no, '2000' AS flag, d.business_date,
           d.account AS dr_account, d.sub_account AS dr_sub, d.department AS dr_dept, d.tax_string AS dr_tax,
           d.amount AS dr_amount, d.tax_amount AS dr_tax_amount,
           c.account AS cr_account, c.sub_account AS cr_sub, c.department AS cr_dept, c.tax_string AS cr_tax,
           c.amount AS cr_amount, c.tax_amount AS cr_tax_amount,
           d.description, '0' AS kind, d.entry_guessed, d.action
    FROM taxed d JOIN taxed c
      ON c.batch_id = d.batch_id AND c.entry_id = d.entry_id AND c.action_seq = d.action_seq AND c.side = 'credit'
    WHERE d.side = 'debit' AND d.line_count = 2 AND d.amount = c.amount
),
compound AS (
    SELECT l.batch_id, l.entry_id, l.action_seq, l.row_in_entry AS row_no,
           CASE WHEN l.row_in_entry = 1 THEN '2110' WHEN l.row_in_entry = l.line_count THEN '2101' ELSE '2100' END,
           l.business_date,
           CASE WHEN l.side = 'debit' THEN l.account ELSE '' END,
           CASE WHEN l.side = 'debit' THEN l.sub_account ELSE '' END,
           CASE WHEN l.side = 'debit' THEN l.department ELSE '' END,
           CASE WHEN l.side = 'debit' THEN l.tax_string ELSE $out_of_scope END,
           CASE WHEN l.side = 'debit' THEN l.amount ELSE 0 END,
           CASE WHEN l.side = 'debit' THEN l.tax_amount ELSE 0 END,
           CASE WHEN l.side = 'credit' THEN l.account ELSE '' END,
           CASE WHEN l.side = 'credit' THEN l.sub_account ELSE '' END,
           CASE WHEN l.side = 'credit' THEN l.department ELSE '' END,
           CASE WHEN l.side = 'credit' THEN l.tax_string ELSE $out_of_scope END,
           CASE WHEN l.side = 'credit' THEN l.amount ELSE 0 END,
           CASE WHEN l.side = 'credit' THEN l.tax_amount ELSE 0 END,
           l.description, '3', l.entry_guessed, l.action
    FROM taxed l
    WHERE NOT EXISTS (SELECT 1 FROM pairs p
                      WHERE p.batch_id = l.batch_id AND p.entry_id = l.entry_id AND p.action_seq = l.action_seq)
)
SELECT batch_id, entry_id, action_seq, row_no,
       flag, '' AS slip_no, '' AS settlement, strftime(business_date, '%Y/%m/%d') AS date,
       dr_account, dr_sub, dr_dept, dr_tax, dr_amount, dr_tax_amount,
       cr_account, cr_sub, cr_dept, cr_tax, cr_amount, cr_tax_amount,
       regexp_replace(regexp_replace(description, $spaces, ' ', 'g'), '^ | $', '', 'g') AS description,
       '' AS number, '' AS due, kind, '' AS origin,
       regexp_replace(regexp_replace('acctsync ' || entry_id || ' ' || action || '#' || action_seq, $spaces, ' ', 'g'),
                      '^ | $', '', 'g') AS memo,
       CASE WHEN entry_guessed THEN $sticky ELSE 0 END AS sticky1, 0 AS sticky2, 'no' AS adjustment
FROM (SELECT * FROM pairs UNION ALL SELECT * FROM compound)
