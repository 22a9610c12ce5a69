-- Re-apply people's corrections (ledger.review_overrides) to one source-day's journal, right after the
-- source rebuilt it from the facts, in the same transaction. A correction applies to the version of the
-- entry it was made on (base_hash = the content hash the source computed). The corrected line is decided
-- by a person: confidence 1 and no review reason; its entry waits only while another line still waits.
-- Needs cfg_tax_rates. Parameters: source, day, rounding (written $name below).
CREATE OR REPLACE TEMP TABLE review_override_hits AS
SELECT o.entry_id, o.line_no, o.account, o.sub_account, o.tax_category, o.rule,
       (SELECT min(t.rate) FROM cfg_tax_rates t
        WHERE o.tax_category IN (t.sales, t.purchase) AND o.tax_category <> 'out_of_scope') AS tax_rate
FROM ledger.review_overrides o
JOIN ledger.journal_entry_lines l USING (entry_id, line_no)
WHERE l.source = $source AND l.business_date = $day AND l.content_hash = o.base_hash;

-- A changed tax category is taxed on the line itself (the line is the document for a single movement);
-- an unchanged one keeps the tax the source computed once per rate per document.
UPDATE ledger.journal_entry_lines AS l
SET account = h.account, sub_account = h.sub_account, tax_category = h.tax_category,
    tax_amount = CASE WHEN h.tax_category = l.tax_category THEN l.tax_amount
                      ELSE abs(ops.inner_tax(l.amount, h.tax_rate, $rounding)) END,
    rule = h.rule, confidence = 1.0, review_reason = NULL
FROM review_override_hits h
WHERE l.entry_id = h.entry_id AND l.line_no = h.line_no;

UPDATE ledger.journal_entry_lines AS l
SET review_status = e.review_status, content_hash = e.content_hash
FROM (SELECT entry_id,
             CASE WHEN bool_or(review_reason IS NOT NULL) THEN 'needs_review' ELSE 'ready' END AS review_status,
             ops.entry_content_hash(line_no, side, account, sub_account, department, tax_category, amount,
                                    tax_amount, description, qualified_invoice) AS content_hash
      FROM ledger.journal_entry_lines
      WHERE entry_id IN (SELECT entry_id FROM review_override_hits)
      GROUP BY entry_id) AS e
WHERE l.entry_id = e.entry_id;
