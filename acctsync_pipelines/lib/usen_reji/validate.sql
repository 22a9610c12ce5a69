-- Problems in the window's truth bundles, one row each: file, row, column (acctsync's name), value, slip, problem.
-- Parameters: $days, $first_day, $last_day (one day is a window of one). Raw rows are read through their
-- business_date (zone maps skip other days' rows).
WITH truth AS (
    SELECT bundle_id, store_code, close_seq, folder FROM raw.usen_reji_bundles
    WHERE business_date BETWEEN $first_day AND $last_day AND list_contains($days, business_date) AND is_truth
),
c AS (SELECT r.* FROM raw.usen_reji_close r JOIN truth USING (bundle_id) WHERE r.business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, r.business_date)),
s AS (SELECT r.* FROM raw.usen_reji_slips r JOIN truth USING (bundle_id) WHERE r.business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, r.business_date)),
p AS (SELECT r.* FROM raw.usen_reji_payments r JOIN truth USING (bundle_id) WHERE r.business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, r.business_date)),
m AS (SELECT r.* FROM raw.usen_reji_cash_movements r JOIN truth USING (bundle_id) WHERE r.business_date BETWEEN $first_day AND $last_day
    AND list_contains($days, r.business_date)),
problems AS (
    SELECT c.source_file, c.source_row, 'business_date_text' AS col, c.business_date_text AS value, NULL AS slip_no,
           'not a date (YYYY-MM-DD or YYYY/MM/DD)' AS problem
    FROM c WHERE ops.to_date(c.business_date_text) IS NULL
    UNION ALL
    SELECT c.source_file, c.source_row, 'business_date_text', c.business_date_text, NULL,
           'does not match the business day ' || strftime(c.business_date, '%Y-%m-%d') || ' in the folder name'
    FROM c WHERE ops.to_date(c.business_date_text) <> c.business_date
    UNION ALL
    SELECT c.source_file, c.source_row, 'close_seq', c.close_seq, NULL,
           'does not match the close sequence ' || t.close_seq || ' in the folder name'
    FROM c JOIN truth t USING (bundle_id) WHERE TRY_CAST(trim(c.close_seq) AS INTEGER) IS DISTINCT FROM t.close_seq
    UNION ALL
    SELECT c.source_file, c.source_row, 'store_code', c.store_code, NULL,
           'does not match the store code ' || t.store_code || ' in the folder name'
    FROM c JOIN truth t USING (bundle_id) WHERE trim(c.store_code) IS DISTINCT FROM t.store_code
    UNION ALL
    SELECT source_file, source_row, col, value, NULL, 'not an integer amount'
    FROM c UNPIVOT (value FOR col IN (float_amount, expected_cash, counted_cash))
    WHERE ops.to_int(value) IS NULL
    UNION ALL
    SELECT t.folder || '/close.csv', NULL, NULL, NULL, NULL,
           'close.csv must have exactly one data row, found ' || count(c.bundle_id)
    FROM truth t LEFT JOIN c USING (bundle_id) GROUP BY t.bundle_id, t.folder HAVING count(c.bundle_id) <> 1
    UNION ALL
    SELECT source_file, source_row, col, value, slip_no, 'not an integer'
    FROM (SELECT source_file, source_row, slip_no, tax_rate, unit_price, quantity, discount, amount FROM s)
         UNPIVOT INCLUDE NULLS (value FOR col IN (tax_rate, unit_price, quantity, discount, amount))
    WHERE ops.to_int(value) IS NULL AND NOT (col = 'discount' AND trim(coalesce(value, '')) = '')
    UNION ALL
    SELECT s.source_file, s.source_row, 'tax_rate', s.tax_rate, s.slip_no,
           'unknown tax rate; configured rates: ' || (SELECT string_agg(rate::VARCHAR, ', ' ORDER BY rate) FROM cfg_tax_rates)
    FROM s WHERE ops.to_int(s.tax_rate) IS NOT NULL
      AND ops.to_int(s.tax_rate) NOT IN (SELECT rate FROM cfg_tax_rates)
    UNION ALL
    SELECT s.source_file, s.source_row, 'slip_no', s.slip_no, s.slip_no, 'empty slip number'
    FROM s WHERE trim(coalesce(s.slip_no, '')) = ''
    UNION ALL
    SELECT s.source_file, s.source_row, 'slip_kind', s.slip_kind, s.slip_no, 'unknown 伝票区分; allowed: 通常, 取消, 訂正'
    FROM s WHERE s.slip_kind NOT IN ('通常', '取消', '訂正')
    UNION ALL
    SELECT s.source_file, s.source_row, 'original_slip_no', s.original_slip_no, s.slip_no,
           'a ' || s.slip_kind || ' slip must name the slip it cancels or corrects'
    FROM s WHERE s.slip_kind IN ('取消', '訂正') AND trim(coalesce(s.original_slip_no, '')) = ''
    UNION ALL
    SELECT s.source_file, s.source_row, 'issued_at', s.issued_at, s.slip_no, 'not a timestamp (YYYY-MM-DD HH:MM:SS)'
    FROM s WHERE ops.to_date(s.issued_at) IS NULL
    UNION ALL
    -- A business day may run past midnight, never into a further day or back before it.
    SELECT s.source_file, s.source_row, 'issued_at', s.issued_at, s.slip_no,
           'outside the business day ' || strftime(s.business_date, '%Y-%m-%d') || ' (or the night after it)'
    FROM s WHERE ops.to_date(s.issued_at) NOT BETWEEN s.business_date AND s.business_date + 1
    UNION ALL
    -- Beyond any register's amount (and far from BIGINT overflow when a day's amounts are summed).
    SELECT source_file, source_row, col, value, slip_no, 'amount out of range (more than 999,999,999,999 yen)'
    FROM (SELECT source_file, source_row, slip_no, unit_price, discount, amount FROM s)
         UNPIVOT (value FOR col IN (unit_price, discount, amount))
    WHERE abs(ops.to_int(value)) > 999999999999
    UNION ALL
    SELECT source_file, source_row, 'amount', amount, slip_no, 'amount out of range (more than 999,999,999,999 yen)'
    FROM p WHERE abs(ops.to_int(amount)) > 999999999999
    UNION ALL
    SELECT source_file, source_row, 'amount', amount, NULL, 'amount out of range (more than 999,999,999,999 yen)'
    FROM m WHERE abs(ops.to_int(amount)) > 999999999999
    UNION ALL
    SELECT source_file, source_row, col, value, NULL, 'amount out of range (more than 999,999,999,999 yen)'
    FROM c UNPIVOT (value FOR col IN (float_amount, expected_cash, counted_cash))
    WHERE abs(ops.to_int(value)) > 999999999999
    UNION ALL
    SELECT any_value(s.source_file), min(s.source_row), 'line_no', s.line_no, s.slip_no,
           'duplicate line ' || s.line_no || ' on slip ' || s.slip_no || ' (' || count(*) || ' times)'
    FROM s GROUP BY s.bundle_id, s.slip_no, s.line_no HAVING count(*) > 1
    UNION ALL
    SELECT any_value(s.source_file), min(s.source_row), 'slip_kind', string_agg(DISTINCT s.slip_kind, '/' ORDER BY s.slip_kind), s.slip_no,
           'slip number used by more than one 伝票区分'
    FROM s GROUP BY s.bundle_id, s.slip_no HAVING count(DISTINCT s.slip_kind) > 1
    UNION ALL
    SELECT p.source_file, p.source_row, 'amount', p.amount, p.slip_no, 'not an integer amount'
    FROM p WHERE ops.to_int(p.amount) IS NULL
    UNION ALL
    SELECT p.source_file, p.source_row, 'tender', p.tender, p.slip_no,
           'unknown 支払区分; configured: ' || (SELECT string_agg(tender, ', ' ORDER BY tender) FROM cfg_usen_tenders)
    FROM p WHERE p.tender NOT IN (SELECT tender FROM cfg_usen_tenders)
    UNION ALL
    SELECT p.source_file, p.source_row, 'slip_no', p.slip_no, p.slip_no, 'payment for a slip that has no lines in slips.csv'
    FROM p WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.bundle_id = p.bundle_id AND s.slip_no = p.slip_no)
    UNION ALL
    SELECT pay.source_file, pay.first_row, 'amount', pay.total::VARCHAR, pay.slip_no,
           'payments sum to ' || pay.total || ' but the slip''s lines sum to ' || coalesce(lines.total, 0)
    FROM (SELECT bundle_id, slip_no, any_value(source_file) AS source_file, min(source_row) AS first_row,
                 sum(ops.to_int(amount)) AS total, bool_and(ops.to_int(amount) IS NOT NULL) AS readable
          FROM p GROUP BY ALL) pay
    LEFT JOIN (SELECT bundle_id, slip_no, sum(ops.to_int(amount)) AS total,
                      bool_and(ops.to_int(amount) IS NOT NULL) AS readable FROM s GROUP BY ALL) lines
           USING (bundle_id, slip_no)
    -- an amount that is not an integer is reported on its own row; a sum over the rest would mislead
    WHERE pay.total IS DISTINCT FROM lines.total AND pay.readable AND coalesce(lines.readable, true)
    UNION ALL
    SELECT any_value(s.source_file), min(s.source_row), 'slip_no', s.slip_no, s.slip_no, 'slip has no payments in payments.csv'
    FROM s WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.bundle_id = s.bundle_id AND p.slip_no = s.slip_no)
    GROUP BY s.bundle_id, s.slip_no HAVING sum(ops.to_int(s.amount)) <> 0
    UNION ALL
    SELECT m.source_file, m.source_row, 'amount', m.amount, NULL, 'not a positive integer amount'
    FROM m WHERE ops.to_int(m.amount) IS NULL OR ops.to_int(m.amount) < 0
    UNION ALL
    SELECT m.source_file, m.source_row, 'direction', m.direction, NULL, 'unknown 区分; allowed: 入金, 出金'
    FROM m WHERE m.direction NOT IN ('入金', '出金')
    UNION ALL
    SELECT any_value(m.source_file), min(m.source_row), 'movement_no', m.movement_no, NULL, 'duplicate movement number'
    FROM m GROUP BY m.bundle_id, m.movement_no HAVING count(*) > 1
)
SELECT * FROM problems ORDER BY source_file, source_row NULLS FIRST, col
LIMIT 50
