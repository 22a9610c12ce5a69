-- USEN Reji → staging.normalized_transactions for a window of business days ($days, $first_day, $last_day;
-- one day is a window of one), from each store's truth bundle of each day.
-- Raw rows are read through their business_date too, so zone maps skip the rest of the year.
-- Sales: one row per (slip, tender, tax rate). A slip that mixes rates and tenders has its tenders
-- allocated across rates by largest remainder, so tender totals and rate totals both match to the yen.
INSERT INTO staging.normalized_transactions
WITH truth AS (
    SELECT b.bundle_id, b.business_date, b.store_code, c.store_name
    FROM raw.usen_reji_bundles b JOIN raw.usen_reji_close c USING (bundle_id)
    WHERE b.business_date BETWEEN $first_day AND $last_day
        AND list_contains($days, b.business_date) AND b.is_truth
      AND c.business_date BETWEEN $first_day AND $last_day AND list_contains($days, c.business_date)
),
dept AS (
    SELECT t.*, coalesce(d.department, t.store_name, t.store_code) AS department
    FROM truth t LEFT JOIN cfg_usen_departments d USING (store_code)
),
slip_rates AS (
    SELECT s.bundle_id, s.slip_no, any_value(s.slip_kind) AS slip_kind,
           any_value(nullif(trim(s.original_slip_no), '')) AS original_slip_no,
           ops.to_int(s.tax_rate)::INTEGER AS tax_rate, sum(ops.to_int(s.amount)) AS rate_amount,
           any_value(s.source_file) AS source_file,
           string_agg(s.source_row::VARCHAR, ',' ORDER BY s.source_row) AS source_rows
    FROM raw.usen_reji_slips s JOIN truth USING (bundle_id)
    WHERE s.business_date BETWEEN $first_day AND $last_day AND list_contains($days, s.business_date)
    GROUP BY s.bundle_id, s.slip_no, ops.to_int(s.tax_rate)
),
ranked_rates AS (
    SELECT *, row_number() OVER (PARTITION BY bundle_id, slip_no ORDER BY tax_rate DESC) AS rate_rank,
           count(*) OVER (PARTITION BY bundle_id, slip_no) AS rate_count,
           sum(rate_amount) OVER (PARTITION BY bundle_id, slip_no) AS slip_total
    FROM slip_rates
),
slip_tenders AS (
    SELECT p.bundle_id, p.slip_no, p.tender, p.tender_name, sum(ops.to_int(p.amount)) AS tender_amount
    FROM raw.usen_reji_payments p JOIN truth USING (bundle_id)
    WHERE p.business_date BETWEEN $first_day AND $last_day AND list_contains($days, p.business_date)
    GROUP BY ALL
),
-- For every rate but the last: the tender's proportional share, rounded by largest remainder.
shares AS (
    SELECT r.bundle_id, r.slip_no, r.tax_rate, r.rate_amount, r.rate_rank, r.rate_count, t.tender, t.tender_name,
           t.tender_amount,
           CASE WHEN r.slip_total = 0 THEN 0::DOUBLE
                ELSE t.tender_amount::DOUBLE * r.rate_amount / r.slip_total END AS exact
    FROM ranked_rates r JOIN slip_tenders t USING (bundle_id, slip_no)
),
floored AS (
    SELECT *, trunc(exact)::BIGINT AS base, abs(exact - trunc(exact)) AS remainder FROM shares
),
leftover AS (
    SELECT *,
           rate_amount - sum(base) OVER (PARTITION BY bundle_id, slip_no, tax_rate) AS need,
           row_number() OVER (PARTITION BY bundle_id, slip_no, tax_rate ORDER BY remainder DESC, tender, tender_name) AS remainder_rank
    FROM floored
),
allocated AS (
    SELECT *, base + CASE WHEN remainder_rank <= abs(need) THEN sign(need) ELSE 0 END AS share
    FROM leftover
),
sales AS (
    SELECT a.bundle_id, a.slip_no, a.tax_rate, a.tender, a.tender_name,
           CASE WHEN a.rate_rank < a.rate_count THEN a.share
                ELSE a.tender_amount - coalesce(sum(a.share) FILTER (WHERE a.rate_rank < a.rate_count)
                                                 OVER (PARTITION BY a.bundle_id, a.slip_no, a.tender, a.tender_name), 0)
           END AS amount
    FROM allocated a
)
SELECT 'usen_reji' AS source, d.business_date, d.store_code, d.department,
       x.slip_no AS doc_id,
       CASE r.slip_kind WHEN '通常' THEN 'sale' WHEN '取消' THEN 'cancel' ELSE 'correction' END AS doc_kind,
       r.original_slip_no, x.tender, x.tender_name, x.tax_rate, x.amount,
       NULL AS reason, NULL AS description, x.bundle_id AS revision, r.source_file, r.source_rows
FROM sales x
JOIN slip_rates r USING (bundle_id, slip_no, tax_rate)
JOIN dept d USING (bundle_id)
WHERE x.amount <> 0
UNION ALL
SELECT 'usen_reji', d.business_date, d.store_code, d.department, m.movement_no,
       CASE m.direction WHEN '入金' THEN 'cash_in' ELSE 'cash_out' END,
       NULL, NULL, NULL, NULL, ops.to_int(m.amount), trim(m.reason), m.memo, m.bundle_id, m.source_file,
       m.source_row::VARCHAR
FROM raw.usen_reji_cash_movements m JOIN dept d USING (bundle_id)
WHERE m.business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, m.business_date) AND ops.to_int(m.amount) <> 0
UNION ALL
SELECT 'usen_reji', d.business_date, d.store_code, d.department, c.bundle_id, 'over_short',
       NULL, NULL, NULL, NULL, ops.to_int(c.counted_cash) - ops.to_int(c.expected_cash), NULL, NULL,
       c.bundle_id, c.source_file, c.source_row::VARCHAR
FROM raw.usen_reji_close c JOIN dept d USING (bundle_id)
WHERE c.business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, c.business_date) AND ops.to_int(c.counted_cash) <> ops.to_int(c.expected_cash)
