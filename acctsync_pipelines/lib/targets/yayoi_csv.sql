-- The CSV text of each batch in temp table yayoi_render (yayoi_rows.sql): the 25 fields of a row quoted
-- as Python's csv module does with QUOTE_MINIMAL (a field holding a comma, a double quote, CR or LF is
-- quoted, its quotes doubled), joined by commas, each row ended by CRLF, rows in entry order.
-- A description or memo that may be longer than its byte limit (yayoi_over_limit.sql) is replaced by its
-- cut ($description_from → $description_to, $memo_from → $memo_to: computed in Python, yayoi_csv.py).
WITH description_cuts AS (
    SELECT unnest($description_from::VARCHAR[]) AS text, unnest($description_to::VARCHAR[]) AS cut
),
memo_cuts AS (
    SELECT unnest($memo_from::VARCHAR[]) AS text, unnest($memo_to::VARCHAR[]) AS cut
),
fields AS (
    SELECT r.batch_id, r.entry_id, r.action_seq, r.row_no,
           [r.flag, r.slip_no, r.settlement, r.date, r.dr_account, r.dr_sub, r.dr_dept, r.dr_tax,
            r.dr_amount::VARCHAR, r.dr_tax_amount::VARCHAR, r.cr_account, r.cr_sub, r.cr_dept, r.cr_tax,
            r.cr_amount::VARCHAR, r.cr_tax_amount::VARCHAR, coalesce(d.cut, r.description), r.number, r.due,
            r.kind, r.origin, coalesce(m.cut, r.memo), r.sticky1::VARCHAR, r.sticky2::VARCHAR,
            r.adjustment] AS f
    FROM yayoi_render r
    LEFT JOIN description_cuts d ON d.text = r.description
    LEFT JOIN memo_cuts m ON m.text = r.memo
)
SELECT batch_id,
       string_agg(
           array_to_string(list_transform(f, lambda v: CASE
               WHEN v IS NULL THEN ''
               WHEN regexp_matches(v, '[,"\r\n]') THEN '"' || replace(v, '"', '""') || '"'
               ELSE v END), ',') || chr(13) || chr(10),
           '' ORDER BY entry_id, action_seq, row_no) AS text
FROM fields
GROUP BY batch_id
