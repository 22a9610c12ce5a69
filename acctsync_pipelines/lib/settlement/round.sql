-- Settlement for the day, step 2, repeated: match the pending deposits to the receivables still open.
-- Each round reads reports.open_receivables afresh, so what an earlier round (or day) settled is gone.
-- When two deposits of the day claim the same receivable, the first in the statement keeps it and
-- the other tries again in the next round.

-- Open receivables a rule settles, due by the day (within the rule's window), grouped into cycles:
-- one batch per rule, scope (the store, for per-store rules) and payment date.
CREATE OR REPLACE TEMP TABLE day_items AS
SELECT o.source, o.sub_account, o.store_code, o.department, o.sale_date, o.rule, o.expected_date, o.remaining,
       CASE WHEN r.per_store THEN o.store_code ELSE '' END AS scope
FROM reports.open_receivables o
JOIN ops.settlement_rules r USING (rule)
WHERE o.remaining <> 0
  AND sign(o.remaining) = sign(o.charged)   -- never further into a receivable already settled beyond it
  AND o.sale_date BETWEEN $day - (SELECT lookback_days FROM ops.settlement_config) AND $day
  AND o.expected_date <= $day + r.window_days;

CREATE OR REPLACE TEMP TABLE day_batches AS
SELECT rule, scope, expected_date, sum(remaining) AS amount,
       sum(sum(remaining)) OVER (PARTITION BY rule, scope ORDER BY expected_date) AS cumulative,
       row_number() OVER (PARTITION BY rule, scope ORDER BY expected_date) AS i
FROM day_items
GROUP BY rule, scope, expected_date;

-- Every run of consecutive cycles a deposit could pay: exactly, or short by the payer's fee
-- (fee_rate × gross, give or take tolerance_yen + tolerance_rate × gross).
CREATE OR REPLACE TEMP TABLE day_candidates AS
WITH ranges AS (
    SELECT s.rule, s.scope, s.expected_date AS first_cycle_date, t.expected_date AS last_cycle_date,
           t.cumulative - s.cumulative + s.amount AS gross
    FROM day_batches s
    JOIN day_batches t ON t.rule = s.rule AND t.scope = s.scope AND t.i >= s.i
    WHERE s.amount <> 0 AND t.amount <> 0
)
SELECT d.line_id, d.seq, d.amount AS deposit, g.rule, r.priority, g.scope, g.first_cycle_date, g.last_cycle_date,
       g.gross, g.gross - d.amount AS fee,
       CASE WHEN g.gross = d.amount THEN 'exact' ELSE 'fee' END AS match_kind,
       abs($day - g.last_cycle_date) AS distance, r.window_days
FROM pending_deposits d
JOIN day_payer_rules pr USING (line_id)
JOIN ops.settlement_rules r ON r.rule = pr.rule
JOIN ranges g ON g.rule = pr.rule
WHERE g.gross = d.amount
   OR (g.gross > d.amount
       AND abs(g.gross - d.amount - round(g.gross * r.fee_rate)) <= r.tolerance_yen + floor(g.gross * r.tolerance_rate));

-- The fit whose last cycle is paid nearest the deposit's day. A tie, or a fit outside the rule's
-- window (a late or early payment), goes to review: it is proposed, never posted unseen.
CREATE OR REPLACE TEMP TABLE round_choices AS
WITH ranked AS (
    SELECT *,
           min(distance) OVER (PARTITION BY line_id) AS best,
           count(*) OVER (PARTITION BY line_id, distance) AS tied,
           count(*) OVER (PARTITION BY line_id) AS fits,
           row_number() OVER (PARTITION BY line_id
                              ORDER BY distance, priority, last_cycle_date, first_cycle_date, scope) AS pick
    FROM day_candidates
),
alternatives AS (
    SELECT line_id,
           string_agg(rule || ' ' || first_cycle_date || '..' || last_cycle_date
                      || coalesce(' store ' || nullif(scope, ''), '') || ' gross ' || gross, '; ' ORDER BY pick) AS listed
    FROM ranked WHERE distance = best GROUP BY line_id
)
SELECT r.line_id, r.seq, r.rule, r.scope, r.first_cycle_date, r.last_cycle_date, r.gross, r.fee, r.match_kind,
       r.fits AS candidates, 'range' AS allocation,
       CASE WHEN r.tied > 1 OR r.distance > r.window_days THEN 'review' ELSE 'matched' END AS status,
       CASE WHEN r.tied > 1
                THEN 'ambiguous: ' || r.tied || ' cycle runs fit this deposit equally well (' || a.listed
                     || '); proposed: the first'
            WHEN r.distance > r.window_days
                THEN 'paid ' || r.distance || ' days from the payment date ' || r.last_cycle_date
                     || ' of ' || r.rule || ' (on time within ' || r.window_days || ' days)'
       END AS reason
FROM ranked r JOIN alternatives a USING (line_id)
WHERE r.pick = 1;

-- A deposit fitting no run of cycles, less than what its payer has due: a part payment of the oldest
-- receivables first. Automatic where the rule allows part payments and only one payer's dues fit;
-- otherwise proposed for review.
INSERT INTO round_choices
WITH due AS (
    SELECT rule, scope, sum(amount) AS due, max(expected_date) AS due_by FROM day_batches GROUP BY rule, scope
),
options AS (
    SELECT d.line_id, d.seq, d.amount AS deposit, u.rule, r.priority, r.partial_payments, u.scope, u.due, u.due_by
    FROM pending_deposits d
    JOIN day_payer_rules pr USING (line_id)
    JOIN ops.settlement_rules r ON r.rule = pr.rule
    JOIN due u ON u.rule = pr.rule
    WHERE d.line_id NOT IN (SELECT line_id FROM day_candidates) AND u.due > d.amount
),
ranked AS (
    SELECT *,
           count(*) OVER (PARTITION BY line_id) AS option_count,
           row_number() OVER (PARTITION BY line_id ORDER BY priority, scope) AS pick,
           string_agg(rule || coalesce(' store ' || nullif(scope, ''), '') || ' due ' || due, '; ')
               OVER (PARTITION BY line_id) AS listed
    FROM options
)
SELECT line_id, seq, rule, scope, NULL, NULL, deposit, 0, 'partial', option_count, 'oldest_first',
       CASE WHEN option_count = 1 AND partial_payments THEN 'partial' ELSE 'review' END,
       CASE WHEN option_count > 1
                THEN 'fits no cycle, and could be part of more than one due amount (' || listed
                     || '); proposed: the oldest of ' || rule || coalesce(' store ' || nullif(scope, ''), '')
            WHEN NOT partial_payments
                THEN 'fits no cycle of ' || rule || ' (' || due || ' due by ' || due_by
                     || '); proposed as a part payment of the oldest receivables (partial_payments is off)'
       END
FROM ranked WHERE pick = 1;

-- What each choice would clear: a run of cycles whole, or the oldest receivables up to the deposit
-- (refund days, being negative, first).
CREATE OR REPLACE TEMP TABLE round_allocations AS
WITH whole AS (
    SELECT c.line_id, i.source, i.sub_account, i.store_code, i.department, i.sale_date, i.rule, i.expected_date,
           i.remaining AS amount
    FROM round_choices c
    JOIN day_items i ON i.rule = c.rule AND i.scope = c.scope
                    AND i.expected_date BETWEEN c.first_cycle_date AND c.last_cycle_date
    WHERE c.allocation = 'range'
),
oldest AS (
    SELECT c.line_id, c.gross AS budget, i.*,
           sum(i.remaining) OVER (PARTITION BY c.line_id
                                  ORDER BY i.remaining > 0, i.expected_date, i.sale_date, i.sub_account, i.store_code,
                                           i.department
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative
    FROM round_choices c
    JOIN day_items i ON i.rule = c.rule AND i.scope = c.scope
    WHERE c.allocation = 'oldest_first'
)
SELECT * FROM whole
UNION ALL
SELECT line_id, source, sub_account, store_code, department, sale_date, rule, expected_date,
       CASE WHEN remaining < 0 THEN remaining
            ELSE greatest(0, least(remaining, budget - (cumulative - remaining))) END
FROM oldest;

-- Accepted: no deposit earlier in the statement claims any of the same receivables this round.
CREATE OR REPLACE TEMP TABLE round_accepted AS
SELECT c.*
FROM round_choices c
WHERE NOT EXISTS (
    SELECT 1
    FROM round_allocations mine
    JOIN round_allocations other
      ON other.source = mine.source AND other.sub_account = mine.sub_account AND other.store_code = mine.store_code
     AND other.department = mine.department AND other.sale_date = mine.sale_date AND other.line_id <> mine.line_id
    JOIN round_choices o ON o.line_id = other.line_id
    WHERE mine.line_id = c.line_id AND mine.amount <> 0 AND other.amount <> 0 AND o.seq < c.seq
);

INSERT INTO ledger.settlement_allocations
SELECT a.line_id, d.entry_id, $day, a.source, a.sub_account, a.store_code, a.department, a.sale_date, a.rule,
       a.expected_date, a.amount
FROM round_allocations a
JOIN round_accepted USING (line_id)
JOIN pending_deposits d USING (line_id)
WHERE a.amount <> 0;

INSERT INTO ledger.deposit_matches
    (line_id, value_date, amount, description, status, match_kind, rule, entry_id, gross, fee, first_cycle_date,
     last_cycle_date, candidates, reason, source_file, source_row, matched_at)
SELECT d.line_id, d.value_date, d.amount, d.description, c.status, c.match_kind, c.rule, d.entry_id, c.gross, c.fee,
       coalesce(c.first_cycle_date, s.first_cycle_date), coalesce(c.last_cycle_date, s.last_cycle_date),
       c.candidates, c.reason, d.source_file, d.source_row, now()
FROM round_accepted c
JOIN pending_deposits d USING (line_id)
LEFT JOIN (SELECT line_id, min(expected_date) AS first_cycle_date, max(expected_date) AS last_cycle_date
           FROM round_allocations WHERE amount <> 0 GROUP BY line_id) s USING (line_id);

DELETE FROM pending_deposits WHERE line_id IN (SELECT line_id FROM round_accepted);
